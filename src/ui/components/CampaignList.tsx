import { printable } from '../../core/printable.js';
import { Box, Text } from 'ink';
import type { CampaignSummary } from '../../core/types.js';
import type { Snapshot } from '../controller.js';
import { standingText } from '../describe.js';
import { useCampaignKeys } from '../hooks/use-campaign-keys.js';
import { t } from '../i18n.js';
import { statusTone } from '../theme.js';
import { useUi } from '../ui-context.js';
import { Line, Row, SplitLine, Tinted } from './Line.js';
import { doneFraction, ProgressBar } from './ProgressBar.js';

const ROWS_PER_CAMPAIGN = 2;

/** Which slice of `count` items to show so that `index` is visible in `capacity` slots. */
export function visibleWindow(count: number, index: number, capacity: number): { start: number; end: number } {
  const cap = Math.max(1, capacity);
  if (count <= cap) return { start: 0, end: count };
  const start = Math.min(Math.max(0, index - Math.floor(cap / 2)), count - cap);
  return { start, end: start + cap };
}

export function CampaignList({
  snap,
  selectedId,
  height,
  width,
  now,
  isActive,
}: {
  snap: Snapshot;
  selectedId: number | null;
  height: number;
  width: number;
  now: number;
  isActive: boolean;
}) {
  const { m } = useUi();
  useCampaignKeys({ isActive });
  if (!snap.loaded) return <Line>{m.loading}</Line>;
  if (snap.campaigns.length === 0)
    return (
      <Box flexDirection="column">
        <Line> </Line>
        <Line bold> {m.noCampaigns}</Line>
        <Line> {m.noCampaignsHint}</Line>
      </Box>
    );
  const index = Math.max(0, snap.campaigns.findIndex((s) => s.campaign.id === selectedId));
  // Reserve a line for "more above/below" markers when everything does not fit.
  const fitsAll = snap.campaigns.length * ROWS_PER_CAMPAIGN <= height;
  const capacity = fitsAll ? snap.campaigns.length : Math.max(1, Math.floor((height - 1) / ROWS_PER_CAMPAIGN));
  const { start, end } = visibleWindow(snap.campaigns.length, index, capacity);
  const shown = snap.campaigns.slice(start, end);
  return (
    <Box flexDirection="column">
      {shown.map((s) => (
        <CampaignRow key={s.campaign.id} s={s} snap={snap} selected={s.campaign.id === selectedId} width={width} now={now} />
      ))}
      {!fitsAll && (
        <Line tone="muted">
          {[start > 0 ? t(m.moreAbove, { n: start }) : '', end < snap.campaigns.length ? t(m.moreBelow, { n: snap.campaigns.length - end }) : '']
            .filter(Boolean)
            .join('   ')}
        </Line>
      )}
    </Box>
  );
}

function CampaignRow({ s, snap, selected, width, now }: { s: CampaignSummary; snap: Snapshot; selected: boolean; width: number; now: number }) {
  const { m, fmt, theme } = useUi();
  const c = s.campaign;
  const n = s.counts;
  const barWidth = Math.max(8, Math.min(30, Math.floor(width / 5)));
  const statusWord = m.campaignStatus[c.status];
  const details = [
    t(m.sentOfTotal, { sent: fmt.num(n.sent), total: fmt.num(n.total) }),
    t(m.failedN, { n: fmt.num(n.failed) }),
    t(m.inDoubtN, { n: fmt.num(n.in_doubt) }),
  ];
  details.push(...standingText(s, snap, now, m, fmt));
  return (
    <Box flexDirection="column">
      <SplitLine
        left={
          <Text wrap="truncate-end" bold={selected} color={selected ? theme.color('accent') : undefined}>
            {selected ? '› ' : '  '}#{c.id} {printable(c.name)}
          </Text>
        }
        right={
          <Text>
            <Tinted tone={statusTone(c.status)}>{statusWord.padEnd(10)}</Tinted> <ProgressBar counts={n} width={barWidth} />{' '}
            {fmt.percent(doneFraction(n)).padStart(5)}
          </Text>
        }
      />
      <Row>
        <Text wrap="truncate-end" color={theme.color(n.in_doubt > 0 ? 'warn' : 'muted')}>
          {'    '}
          {details.join(' · ')}
        </Text>
      </Row>
    </Box>
  );
}

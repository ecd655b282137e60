import { Box, Text } from 'ink';
import { type ReactNode, useMemo } from 'react';
import type { CampaignSummary } from '../../core/types.js';
import type { Snapshot } from '../controller.js';
import { fitRows, isSending, runnerTexts, runnersOf, waitOf } from '../describe.js';
import { batchInfo, estimateFinish } from '../eta.js';
import { useCampaignKeys } from '../hooks/use-campaign-keys.js';
import { t } from '../i18n.js';
import { useUi } from '../ui-context.js';
import { Line, Row } from './Line.js';
import { LogLines } from './LogLines.js';
import { BatchLine, pictureLines, SparkLine, sparkLabel } from './Pictures.js';
import { doneFraction, ProgressBar } from './ProgressBar.js';

/** The log keeps at least this many lines before the pictures get any. */
export const MIN_LOG_LINES_WITH_PICTURES = 5;

/** Green when this window sends, a warning when a runner is dead, accent for another live one. */
function senderTone(runners: ReturnType<typeof runnersOf>) {
  if (runners.some((r) => r.kind === 'gone' || r.kind === 'expired')) return 'warn' as const;
  if (runners.some((r) => r.kind === 'this')) return 'good' as const;
  return runners.length > 0 ? ('accent' as const) : ('plain' as const);
}

export function CampaignDetail({
  s,
  snap,
  height,
  width,
  now,
  isActive,
}: {
  s: CampaignSummary;
  snap: Snapshot;
  height: number;
  width: number;
  now: number;
  isActive: boolean;
}) {
  const { m, fmt, theme } = useUi();
  useCampaignKeys({ isActive, failedList: true });
  const c = s.campaign;
  const n = s.counts;
  const tz = c.timeZone;
  const stats = snap.stats[c.id];
  const b = batchInfo(c, n);
  // The simulation only needs redoing when its inputs change, or every few seconds for "now".
  // The estimate simulates every remaining message: redo it when the schedule changes, and
  // otherwise at most every 2 s (not on each of the up to 10 renders a second while sending).
  const etaKey = [c.id, c.status, c.nextBatchAt, c.batchClaimed === 0, c.batchSize, c.intervalSeconds, Math.floor(now / 2000)].join();
  const finish = useMemo(
    () => estimateFinish({ campaign: c, counts: n, now, msPerMessage: stats?.msPerMessage ?? null }),
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [etaKey],
  );
  const runners = runnersOf(s, snap, now);
  const live = runners.filter(isSending);
  const wait = waitOf(s, now);
  // The zone is named where a time the operator must act on is given.
  const zoned = (ms: number) => (tz ? t(m.timeInZone, { time: fmt.time(ms, tz, now), zone: tz }) : fmt.time(ms, tz, now));
  const label = (text: string) => <Text color={theme.color('muted')}>{text}: </Text>;
  const pctText = fmt.percent(doneFraction(n));
  const barWidth = Math.max(10, width - 4 - pctText.length - `${fmt.num(n.sent)}/${fmt.num(n.total)}`.length - 6);

  let nextLine: string;
  if (c.status !== 'sending') nextLine = m.unknown;
  else if (wait?.reason === 'interval') nextLine = t(m.inD, { d: fmt.countdown(wait.until - now), time: zoned(wait.until) });
  else if (wait) nextLine = t(m.waitUntil[wait.reason], { time: zoned(wait.until) });
  else if (b.open) nextLine = m.unknown;
  else nextLine = live.length > 0 ? m.dueNow : m.dueNowNobody;

  const batchLine =
    b.total === 0
      ? m.unknown
      : [
          t(m.batchNofM, { n: fmt.num(Math.min(b.current, Math.max(b.total, 1))), m: fmt.num(b.total) }),
          b.open ? t(m.batchClaimed, { claimed: fmt.num(b.claimed), size: fmt.num(c.batchSize) }) : t(m.batchesDone, { n: fmt.num(c.batchesSent) }),
        ].join(' · ');
  const rate = stats?.perMinute;
  const rateText = rate === null || rate === undefined || c.status === 'draft' ? m.unknown : t(m.perMinute, { n: fmt.num(rate) });
  const etaText =
    finish === null ? m.unknown : finish <= now ? m.etaNow : t(m.etaAt, { time: fmt.time(finish, tz, now), d: fmt.duration(finish - now) });

  // One row per runner (several may share a campaign), each said in full.
  const senderLabel = `${m.sender}: `;
  const senderRows =
    runners.length > 0
      ? fitRows(runnerTexts(runners, m, fmt, tz, now), senderLabel.length, width)
      : [c.status === 'completed' || c.status === 'cancelled' ? m.unknown : m.nobody];

  const rule = (title: string) => {
    const head = `── ${title} `;
    return head + '─'.repeat(Math.max(0, width - head.length - 1));
  };
  // Lines in screen order with a priority (lower = kept longer): a short terminal drops the least
  // useful ones rather than squeezing lines on top of each other.
  const lines: { prio: number; key: string; el: ReactNode }[] = [
    {
      prio: 0,
      key: 'bar',
      el: (
        <Text wrap="truncate-end">
          <ProgressBar counts={n} width={barWidth} /> {pctText.padStart(5)} {fmt.num(n.sent)}/{fmt.num(n.total)}
        </Text>
      ),
    },
    {
      prio: 1,
      key: 'counts1',
      el: (
        <Line>
          {label(m.recipientStatus.sent)}
          {fmt.num(n.sent)} · {label(m.recipientStatus.pending)}
          {fmt.num(n.pending)} · {label(m.recipientStatus.sending)}
          {fmt.num(n.sending)}
        </Line>
      ),
    },
    {
      prio: n.failed + n.in_doubt > 0 ? 2 : 6,
      key: 'counts2',
      el: (
        <Text wrap="truncate-end">
          {label(m.recipientStatus.failed)}
          <Text color={theme.color(n.failed > 0 ? 'bad' : 'plain')}>{fmt.num(n.failed)}</Text> · {label(m.recipientStatus.in_doubt)}
          <Text color={theme.color(n.in_doubt > 0 ? 'warn' : 'plain')} bold={n.in_doubt > 0}>
            {fmt.num(n.in_doubt)}
          </Text>{' '}
          · {label(m.recipientStatus.suppressed)}
          {fmt.num(n.suppressed)}
        </Text>
      ),
    },
    { prio: 5, key: 'batch', el: <Line>{batchLine}</Line> },
    {
      prio: 4,
      key: 'rate',
      el: (
        <Line>
          {label(m.rate)}
          {rateText} · {label(m.eta)}
          {etaText}
        </Line>
      ),
    },
    {
      prio: 2,
      key: 'next',
      el: (
        <Line>
          {label(m.nextBatch)}
          {nextLine}
        </Line>
      ),
    },
    ...senderRows.map((text, i) => ({
      prio: 3,
      key: `sender-${i}`,
      el: (
        <Text wrap="truncate-end">
          {i === 0 ? label(m.sender) : ' '.repeat(senderLabel.length)}
          <Text color={theme.color(senderTone(runners))}>{text}</Text>
        </Text>
      ),
    })),
    {
      prio: c.lastError ? 2 : 7,
      key: 'error',
      el: (
        <Text wrap="truncate-end">
          {label(m.lastError)}
          <Text color={theme.color(c.lastError ? 'bad' : 'plain')}>{c.lastError ?? m.none}</Text>
        </Text>
      ),
    },
    { prio: 8, key: 'rule', el: <Line tone="muted">{rule(tz ? `${m.log} · ${t(m.zone, { zone: tz })}` : m.log)}</Line> },
  ];
  // Keep at least one line of log when there is room for the essentials.
  const room = Math.max(1, height >= 6 ? height - 1 : height);
  const keep = new Set(
    [...lines]
      .sort((a, b) => a.prio - b.prio)
      .slice(0, room)
      .map((l) => l.key),
  );
  let shown = lines.filter((l) => keep.has(l.key));

  // The pictures come last in priority: only with every line above and a log of a few lines left.
  const pictures = snap.pictures?.campaignId === c.id ? snap.pictures : null;
  const which = pictures
    ? pictureLines(pictures, width, { spark: sparkLabel(pictures, m, (x) => fmt.num(x)), batches: `${m.pics.batches}:` })
    : [];
  if (pictures && which.length > 0 && shown.length === lines.length && height - shown.length - which.length >= MIN_LOG_LINES_WITH_PICTURES) {
    const picLines = which.map((w) => ({
      prio: 9,
      key: `pic-${w}`,
      el: w === 'spark' ? <SparkLine p={pictures} width={width} /> : <BatchLine p={pictures} width={width} />,
    }));
    // Above the log's rule, below what the campaign is doing.
    shown = [...shown.slice(0, -1), ...picLines, shown[shown.length - 1]!];
  }
  const tailHeight = Math.max(0, height - shown.length);
  const tail = snap.watchedId === c.id && tailHeight > 0 ? snap.log.slice(Math.max(0, snap.log.length - tailHeight)) : [];

  return (
    <Box flexDirection="column">
      {shown.map((l) => (
        <Row key={l.key}>{l.el}</Row>
      ))}
      {tailHeight > 0 &&
        (tail.length === 0 ? (
          <Row>
            <Line tone="muted">{snap.watchedId === c.id ? m.logEmpty : ' '}</Line>
          </Row>
        ) : (
          <LogLines lines={tail} tz={tz} now={now} />
        ))}
    </Box>
  );
}

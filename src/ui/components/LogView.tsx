import { Box } from 'ink';
import type { Campaign } from '../../core/types.js';
import { useAppActions } from '../app-context.js';
import type { Snapshot } from '../controller.js';
import { t } from '../i18n.js';
import { isDown, isUp, useKeys } from '../keys.js';
import { useUi } from '../ui-context.js';
import { Line } from './Line.js';
import { LogLines } from './LogLines.js';

/** Where the log screen's page starts: `top`, or the newest page when following (top = null). */
export function logPage(total: number, page: number, top: number | null): { from: number; to: number; following: boolean } {
  const maxTop = Math.max(0, total - page);
  const from = top === null ? maxTop : Math.min(top, maxTop);
  return { from, to: Math.min(total, from + page), following: from >= maxTop };
}

/** The full log of one campaign, scrollable; `height` lines including its status line. */
export function LogView({
  campaign,
  snap,
  top,
  height,
  now,
  isActive,
}: {
  campaign: Campaign;
  snap: Snapshot;
  top: number | null;
  height: number;
  now: number;
  isActive: boolean;
}) {
  const { m, fmt } = useUi();
  const { controller, dispatch } = useAppActions();
  const page = Math.max(1, height - 1);
  useKeys(
    (input, key) => {
      const current = controller.getSnapshot();
      const total = current.watchedId === campaign.id ? current.log.length : 0;
      const scroll = (delta: number) => dispatch({ type: 'scroll', delta, total, page });
      if (isUp(input, key)) scroll(-1);
      else if (isDown(input, key)) scroll(1);
      else if (key.pageUp) scroll(-page);
      else if (key.pageDown || input === ' ') scroll(page);
      else if (key.home || input === 'g') dispatch({ type: 'scrollTo', where: 'top' });
      else if (key.end || input === 'G') dispatch({ type: 'scrollTo', where: 'bottom' });
      else return false;
      return true;
    },
    { isActive },
  );
  const lines = snap.watchedId === campaign.id ? snap.log : [];
  const { from, to, following } = logPage(lines.length, page, top);
  const status =
    lines.length === 0
      ? m.logEmpty
      : [
          t(m.logRange, { from: fmt.num(from + 1), to: fmt.num(to), total: fmt.num(lines.length) }),
          following ? m.logFollowing : '',
          from === 0 && snap.logTruncated ? t(m.logOlder, { id: campaign.id }) : '',
        ]
          .filter(Boolean)
          .join(' · ');
  return (
    <Box flexDirection="column">
      <LogLines lines={lines.slice(from, to)} tz={campaign.timeZone} now={now} />
      {Array.from({ length: Math.max(0, page - (to - from)) }, (_, i) => (
        <Line key={`pad${i}`}> </Line>
      ))}
      <Line tone="muted">{status}</Line>
    </Box>
  );
}

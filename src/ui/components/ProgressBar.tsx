import { Text } from 'ink';
import type { StatusCounts } from '../../core/types.js';
import { useUi } from '../ui-context.js';

/** Splits `width` cells among the parts in proportion to their counts (cumulative rounding). */
export function cells(parts: number[], total: number, width: number): number[] {
  if (total <= 0) return parts.map(() => 0);
  let cum = 0;
  let prev = 0;
  return parts.map((p) => {
    cum += p;
    const edge = Math.min(width, Math.round((cum / total) * width));
    const n = Math.max(0, edge - prev);
    prev = Math.max(prev, edge);
    return n;
  });
}

/** sent (green) · failed (red) · in doubt (yellow) · suppressed (grey) · still to go. */
export function ProgressBar({ counts, width }: { counts: StatusCounts; width: number }) {
  const { theme } = useUi();
  const w = Math.max(1, width);
  const [sent, failed, doubt, suppressed] = cells([counts.sent, counts.failed, counts.in_doubt, counts.suppressed], counts.total, w) as [
    number,
    number,
    number,
    number,
  ];
  const rest = Math.max(0, w - sent - failed - doubt - suppressed);
  const plain = theme.noColor;
  return (
    <Text>
      <Text color={theme.color('good')}>{'█'.repeat(sent)}</Text>
      <Text color={theme.color('bad')}>{(plain ? 'x' : '█').repeat(failed)}</Text>
      <Text color={theme.color('warn')}>{(plain ? '?' : '█').repeat(doubt)}</Text>
      <Text color={theme.color('muted')}>{(plain ? '-' : '█').repeat(suppressed)}</Text>
      <Text color={theme.color('muted')}>{'░'.repeat(rest)}</Text>
    </Text>
  );
}

/** Share of recipients that are done with (sent, failed, in doubt, suppressed). */
export function doneFraction(c: StatusCounts): number {
  if (c.total === 0) return 0;
  return (c.sent + c.failed + c.in_doubt + c.suppressed) / c.total;
}

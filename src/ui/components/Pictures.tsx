/**
 * Pictures in a campaign's detail: messages sent per minute over the last hour (a sparkline) and
 * what became of each recent batch (a small stacked bar per batch). Each is one line, drawn only
 * when it says something and fits; the detail drops them before anything an operator reads.
 *
 * Glyphs: ▁▂▃▄▅▆▇█ and █ bars, or ASCII when the theme says so (see `asciiFromEnv`). Without
 * colour (NO_COLOR) failed and in-doubt parts are drawn as `x` and `?`, as in the progress bar.
 */
import { Text } from 'ink';
import type { ReactNode } from 'react';
import type { Pictures } from '../controller.js';
import { t } from '../i18n.js';
import type { BatchStat } from '../store-extras.js';
import type { Theme } from '../theme.js';
import { useUi } from '../ui-context.js';

const BLOCKS = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
const ASCII_LEVELS = ['_', '.', '-', '~', '=', '+', '*', '#'];
/** A minute with no send: visibly nothing, yet the hour's extent stays visible. */
const ZERO = { unicode: '·', ascii: ' ' };

/** Fewer minutes than this make no picture worth a line. */
export const MIN_SPARK_MINUTES = 15;
const BAR_WIDTH = 5;

/** One character per value, scaled to the largest (any value above 0 gets at least the lowest mark). */
export function sparkline(values: number[], ascii: boolean): string {
  const peak = Math.max(0, ...values);
  const levels = ascii ? ASCII_LEVELS : BLOCKS;
  return values
    .map((v) => {
      if (!(v > 0) || peak === 0) return ascii ? ZERO.ascii : ZERO.unicode;
      const level = Math.min(levels.length, Math.max(1, Math.ceil((v / peak) * levels.length)));
      return levels[level - 1]!;
    })
    .join('');
}

interface Segment {
  text: string;
  tone: 'good' | 'bad' | 'warn' | 'muted';
}

/** A batch as a bar of `width` cells split sent / failed / in doubt, in proportion (at least a cell for any failure). */
export function batchBar(b: BatchStat, width: number, theme: Theme): Segment[] {
  const total = b.sent + b.failed + b.inDoubt;
  const glyph = (kind: 'sent' | 'failed' | 'doubt' | 'empty') => {
    if (theme.ascii) return { sent: '#', failed: 'x', doubt: '?', empty: '.' }[kind];
    if (kind === 'empty') return '░';
    if (kind === 'sent' || !theme.noColor) return '█';
    return kind === 'failed' ? 'x' : '?';
  };
  if (total === 0) return [{ text: glyph('empty').repeat(width), tone: 'muted' }];
  const share = (n: number) => (n === 0 ? 0 : Math.max(1, Math.round((n / total) * width)));
  let failed = share(b.failed);
  let doubt = share(b.inDoubt);
  // Failures are what the picture is for: they keep their cell, sent gives way.
  while (failed + doubt > width) failed > doubt ? failed-- : doubt--;
  const sent = Math.max(0, width - failed - doubt);
  return [
    { text: glyph('sent').repeat(sent), tone: 'good' as const },
    { text: glyph('failed').repeat(failed), tone: 'bad' as const },
    { text: glyph('doubt').repeat(doubt), tone: 'warn' as const },
  ].filter((s) => s.text.length > 0);
}

/** "#12 █████ 50", "#13 ████x 49 ✗1", "#14 ███x? 48 ✗1 ?1" */
export function batchCell(b: BatchStat, theme: Theme, num: (n: number) => string): { segments: Segment[]; counts: string; width: number } {
  const marks = [b.failed > 0 ? `${theme.ascii ? 'x' : '✗'}${num(b.failed)}` : '', b.inDoubt > 0 ? `?${num(b.inDoubt)}` : '']
    .filter(Boolean)
    .join(' ');
  const counts = `${num(b.sent)}${marks ? ` ${marks}` : ''}`;
  const label = `#${num(b.batch)} `;
  return { segments: [{ text: label, tone: 'muted' }, ...batchBar(b, BAR_WIDTH, theme)], counts, width: [...label].length + BAR_WIDTH + 1 + [...counts].length };
}

/** What the pictures hold worth drawing at this width: 0, 1 or 2 lines. */
export function pictureLines(p: Pictures | null, width: number, labels: { spark: string; batches: string }): ('spark' | 'batches')[] {
  if (!p) return [];
  const out: ('spark' | 'batches')[] = [];
  if (p.perMinute.some((v) => v > 0) && width - labels.spark.length - 1 >= MIN_SPARK_MINUTES) out.push('spark');
  if (p.batches.length > 0 && width - labels.batches.length - 2 >= BAR_WIDTH + 8) out.push('batches');
  return out;
}

export function sparkLabel(p: Pictures, m: { pics: { perMinute: string } }, num: (n: number) => string): string {
  return t(m.pics.perMinute, { n: num(Math.max(0, ...p.perMinute)) });
}

/** The sends-per-minute line: as many of the newest minutes as fit (up to the hour). */
export function SparkLine({ p, width }: { p: Pictures; width: number }) {
  const { m, fmt, theme } = useUi();
  const label = sparkLabel(p, m, (n) => fmt.num(n));
  const minutes = Math.max(0, Math.min(p.perMinute.length, width - [...label].length - 1));
  return (
    <Text wrap="truncate-end">
      <Text color={theme.color('muted')}>{label} </Text>
      <Text color={theme.color('good')}>{sparkline(p.perMinute.slice(p.perMinute.length - minutes), theme.ascii)}</Text>
    </Text>
  );
}

/** The newest batches that fit, oldest on the left (like the sparkline, time runs left to right). */
export function BatchLine({ p, width }: { p: Pictures; width: number }) {
  const { m, fmt, theme } = useUi();
  const label = `${m.pics.batches}:`;
  let room = width - [...label].length;
  const cells: ReturnType<typeof batchCell>[] = [];
  // The store gives the newest first.
  for (const b of p.batches) {
    const cell = batchCell(b, theme, (n) => fmt.num(n));
    if (cell.width + 2 > room) break;
    room -= cell.width + 2;
    cells.unshift(cell);
  }
  const parts: ReactNode[] = [];
  cells.forEach((cell, i) => {
    parts.push(<Text key={`g${i}`}>{'  '}</Text>);
    cell.segments.forEach((s, j) => {
      parts.push(
        <Text key={`s${i}-${j}`} color={theme.color(s.tone)}>
          {s.text}
        </Text>,
      );
    });
    parts.push(<Text key={`c${i}`}> {cell.counts}</Text>);
  });
  return (
    <Text wrap="truncate-end">
      <Text color={theme.color('muted')}>{label}</Text>
      {parts}
    </Text>
  );
}

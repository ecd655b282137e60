/** Colours by meaning; none at all when NO_COLOR is set (https://no-color.org). */
import type { CampaignStatus, EventLevel } from '../core/types.js';

export type Tone = 'accent' | 'good' | 'warn' | 'bad' | 'muted' | 'plain';

export interface Theme {
  noColor: boolean;
  /** Draw the pictures (sparkline, batch bars) with ASCII characters only. */
  ascii: boolean;
  color(tone: Tone): string | undefined;
}

const COLORS: Record<Tone, string | undefined> = {
  accent: 'cyan',
  good: 'green',
  warn: 'yellow',
  bad: 'red',
  muted: 'gray',
  plain: undefined,
};

export function makeTheme(noColor: boolean, ascii = false): Theme {
  return { noColor, ascii, color: (tone) => (noColor ? undefined : COLORS[tone]) };
}

/**
 * Whether the pictures must make do with ASCII: the Linux console (its fonts lack the eighth
 * blocks ▁▂▃…), a dumb terminal, or a locale that names a character set other than UTF-8
 * (`LANG=C`, `es_CL.ISO-8859-1`). An unset locale counts as UTF-8, as terminals are today.
 * NO_COLOR is about colour only: it keeps the block characters, and the pictures then tell
 * failed from in doubt by their glyphs (x, ?) instead of their colour.
 */
export function asciiFromEnv(env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.TERM === 'linux' || env.TERM === 'dumb') return true;
  const locale = env.LC_ALL || env.LC_CTYPE || env.LANG || '';
  return locale !== '' && !/utf-?8/i.test(locale);
}

/** NO_COLOR present and not empty disables colour. */
export function noColorFromEnv(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.NO_COLOR !== undefined && env.NO_COLOR !== '';
}

export function statusTone(status: CampaignStatus): Tone {
  switch (status) {
    case 'sending':
      return 'good';
    case 'paused':
      return 'warn';
    case 'completed':
      return 'accent';
    case 'cancelled':
      return 'bad';
    default:
      return 'plain';
  }
}

export function levelTone(level: EventLevel): Tone {
  return level === 'error' ? 'bad' : level === 'warn' ? 'warn' : 'plain';
}

/** Cuts to `width` columns with an ellipsis (code points; the TUI's own strings are narrow). */
export function cut(text: string, width: number): string {
  if (width <= 0) return '';
  const chars = [...text];
  if (chars.length <= width) return text;
  return chars.slice(0, Math.max(0, width - 1)).join('') + '…';
}

/** Greedy word wrap to `width` columns, at most `maxLines` (the last one cut with an ellipsis). */
export function wrapWords(text: string, width: number, maxLines: number): string[] {
  const w = Math.max(1, width);
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    const candidate = line ? `${line} ${word}` : word;
    if ([...candidate].length <= w) {
      line = candidate;
      continue;
    }
    if (line) lines.push(line);
    line = word;
    while ([...line].length > w) {
      lines.push([...line].slice(0, w).join(''));
      line = [...line].slice(w).join('');
    }
  }
  if (line || lines.length === 0) lines.push(line || ' ');
  if (lines.length <= maxLines) return lines;
  const kept = lines.slice(0, maxLines);
  kept[maxLines - 1] = cut(`${kept[maxLines - 1]} ${lines.slice(maxLines).join(' ')}`, w);
  return kept;
}

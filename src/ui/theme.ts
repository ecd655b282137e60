/** Colours by meaning; none at all when NO_COLOR is set (https://no-color.org). */
import type { CampaignStatus, EventLevel } from '../core/types.js';

export type Tone = 'accent' | 'good' | 'warn' | 'bad' | 'muted' | 'plain';

export interface Theme {
  noColor: boolean;
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

export function makeTheme(noColor: boolean): Theme {
  return { noColor, color: (tone) => (noColor ? undefined : COLORS[tone]) };
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

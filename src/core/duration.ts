import type { RateLimit, SendWindow } from './types.js';
import { UserError } from './types.js';

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** "90s", "12m", "1h", "2d" or plain seconds ("720") → seconds. */
export function parseDuration(text: string, what = 'duration'): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$/i.exec(String(text));
  if (!m) throw new UserError(`${what}: "${text}" is not a duration (use 90s, 12m, 1h or seconds)`, 2);
  const seconds = Number(m[1]) * UNIT_SECONDS[(m[2] || 's').toLowerCase()]!;
  if (!Number.isFinite(seconds)) throw new UserError(`${what}: "${text}" is too large`, 2);
  return seconds;
}

/** "100/h" → 100 messages per 3600 s. */
export function parseRate(text: string): RateLimit {
  const m = /^\s*(\d+)\s*\/\s*([smhd])\s*$/i.exec(text);
  if (!m || Number(m[1]) < 1) throw new UserError(`--rate: "${text}" is not a rate (use n/s, n/m, n/h or n/d, n ≥ 1)`, 2);
  return { count: Number(m[1]), windowSeconds: UNIT_SECONDS[m[2]!.toLowerCase()]! };
}

export function formatRate(rate: RateLimit): string {
  const unit = Object.entries(UNIT_SECONDS).find(([, s]) => s === rate.windowSeconds)?.[0];
  return unit ? `${rate.count}/${unit}` : `${rate.count}/${rate.windowSeconds}s`;
}

/** "09:00-18:30" → window. */
export function parseWindow(text: string): SendWindow {
  const m = /^\s*([01]\d|2[0-3]):([0-5]\d)\s*-\s*([01]\d|2[0-4]):([0-5]\d)\s*$/.exec(text);
  if (!m || (m[3] === '24' && m[4] !== '00'))
    throw new UserError(`--window: "${text}" is not HH:MM-HH:MM (e.g. 09:00-18:00)`, 2);
  const start = `${m[1]}:${m[2]}`;
  const end = `${m[3]}:${m[4]}`;
  if (start === end) throw new UserError(`--window: "${text}" is empty (start equals end)`, 2);
  return { start, end };
}

export function formatDuration(seconds: number): string {
  if (seconds % 86400 === 0 && seconds > 0) return `${seconds / 86400}d`;
  if (seconds % 3600 === 0 && seconds > 0) return `${seconds / 3600}h`;
  if (seconds % 60 === 0 && seconds > 0) return `${seconds / 60}m`;
  return `${seconds}s`;
}

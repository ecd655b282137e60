/**
 * Durations, counts, rates and windows as operators write them in flags, each with the range it
 * must lie in. Every entry point shares these ranges: the flags (refused with exit 2 naming the
 * flag) and validateSettings (campaigns.ts), so that no stored setting can overflow a date or
 * wedge a run.
 */
import type { RateLimit, SendWindow } from './types.js';
import { UserError } from './types.js';

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };
const DAY = 86_400;

/** An inclusive range, in seconds for durations. */
export interface Range {
  min: number;
  max: number;
}

/**
 * The documented ranges (README, each flag's --help). Why these bounds: a month between batches
 * or of run time is already more than any campaign needs, and far from where epoch milliseconds
 * stop being dates; retries double at each attempt, so 20 attempts from at most a day apart stay
 * finite; a batch is claimed in one transaction, so 100,000 keeps it short.
 */
export const LIMITS = {
  /** --interval: 0 sends the next batch at once. */
  interval: { min: 0, max: 30 * DAY },
  /** --retry-delay: the first retry's wait, doubled at each attempt. */
  retryDelay: { min: 1, max: DAY },
  /** run --max-runtime. */
  maxRuntime: { min: 1, max: 30 * DAY },
  /** --batch-size. */
  batchSize: { min: 1, max: 100_000 },
  /** --max-attempts. */
  maxAttempts: { min: 1, max: 20 },
  /** --rate n/unit: n. */
  rateCount: { min: 1, max: 1_000_000 },
} as const satisfies Record<string, Range>;

/** Durations any caller may use: a year at most, so that no sum with a date overflows. */
const ANY_DURATION: Range = { min: 0, max: 365 * DAY };

const usage = (message: string) => new UserError(message, 2);

/** "0s to 30d", for help texts and messages. */
export function describeDurationRange(range: Range): string {
  return `${formatDuration(range.min)} to ${formatDuration(range.max)}`;
}

/** "1 to 100000". */
export function describeCountRange(range: Range): string {
  return `${range.min} to ${range.max}`;
}

/** Throws (exit 2, naming the flag) unless `seconds` is a whole number of seconds in `range`. */
export function checkDuration(seconds: number, flag: string, range: Range, written: string = formatDuration(seconds)): number {
  if (!Number.isInteger(seconds)) throw usage(`${flag}: "${written}" is not a whole number of seconds`);
  if (seconds < range.min || seconds > range.max)
    throw usage(`${flag}: "${written}" is out of range: it must be ${describeDurationRange(range)}`);
  return seconds;
}

/** Throws (exit 2, naming the flag) unless `n` is a whole number in `range`. */
export function checkCount(n: number, flag: string, range: Range, written: string = String(n)): number {
  if (!Number.isInteger(n)) throw usage(`${flag}: "${written}" is not a whole number`);
  if (n < range.min || n > range.max) throw usage(`${flag}: "${written}" is out of range: it must be ${describeCountRange(range)}`);
  return n;
}

/**
 * "90s", "12m", "1h", "2d", "1.5h" or plain seconds ("720") → whole seconds, checked against
 * `range`; a UserError (exit 2) naming `flag` otherwise. For run's --max-runtime:
 * `parseDurationFlag(text, '--max-runtime', LIMITS.maxRuntime)`.
 */
export function parseDurationFlag(text: string, flag: string, range: Range): number {
  const written = String(text);
  const m = /^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$/i.exec(written);
  if (!m) throw usage(`${flag}: "${written}" is not a duration (use 90s, 12m, 1h, 2d or seconds)`);
  const seconds = Number(m[1]) * UNIT_SECONDS[(m[2] || 's').toLowerCase()]!;
  if (!Number.isFinite(seconds) || seconds > range.max)
    throw usage(`${flag}: "${written}" is out of range: it must be ${describeDurationRange(range)}`);
  return checkDuration(seconds, flag, range, written);
}

/** A duration with no narrower range than a year (prefer parseDurationFlag with a LIMITS entry). */
export function parseDuration(text: string, what = 'duration'): number {
  return parseDurationFlag(text, what, ANY_DURATION);
}

/** "50" → 50: digits only (no 1e3, 0x10 or 12abc), within `range`; exit 2 naming `flag` otherwise. */
export function parseCountFlag(text: string | number, flag: string, range: Range): number {
  const written = String(text).trim();
  if (!/^\d+$/.test(written)) throw usage(`${flag}: "${written}" is not a whole number`);
  return checkCount(Number(written), flag, range, written);
}

/** "100/h" → 100 messages per 3600 s; n within LIMITS.rateCount. */
export function parseRate(text: string): RateLimit {
  const m = /^\s*(\d+)\s*\/\s*([smhd])\s*$/i.exec(text);
  if (!m) throw usage(`--rate: "${text}" is not a rate (use n/s, n/m, n/h or n/d)`);
  const rate = { count: Number(m[1]), windowSeconds: UNIT_SECONDS[m[2]!.toLowerCase()]! };
  checkRate(rate, text);
  return rate;
}

/** Throws (exit 2) unless n is within LIMITS.rateCount and the unit is s, m, h or d. */
export function checkRate(rate: RateLimit, written: string = formatRate(rate)): void {
  const { min, max } = LIMITS.rateCount;
  if (!Number.isInteger(rate.count) || rate.count < min || rate.count > max)
    throw usage(`--rate: "${written}" is out of range: n must be ${describeCountRange(LIMITS.rateCount)}`);
  if (!Object.values(UNIT_SECONDS).includes(rate.windowSeconds))
    throw usage(`--rate: "${written}" has no unit of s, m, h or d`);
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

/**
 * Send windows ("09:00-18:00" in America/Santiago) and retry back-off. Pure functions over
 * epoch milliseconds; time zones (and their DST changes) are luxon's job, not ours.
 */
import { DateTime } from 'luxon';
import type { SendWindow } from './types.js';

function minutesOf(hhmm: string): number {
  const [h, m] = hhmm.split(':').map(Number);
  return h! * 60 + m!;
}

/** Is `at` inside the window, in zone `tz`? End is exclusive; a window may cross midnight. */
export function inWindow(at: number, window: SendWindow, tz: string): boolean {
  const local = DateTime.fromMillis(at, { zone: tz });
  const minute = local.hour * 60 + local.minute;
  const start = minutesOf(window.start);
  const end = minutesOf(window.end);
  return start < end ? minute >= start && minute < end : minute >= start || minute < end;
}

/** The first instant at or after `at` that is inside the window. */
export function nextWindowStart(at: number, window: SendWindow, tz: string): number {
  if (inWindow(at, window, tz)) return at;
  const local = DateTime.fromMillis(at, { zone: tz });
  const [h, m] = window.start.split(':').map(Number);
  let candidate = local.set({ hour: h!, minute: m!, second: 0, millisecond: 0 });
  if (candidate.toMillis() <= at) candidate = candidate.plus({ days: 1 });
  // A start hour skipped by a DST change lands luxon on the next valid instant: still in window.
  return candidate.toMillis();
}

/** Delay before attempt `attempt + 1`: base doubled per attempt made, ±10 % jitter. */
export function retryDelayMs(baseSeconds: number, attemptsMade: number, random: () => number = Math.random): number {
  const exact = baseSeconds * 1000 * 2 ** Math.max(0, attemptsMade - 1);
  return Math.round(exact * (0.9 + 0.2 * random()));
}

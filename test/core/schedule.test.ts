import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import { parseDuration, parseRate, parseWindow } from '../../src/core/duration.js';
import { inWindow, nextWindowStart, retryDelayMs } from '../../src/core/schedule.js';

const at = (iso: string, zone = 'America/Santiago') => DateTime.fromISO(iso, { zone }).toMillis();

describe('durations, rates and windows as operators write them', () => {
  it('parses durations', () => {
    expect(parseDuration('90s')).toBe(90);
    expect(parseDuration('12m')).toBe(720);
    expect(parseDuration('1h')).toBe(3600);
    expect(parseDuration('45')).toBe(45);
    expect(() => parseDuration('12 minutes', '--interval')).toThrow(/--interval: "12 minutes" is not a duration/);
  });
  it('parses rates and windows', () => {
    expect(parseRate('200/h')).toEqual({ count: 200, windowSeconds: 3600 });
    expect(() => parseRate('0/h')).toThrow(/--rate/);
    expect(parseWindow('09:00-18:30')).toEqual({ start: '09:00', end: '18:30' });
    expect(() => parseWindow('9-18')).toThrow(/--window/);
  });
});

describe('send window in the campaign time zone', () => {
  const w = { start: '09:00', end: '18:00' };
  it('is inside between start (inclusive) and end (exclusive), local time', () => {
    expect(inWindow(at('2026-11-27T09:00'), w, 'America/Santiago')).toBe(true);
    expect(inWindow(at('2026-11-27T17:59'), w, 'America/Santiago')).toBe(true);
    expect(inWindow(at('2026-11-27T18:00'), w, 'America/Santiago')).toBe(false);
    // 10:00 in Santiago is not 10:00 UTC
    expect(inWindow(at('2026-11-27T10:00', 'UTC'), w, 'America/Santiago')).toBe(false);
  });
  it('next start is later today or tomorrow', () => {
    expect(nextWindowStart(at('2026-11-27T07:30'), w, 'America/Santiago')).toBe(at('2026-11-27T09:00'));
    expect(nextWindowStart(at('2026-11-27T19:00'), w, 'America/Santiago')).toBe(at('2026-11-28T09:00'));
    expect(nextWindowStart(at('2026-11-27T12:00'), w, 'America/Santiago')).toBe(at('2026-11-27T12:00'));
  });
  it('handles a window across midnight', () => {
    const night = { start: '22:00', end: '06:00' };
    expect(inWindow(at('2026-11-27T23:00'), night, 'America/Santiago')).toBe(true);
    expect(inWindow(at('2026-11-28T05:59'), night, 'America/Santiago')).toBe(true);
    expect(inWindow(at('2026-11-28T12:00'), night, 'America/Santiago')).toBe(false);
    expect(nextWindowStart(at('2026-11-28T12:00'), night, 'America/Santiago')).toBe(at('2026-11-28T22:00'));
  });
});

describe('retry back-off', () => {
  it('doubles the delay at each attempt, with at most ±10 % jitter', () => {
    expect(retryDelayMs(60, 1, () => 0.5)).toBe(60_000);
    expect(retryDelayMs(60, 2, () => 0.5)).toBe(120_000);
    expect(retryDelayMs(60, 3, () => 0.5)).toBe(240_000);
    expect(retryDelayMs(60, 1, () => 0)).toBe(54_000);
    expect(retryDelayMs(60, 1, () => 1)).toBe(66_000);
  });
});

import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import { createCampaign } from '../../src/core/campaigns.js';
import { LIMITS, parseCountFlag, parseDuration, parseDurationFlag, parseRate, parseWindow } from '../../src/core/duration.js';
import { settings, tempStore } from '../helpers/store.js';
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

describe('every duration and count has a range (issue 8 item 2)', () => {
  it('parseDurationFlag: units, whole seconds, the range, and the flag named in every refusal', () => {
    expect(parseDurationFlag('4m', '--max-runtime', LIMITS.maxRuntime)).toBe(240);
    expect(parseDurationFlag('1.5h', '--max-runtime', LIMITS.maxRuntime)).toBe(5400);
    expect(parseDurationFlag('30d', '--max-runtime', LIMITS.maxRuntime)).toBe(30 * 86400);
    const refusals: [string, RegExp][] = [
      ['99999999999999999999', /^--max-runtime: "99999999999999999999" is out of range: it must be 1s to 30d$/],
      ['1e400', /^--max-runtime: "1e400" is not a duration/],
      ['0', /^--max-runtime: "0" is out of range/],
      ['30d1', /is not a duration/],
      ['0.5s', /^--max-runtime: "0.5s" is not a whole number of seconds$/],
      ['-5m', /is not a duration/],
    ];
    for (const [text, message] of refusals) {
      expect(() => parseDurationFlag(text, '--max-runtime', LIMITS.maxRuntime)).toThrow(message);
      expect(() => parseDurationFlag(text, '--max-runtime', LIMITS.maxRuntime)).toThrow(expect.objectContaining({ exitCode: 2 }));
    }
    // Without a range of its own, a duration is still at most a year: no date can overflow.
    expect(() => parseDuration('99999999999999999999', '--x')).toThrow(/--x: .* out of range: it must be 0s to 365d/);
  });

  it('parseCountFlag takes digits only, within the range', () => {
    expect(parseCountFlag('50', '--batch-size', LIMITS.batchSize)).toBe(50);
    for (const text of ['0', '100001', '1e3', '0x10', '12abc', '', '-1', '99999999999999999999'])
      expect(() => parseCountFlag(text, '--batch-size', LIMITS.batchSize)).toThrow(/^--batch-size: /);
  });

  it('validateSettings refuses stored values out of range, whatever the entry point', async () => {
    const t = tempStore();
    try {
      const cases: [Partial<Parameters<typeof settings>[0]>, RegExp][] = [
        [{ intervalSeconds: 1e20 }, /^--interval: .* out of range/],
        [{ intervalSeconds: -1 }, /^--interval: .* out of range/],
        [{ retryDelaySeconds: 1e20 }, /^--retry-delay: .* out of range/],
        [{ retryDelaySeconds: Number.NaN }, /^--retry-delay: .* not a whole number/],
        [{ batchSize: 1e20 }, /^--batch-size: .* out of range/],
        [{ maxAttempts: 1000 }, /^--max-attempts: .* out of range/],
        [{ rate: { count: 5, windowSeconds: 7 } }, /^--rate: .* no unit/],
        [{ rate: { count: 1e7, windowSeconds: 60 } }, /^--rate: .* out of range/],
      ];
      for (const [overrides, message] of cases)
        await expect(createCampaign(t.store, settings(overrides), 0)).rejects.toThrow(message);
      expect(await t.store.listCampaigns()).toEqual([]);
    } finally {
      await t.cleanup();
    }
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

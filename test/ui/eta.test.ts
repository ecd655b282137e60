import { DateTime } from 'luxon';
import { describe, expect, it, vi } from 'vitest';
import type { Campaign, StatusCounts } from '../../src/core/types.js';
import { nextWindowStart } from '../../src/core/schedule.js';
import { batchInfo, estimateFinish, RateMeter, WindowClock } from '../../src/ui/eta.js';
import { settings } from '../helpers/store.js';

const T0 = Date.UTC(2026, 10, 27, 12, 0, 0);
const campaign = (over: Partial<Campaign> = {}): Campaign => ({
  ...settings(),
  id: 1,
  status: 'sending',
  createdAt: T0,
  startedAt: T0,
  completedAt: null,
  nextBatchAt: T0,
  batchesSent: 0,
  batchClaimed: 0,
  lastError: null,
  ...over,
});
const counts = (pending: number, over: Partial<StatusCounts> = {}): StatusCounts => ({
  total: pending,
  pending,
  sending: 0,
  sent: 0,
  failed: 0,
  suppressed: 0,
  in_doubt: 0,
  ...over,
});

describe('batches', () => {
  it('counts the open batch and those still needed', () => {
    expect(batchInfo(campaign({ batchSize: 50 }), counts(300))).toEqual({ current: 1, total: 6, claimed: 0, open: false });
    // batch 3 open with 20 claimed: 30 more go in it, then 100 in two more batches
    expect(batchInfo(campaign({ batchSize: 50, batchesSent: 2, batchClaimed: 20 }), counts(130))).toEqual({
      current: 3,
      total: 5,
      claimed: 20,
      open: true,
    });
    expect(batchInfo(campaign({ batchSize: 50, batchesSent: 6 }), counts(0))).toMatchObject({ total: 6 });
  });
});

describe('ETA', () => {
  it('adds the intervals between batches', () => {
    // 3 batches of 50, 12 min apart, 100 ms a message: two intervals plus the sending itself.
    const at = estimateFinish({ campaign: campaign({ batchSize: 50, intervalSeconds: 720 }), counts: counts(150), now: T0, msPerMessage: 100 })!;
    expect(at - T0).toBeGreaterThanOrEqual(2 * 720_000);
    expect(at - T0).toBeLessThan(2 * 720_000 + 150 * 100 + 1);
  });

  it('waits for the next batch due time first', () => {
    const at = estimateFinish({ campaign: campaign({ batchSize: 50, nextBatchAt: T0 + 600_000 }), counts: counts(10), now: T0, msPerMessage: 100 })!;
    expect(at).toBe(T0 + 600_000 + 9 * 100);
  });

  it('honours the rate limit (a sliding window)', () => {
    // 100 messages at most 10 a minute, one big batch: 9 full minutes of waiting.
    const at = estimateFinish({
      campaign: campaign({ batchSize: 1000, intervalSeconds: 0, rate: { count: 10, windowSeconds: 60 } }),
      counts: counts(100),
      now: T0,
      msPerMessage: 10,
    })!;
    expect(at - T0).toBeGreaterThanOrEqual(9 * 60_000);
    expect(at - T0).toBeLessThan(10 * 60_000);
  });

  it('only sends inside the window, in the campaign zone', () => {
    // 12:00 UTC is 09:00 in Santiago (UTC-3 in November); the window opens at 10:00 there.
    const at = estimateFinish({
      campaign: campaign({ window: { start: '10:00', end: '18:00' }, timeZone: 'America/Santiago' }),
      counts: counts(5),
      now: T0,
      msPerMessage: 1000,
    })!;
    expect(at).toBe(T0 + 3_600_000 + 4000);
  });

  it('is unknown when not sending, now when only in-flight ones remain', () => {
    expect(estimateFinish({ campaign: campaign({ status: 'paused' }), counts: counts(5), now: T0, msPerMessage: null })).toBeNull();
    expect(estimateFinish({ campaign: campaign(), counts: counts(0, { sending: 2 }), now: T0, msPerMessage: null })).toBe(T0);
  });

  it('stays cheap on a big campaign: time-zone lookups per simulated hour, not per message', () => {
    const lookups = vi.spyOn(DateTime, 'fromMillis');
    const at = estimateFinish({
      campaign: campaign({ batchSize: 50, intervalSeconds: 720, window: { start: '09:00', end: '18:00' }, timeZone: 'America/Santiago', rate: { count: 500, windowSeconds: 3600 } }),
      counts: counts(100_000),
      now: T0,
      msPerMessage: 200,
    });
    // 100,000 messages at 500 an hour, 9 hours a day: about 22 days.
    expect((at! - T0) / 86_400_000).toBeGreaterThan(20);
    expect(lookups.mock.calls.length).toBeGreaterThan(0);
    expect(lookups.mock.calls.length).toBeLessThan(2000);
    lookups.mockRestore();
  });
});

describe('send window arithmetic', () => {
  it('agrees with the engine (luxon) at any time of year, across DST changes and midnight', () => {
    const cases: [string, string, string][] = [
      ['America/Santiago', '09:00', '18:00'],
      ['America/Santiago', '22:00', '02:00'],
      ['Europe/Madrid', '08:30', '20:15'],
      ['Asia/Kathmandu', '10:00', '11:00'],
    ];
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (const [zone, start, end] of cases) {
      const clock = new WindowClock({ start, end }, zone);
      for (let i = 0; i < 3000; i++) {
        const t = Date.UTC(2026, 0, 1) + Math.floor(random() * 366 * 86_400_000);
        const mine = clock.next(t);
        const engine = nextWindowStart(t, { start, end }, zone);
        // The engine's answer is the first whole minute inside; ours keeps seconds when already inside.
        expect(Math.abs(mine - engine), `${zone} ${start}-${end} at ${new Date(t).toISOString()}`).toBeLessThan(60_000);
      }
    }
  });
});

describe('rate meter', () => {
  it('messages per minute over the last minute, and the pace within batches', () => {
    const m = new RateMeter();
    expect(m.perMinute()).toBeNull();
    for (let i = 0; i <= 10; i++) m.add(T0 + i * 1000, i * 5, true); // 5 a second for 10 s
    expect(m.perMinute()).toBe(50);
    for (let i = 11; i <= 70; i++) m.add(T0 + i * 1000, i * 5, true); // a full minute more at that pace
    expect(m.perMinute()).toBe(300);
    expect(m.msPerMessage()).toBeCloseTo(200);
    for (let i = 71; i <= 140; i++) m.add(T0 + i * 1000, 350, false); // then nothing
    expect(m.perMinute()).toBe(0);
  });
});

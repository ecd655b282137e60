/**
 * The controller's reads for the failed list, a history and the pictures, on a real SQLite file
 * after a real run: what it asks the store, how often, and what screens get to see.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { observer } from '../../src/cli/context.js';
import { type Snapshot, TuiController } from '../../src/ui/controller.js';
import type { UiStoreExtras } from '../../src/ui/store-extras.js';
import { tempStore } from '../helpers/store.js';
import { until } from './harness.js';
import { runWithFailures } from './real-run.js';

let s: ReturnType<typeof tempStore> | undefined;
let controller: TuiController | undefined;
afterEach(async () => {
  await controller?.dispose();
  await s?.cleanup();
  controller = undefined;
  s = undefined;
});

/** The real view store, counting what is asked of it (every answer is still the database's). */
function counted(inner: UiStoreExtras) {
  const calls: Record<string, number> = {};
  const wrap =
    <K extends keyof UiStoreExtras>(k: K) =>
    (...args: Parameters<UiStoreExtras[K]>) => {
      calls[k] = (calls[k] ?? 0) + 1;
      return (inner[k] as (...a: unknown[]) => ReturnType<UiStoreExtras[K]>)(...args);
    };
  const views: UiStoreExtras = {
    listRecipients: wrap('listRecipients'),
    recipientHistory: wrap('recipientHistory'),
    activity: wrap('activity'),
    batchStats: wrap('batchStats'),
    resolveInDoubt: wrap('resolveInDoubt'),
  };
  return { views, calls };
}

const published = (c: TuiController) => new Promise<Snapshot>((resolve) => c.once('change', () => resolve(c.getSnapshot())));

describe('controller: views', () => {
  it('a page of the failed list: the newest query wins, and screens see only what was published', async () => {
    s = tempStore();
    await runWithFailures(s.store);
    // Publications at most every 500 ms: the second page stays unpublished that long.
    controller = new TuiController({ store: s.store, transportUrl: null, observer, minEmitMs: 500 });
    const first = published(controller);
    controller.watchRecipients(1, { statuses: ['failed', 'in_doubt'], limit: 2, offset: 0 });
    const snap = await first;
    expect(snap.recipients!.total).toBe(5);
    expect(snap.recipients!.rows.map((r) => r.email)).toEqual(['r1@example.com', 'r4@example.com']);

    // Two queries in a row: only the last one's answer is kept, though the first (5 rows to read)
    // answers after the second (2 rows).
    controller.watchRecipients(1, { statuses: ['failed', 'in_doubt'], limit: 5, offset: 0 });
    controller.watchRecipients(1, { statuses: ['in_doubt'], limit: 2, offset: 0 });
    await until(
      async () => (controller as unknown as { snapshot: Snapshot }).snapshot.recipients?.query.statuses.join(),
      (v) => v === 'in_doubt',
    );
    // Read, not yet published: a screen re-rendering now still sees the first page.
    expect(controller.getSnapshot().recipients!.rows.map((r) => r.email)).toEqual(['r1@example.com', 'r4@example.com']);
    const second = published(controller);
    const next = await second;
    expect(next.recipients!.query.statuses).toEqual(['in_doubt']);
    expect(next.recipients!.rows.map((r) => r.email)).toEqual(['r7@example.com', 'r10@example.com']);

    controller.watchRecipients(null);
    expect((controller as unknown as { snapshot: Snapshot }).snapshot.recipients).toBeNull();
  });

  it('a history: every attempt of that recipient, oldest first, and the recipient as it is now', async () => {
    s = tempStore();
    await runWithFailures(s.store);
    controller = new TuiController({ store: s.store, transportUrl: null, observer, minEmitMs: 0 });
    const r4 = (await s.store.getRecipient(1, 'r4@example.com'))!;
    controller.watchHistory(1, r4.id, r4.email);
    const snap = await until(async () => controller!.getSnapshot(), (x) => x.history !== null);
    expect(snap.history!.recipient).toMatchObject({ email: 'r4@example.com', status: 'failed', attempts: 2 });
    expect(snap.history!.events.map((e) => [e.type, e.data?.attempt])).toEqual([
      ['retry_scheduled', 1],
      ['failed', 2],
    ]);
  });

  it('the pictures: read on watching, again when the counts change (at most every 5 s) and when a minute starts', async () => {
    s = tempStore();
    await runWithFailures(s.store);
    const minute = 60_000;
    // Early in the next minute: the run's sends are all in "the last hour", and the steps below
    // (14 s of this clock) stay within one minute until the test moves to the next.
    let now = Math.floor(Date.now() / minute) * minute + minute + 1000;
    const { views, calls } = counted(s.store);
    controller = new TuiController({ store: s.store, transportUrl: null, observer, views, minEmitMs: 0, pollMs: 3_600_000, now: () => now });
    await controller.refresh();
    controller.watchPictures(1);
    const snap = await until(async () => controller!.getSnapshot(), (x) => x.pictures !== null);
    expect(snap.pictures!.perMinute).toHaveLength(60);
    expect(snap.pictures!.perMinute.reduce((a, b) => a + b, 0)).toBe(7);
    expect(snap.pictures!.batches.map((b) => b.batch)).toEqual([4, 3, 2, 1]);
    expect(calls).toMatchObject({ activity: 1, batchStats: 1 });

    // Nothing changed: refreshes read nothing more.
    now += 2000;
    await controller.refresh();
    now += 5000;
    await controller.refresh();
    expect(calls).toMatchObject({ activity: 1, batchStats: 1 });
    // The counts change (a recipient resolved) but less than 5 s after the last read: not yet.
    await views.resolveInDoubt(1, 'mark-sent', now, ['r7@example.com']);
    await controller.refresh();
    expect(calls.activity).toBe(2); // 7 s since the first read: this one is due
    await views.resolveInDoubt(1, 'mark-sent', now, ['r10@example.com']);
    now += 1000;
    await controller.refresh();
    expect(calls.activity).toBe(2); // 1 s after: waits
    now += 5000;
    await controller.refresh();
    expect(calls.activity).toBe(3);
    // A new minute: read again even with nothing changed (the hour moved on).
    now = Math.floor(now / minute) * minute + minute + 10;
    await controller.refresh();
    expect(calls.activity).toBe(4);
    controller.watchPictures(null);
    now += minute;
    await controller.refresh();
    expect(calls.activity).toBe(4);
  });
});

/**
 * The engine's store on a worker thread (what `run` uses). Workers run JavaScript, so this test
 * drives the built module in dist/ (npm test builds first).
 */
import { writeFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WorkerStore } from '../../dist/core/worker-store.js';
import { UserError } from '../../dist/core/types.js';
import { addRecipients, settings, tempStore } from '../helpers/store.js';

let s: ReturnType<typeof tempStore>;
beforeEach(() => (s = tempStore()));
afterEach(() => s.cleanup());

const T0 = Date.UTC(2026, 10, 27, 12);

describe('WorkerStore', () => {
  it('claims and records through the worker, on the same file the main thread sees', async () => {
    const c = await s.store.createCampaign(settings(), T0);
    await addRecipients(s.store, c.id, 3);
    await s.store.transition(c.id, ['draft'], 'sending', T0);
    const w = await WorkerStore.open(s.db);
    try {
      const owner = { host: 'h', pid: 1, token: 't' };
      expect((await w.acquireLease(c.id, owner, T0, 60_000, () => false)).acquired).toBe(true);
      const step = await w.step(c.id, 't', T0, [], 2);
      expect(step.claim).toMatchObject({ kind: 'claimed', batch: 1 });
      const claimed = step.claim!.kind === 'claimed' ? step.claim!.recipients : [];
      expect(claimed.map((r) => r.email)).toEqual(['r0@example.com', 'r1@example.com']);
      const event = { campaignId: c.id, at: T0, level: 'info' as const, type: 'sent', message: 'sent' };
      const next = await w.step(c.id, 't', T0, claimed.map((r) => ({ recipientId: r.id, update: { status: 'sent' as const, sentAt: T0 }, event })), 0);
      expect(next).toEqual({ recorded: [true, true], claim: null });
      expect((await s.store.summaries([c.id]))[0]!.counts).toMatchObject({ sent: 2, pending: 1 });
    } finally {
      await w.close();
    }
  });

  it('takes over a lease only when the caller judged that very holder dead', async () => {
    const c = await s.store.createCampaign(settings(), T0);
    await s.store.transition(c.id, ['draft'], 'sending', T0);
    await s.store.acquireLease(c.id, { host: 'h', pid: 999_999, token: 'dead' }, T0, 60_000, () => false);
    const w = await WorkerStore.open(s.db);
    try {
      const me = { host: 'h', pid: 2, token: 'me' };
      expect(await w.acquireLease(c.id, me, T0 + 1, 60_000, () => false)).toMatchObject({ acquired: false, holder: { owner: 'h:999999' } });
      expect(await w.acquireLease(c.id, me, T0 + 1, 60_000, (holder) => holder.pid === 999_999)).toMatchObject({
        acquired: true,
        tookOverFrom: { owner: 'h:999999' },
      });
    } finally {
      await w.close();
    }
  });

  it('refuses a file that is not an aremko-mail database with the same message, as an operator error', async () => {
    writeFileSync(s.db + '.txt', 'not sqlite at all '.repeat(100));
    const err = await WorkerStore.open(s.db + '.txt').catch((e) => e);
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toMatch(/not an aremko-mail database/);
  });
});

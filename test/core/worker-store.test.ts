/**
 * The engine's store on a worker thread (what `run` uses on SQLite). Workers run JavaScript, so
 * this test drives the built module in dist/ (npm test builds first).
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
  it('joins, claims and records through the worker, on the same file the main thread sees', async () => {
    const c = await s.store.createCampaign(settings(), T0);
    await addRecipients(s.store, c.id, 3);
    await s.store.transition(c.id, ['draft'], 'sending', T0);
    const w = await WorkerStore.open(s.db);
    try {
      await w.joinCampaign(c.id, { host: 'h', pid: 1, token: 't' }, T0, 60_000, []);
      expect((await s.store.listRunners(c.id)).map((r) => r.owner)).toEqual(['h:1']);
      const step = await w.step(c.id, 't', T0, [], 2);
      expect(step.claim).toMatchObject({ kind: 'claimed', batch: 1 });
      const claimed = step.claim!.kind === 'claimed' ? step.claim!.recipients : [];
      expect(claimed.map((r) => r.email)).toEqual(['r0@example.com', 'r1@example.com']);
      const results = claimed.map((r) => ({ recipientId: r.id, outcome: 'sent' as const, at: T0, detail: '250 ok', messageId: `<${r.id}@x>` }));
      expect(await w.step(c.id, 't', T0, results, 0)).toEqual({ recorded: [true, true], claim: null });
      expect((await s.store.summaries([c.id], T0))[0]!.counts).toMatchObject({ sent: 2, pending: 1 });
      await w.leaveCampaign(c.id, 't', T0, []);
      expect(await s.store.listRunners(c.id)).toEqual([]);
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

/**
 * A backend's write transaction (Backend.write) as the rules use it: statements the rules do not
 * await (on PostgreSQL they go out with COMMIT) still decide the commit; and on PostgreSQL a fresh
 * pool opens its connections for concurrent writes, and a connection that dies mid-transaction
 * fails that transaction only, not the store, nor the writes after it.
 */
import postgres from 'postgres';
import { afterEach, describe, expect, it } from 'vitest';
import type { Store } from '../../src/core/store.js';
import type { Backend } from '../../src/core/store/sql-store.js';
import type { CampaignStatus } from '../../src/core/types.js';
import { backends, createTestDatabase, pgUrl, type TestDatabase } from '../helpers/backends.js';
import { settings } from '../helpers/store.js';

const T0 = Date.UTC(2026, 11, 1, 12);
const backendOf = (store: Store) => (store as unknown as { backend: Backend }).backend;

describe.each(backends())('write transactions on %s', (name) => {
  let db: TestDatabase;
  afterEach(async () => db?.cleanup());

  it('a statement the rules did not await fails: the write fails, and none of its statements is kept', async () => {
    db = await createTestDatabase(name);
    const store = await db.open();
    const c = await store.createCampaign(settings(), T0);
    const write = backendOf(store).write(async (t) => {
      void t.updateCampaign(c.id, { lastError: 'written before the failure' });
      void t.updateCampaign(c.id, { status: 'no such status' as CampaignStatus }); // the CHECK refuses it
      return 'the rules saw no error';
    });
    await expect(write).rejects.toThrow(/check/i);
    expect((await store.getCampaign(c.id))!.lastError).toBeNull();
    // and the store goes on
    await backendOf(store).write(async (t) => void t.updateCampaign(c.id, { lastError: 'later' }));
    expect((await store.getCampaign(c.id))!.lastError).toBe('later');
  });
});

describe.skipIf(!pgUrl() && process.env.CI !== 'true')('write transactions on postgres: connections opened and lost', () => {
  let db: TestDatabase;
  afterEach(async () => db?.cleanup());

  it('a fresh store: more writes at once than its pool has connections, each opening one', async () => {
    db = await createTestDatabase('postgres');
    const store = await db.open();
    const c = await store.createCampaign(settings(), T0);
    const fresh = await db.open();
    await Promise.all(Array.from({ length: 10 }, () => backendOf(fresh).write(async (t) => void t.addBatchClaims(c.id, 1))));
    expect((await store.getCampaign(c.id))!.batchClaimed).toBe(10);
  });

  it('the connection dies mid-transaction: that write fails, nothing of it is kept, and the next ones work on a new connection', async () => {
    db = await createTestDatabase('postgres');
    const schema = new URL(db.location).searchParams.get('schema')!;
    const store = await db.open();
    const c = await store.createCampaign(settings(), T0);
    const admin = postgres(pgUrl()!.replace(/\?.*$/, ''), { onnotice: () => undefined, max: 1 });
    try {
      const write = backendOf(store).write(async (t) => {
        await t.campaign(c.id, { lock: true });
        void t.updateCampaign(c.id, { lastError: 'written before the connection died' });
        // The server ends the session holding this campaign's row (ours: found by its lock).
        const ended = await admin`
          SELECT pg_terminate_backend(l.pid) AS ok FROM (SELECT DISTINCT l.pid FROM pg_locks l
          JOIN pg_class r ON r.oid = l.relation JOIN pg_namespace n ON n.oid = r.relnamespace
          WHERE n.nspname = ${schema} AND r.relname = 'campaigns' AND l.pid <> pg_backend_pid()) l`;
        expect(ended.map((e) => e.ok)).toEqual([true]);
        return t.counts(c.id);
      });
      await expect(write).rejects.toThrow();
      expect((await store.getCampaign(c.id))!.lastError).toBeNull();
      for (let i = 0; i < 6; i++) await backendOf(store).write(async (t) => void t.updateCampaign(c.id, { lastError: `after ${i}` }));
      expect((await store.getCampaign(c.id))!.lastError).toBe('after 5');
    } finally {
      await admin.end({ timeout: 5 });
    }
  });
  it('after the server ends a session mid-transaction, bursts of writes all succeed: the ended session\'s error is not taken for theirs', async () => {
    // postgres.js keeps an ended session's error (57P01) on its connection object and hands it to
    // the next session's first statement there: a BEGIN that in fact ran (porsager/postgres#1223).
    // A burst uses every connection of the pool, the reopened one too; before the store retried
    // such a BEGIN, most rounds saw one write fail with "shutting down or starting up".
    db = await createTestDatabase('postgres');
    const schema = new URL(db.location).searchParams.get('schema')!;
    const store = await db.open();
    const c = await store.createCampaign(settings(), T0);
    const admin = postgres(pgUrl()!.replace(/\?.*$/, ''), { onnotice: () => undefined, max: 1 });
    try {
      for (let round = 0; round < 3; round++) {
        const killed = backendOf(store).write(async (t) => {
          await t.campaign(c.id, { lock: true });
          await admin`
            SELECT pg_terminate_backend(l.pid) FROM (SELECT DISTINCT l.pid FROM pg_locks l
            JOIN pg_class r ON r.oid = l.relation JOIN pg_namespace n ON n.oid = r.relnamespace
            WHERE n.nspname = ${schema} AND r.relname = 'campaigns' AND l.pid <> pg_backend_pid()) l`;
          return t.counts(c.id);
        });
        await expect(killed).rejects.toThrow(/lost the connection|shutting down/);
        const burst = await Promise.allSettled(Array.from({ length: 10 }, () => backendOf(store).write(async (t) => void t.addBatchClaims(c.id, 1))));
        expect(burst.filter((b) => b.status === 'rejected').map((b) => String((b as PromiseRejectedResult).reason))).toEqual([]);
      }
      expect((await store.getCampaign(c.id))!.batchClaimed).toBe(30);
    } finally {
      await admin.end({ timeout: 5 });
    }
  });
});

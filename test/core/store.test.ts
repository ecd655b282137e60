import Database from 'better-sqlite3';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { APPLICATION_ID, SCHEMA_VERSION } from '../../src/core/migrations.js';
import { openSqliteStore, type SqliteStore } from '../../src/core/sqlite-store.js';
import { tempDir } from '../helpers/cli.js';
import { addRecipients, settings, tempStore } from '../helpers/store.js';

const T0 = Date.UTC(2026, 10, 27, 12, 0, 0);
const me = { host: 'h1', pid: 100, token: 'tok-me' };
const other = { host: 'h2', pid: 200, token: 'tok-other' };
const never = () => false;

describe('opening a database file', () => {
  let t: ReturnType<typeof tempDir>;
  beforeEach(() => (t = tempDir()));
  afterEach(() => t.cleanup());

  it('creates the folder and a 0600 file (and -wal/-shm) at the current schema, in WAL mode', async () => {
    const path = join(t.dir, 'nested', 'deeper', 'a.db');
    const store = openSqliteStore(path);
    await store.createCampaign(settings(), T0);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(path + '-wal').mode & 0o777).toBe(0o600);
    expect(statSync(path + '-shm').mode & 0o777).toBe(0o600);
    expect(store.raw.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(store.raw.pragma('synchronous', { simple: true })).toBe(2); // FULL
    expect(store.raw.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(store.raw.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    await store.close();
  });

  it('reopens an existing database with its data', async () => {
    const a = openSqliteStore(t.db);
    const c = await a.createCampaign(settings({ name: 'kept' }), T0);
    await a.close();
    const b = openSqliteStore(t.db);
    expect((await b.getCampaign(c.id))?.name).toBe('kept');
    await b.close();
  });

  it('refuses a database from a newer version and leaves it untouched', async () => {
    const a = openSqliteStore(t.db);
    await a.close();
    const raw = new Database(t.db);
    raw.pragma(`user_version = ${SCHEMA_VERSION + 5}`);
    raw.close();
    const before = readFileSync(t.db);
    expect(() => openSqliteStore(t.db)).toThrow(/newer aremko-mail.*left untouched/);
    expect(readFileSync(t.db).equals(before)).toBe(true);
  });

  it("refuses another application's SQLite file and leaves it untouched", () => {
    const raw = new Database(t.db);
    raw.exec('CREATE TABLE notes (x TEXT); INSERT INTO notes VALUES (1)');
    raw.close();
    const before = readFileSync(t.db);
    expect(() => openSqliteStore(t.db)).toThrow(/not an aremko-mail database/);
    expect(readFileSync(t.db).equals(before)).toBe(true);
  });

  it('refuses a file that is not SQLite at all and leaves it untouched', () => {
    writeFileSync(t.db, 'email,name\na@b.cl,Ana\n'.repeat(200));
    const before = readFileSync(t.db);
    expect(() => openSqliteStore(t.db)).toThrow(/not an aremko-mail database/);
    expect(readFileSync(t.db).equals(before)).toBe(true);
  });

  it('upgrades an older database when opened (version 0 with our id: runs every migration)', async () => {
    const raw = new Database(t.db);
    raw.pragma(`application_id = ${APPLICATION_ID}`);
    raw.close();
    const store = openSqliteStore(t.db);
    expect(store.raw.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect((await store.createCampaign(settings(), T0)).id).toBe(1);
    await store.close();
  });
});

describe('store units of work', () => {
  let s: ReturnType<typeof tempStore>;
  let store: SqliteStore;
  beforeEach(() => {
    s = tempStore();
    store = s.store;
  });
  afterEach(() => s.cleanup());

  async function sendingCampaign(n: number, overrides = {}) {
    const c = await store.createCampaign(settings(overrides), T0);
    await addRecipients(store, c.id, n);
    const moved = await store.transition(c.id, ['draft'], 'sending', T0);
    expect(moved.ok).toBe(true);
    return c.id;
  }

  it('keeps status counts in step with every change (triggers), equal to a full count', async () => {
    const id = await sendingCampaign(10);
    await store.acquireLease(id, me, T0, 60_000, never);
    const a = await store.claimNext(id, me.token, T0);
    const b = await store.claimNext(id, me.token, T0);
    if (a.kind !== 'claimed' || b.kind !== 'claimed') throw new Error('expected claims');
    await store.recordResult(a.recipient.id, me.token, { status: 'sent', sentAt: T0 }, { campaignId: id, at: T0, level: 'info', type: 'sent', message: 'x' });
    await store.addSuppressions(['r5@example.com'], 'manual', T0);
    const [summary] = await store.summaries([id]);
    const truth = Object.fromEntries(
      (store.raw.prepare('SELECT status, count(*) n FROM recipients WHERE campaign_id = ? GROUP BY status').all(id) as any[]).map((r) => [r.status, r.n]),
    );
    expect(summary!.counts).toMatchObject({ total: 10, sent: 1, sending: 1, suppressed: 1, pending: 7 });
    expect(truth).toEqual({ sent: 1, sending: 1, suppressed: 1, pending: 7 });
  });

  it('claims in order, counts the attempt, and fills a batch then asks to close it', async () => {
    const id = await sendingCampaign(5, { batchSize: 2, intervalSeconds: 600 });
    await store.acquireLease(id, me, T0, 60_000, never);
    const first = await store.claimNext(id, me.token, T0);
    const second = await store.claimNext(id, me.token, T0);
    const third = await store.claimNext(id, me.token, T0);
    expect(first.kind === 'claimed' && first.recipient.email).toBe('r0@example.com');
    expect(first.kind === 'claimed' && first.recipient.attempts).toBe(1);
    expect(second.kind === 'claimed' && second.batch).toBe(1);
    expect(third.kind).toBe('batch_full');
    for (const r of [first, second]) {
      if (r.kind !== 'claimed') throw new Error();
      await store.recordResult(r.recipient.id, me.token, { status: 'sent', sentAt: T0 }, { campaignId: id, at: T0, level: 'info', type: 'sent', message: '' });
    }
    const closed = await store.closeBatch(id, me.token, T0 + 1000);
    expect(closed.batchesSent).toBe(1);
    expect(closed.nextBatchAt).toBe(T0 + 1000 + 600_000);
    const early = await store.claimNext(id, me.token, T0 + 2000);
    expect(early).toEqual({ kind: 'wait', until: T0 + 601_000, reason: 'interval' });
  });

  it('a refunded claim (server never reached) gives back its attempt and its place in the batch', async () => {
    const id = await sendingCampaign(3, { batchSize: 10 });
    await store.acquireLease(id, me, T0, 60_000, never);
    const a = await store.claimNext(id, me.token, T0);
    await store.claimNext(id, me.token, T0);
    if (a.kind !== 'claimed') throw new Error();
    await store.recordResult(a.recipient.id, me.token, { status: 'pending', refundAttempt: true, lastError: 'unreachable' }, { campaignId: id, at: T0, level: 'error', type: 'transport_error', message: '' });
    expect((await store.getCampaign(id))!.batchClaimed).toBe(1);
    expect(await store.getRecipient(id, a.recipient.email)).toMatchObject({ status: 'pending', attempts: 0, lastAttemptAt: null });
  });

  it('honours pause and cancel written by anyone before the next claim', async () => {
    const id = await sendingCampaign(3);
    await store.acquireLease(id, me, T0, 60_000, never);
    await store.transition(id, ['sending'], 'paused', T0);
    expect(await store.claimNext(id, me.token, T0)).toEqual({ kind: 'stopped', status: 'paused' });
  });

  it('only the lease holder claims; an expired lease is taken over and its in-flight rows become in_doubt', async () => {
    const id = await sendingCampaign(3);
    expect((await store.acquireLease(id, other, T0, 60_000, never)).acquired).toBe(true);
    const theirs = await store.claimNext(id, other.token, T0);
    expect(theirs.kind).toBe('claimed');
    const refused = await store.acquireLease(id, me, T0 + 1000, 60_000, never);
    expect(refused).toMatchObject({ acquired: false, holder: { owner: 'h2:200' } });
    expect(await store.claimNext(id, me.token, T0 + 1000)).toEqual({ kind: 'lost_lease' });
    const taken = await store.acquireLease(id, me, T0 + 61_000, 60_000, never);
    expect(taken).toMatchObject({ acquired: true, markedInDoubt: 1, tookOverFrom: { owner: 'h2:200' } });
    const [summary] = await store.summaries([id]);
    expect(summary!.counts.in_doubt).toBe(1);
    // the old holder's late answer is still recorded: the truth beats "in doubt"
    if (theirs.kind !== 'claimed') throw new Error();
    expect(
      await store.recordResult(theirs.recipient.id, other.token, { status: 'sent', sentAt: T0 }, { campaignId: id, at: T0, level: 'info', type: 'sent', message: '' }),
    ).toBe(true);
    expect((await store.summaries([id]))[0]!.counts).toMatchObject({ sent: 1, in_doubt: 0 });
  });

  it('takes over at once when canTakeOver says the holder is dead', async () => {
    const id = await sendingCampaign(1);
    await store.acquireLease(id, other, T0, 60_000, never);
    const taken = await store.acquireLease(id, me, T0 + 1, 60_000, (h) => h.pid === 200);
    expect(taken.acquired).toBe(true);
  });

  it('waits for retries that are not due yet, then completes when nothing is left', async () => {
    const id = await sendingCampaign(1);
    await store.acquireLease(id, me, T0, 600_000, never);
    const c = await store.claimNext(id, me.token, T0);
    if (c.kind !== 'claimed') throw new Error();
    await store.recordResult(c.recipient.id, me.token, { status: 'pending', nextAttemptAt: T0 + 60_000, lastError: '451' }, { campaignId: id, at: T0, level: 'warn', type: 'retry', message: '' });
    expect(await store.claimNext(id, me.token, T0 + 1)).toEqual({ kind: 'wait', until: T0 + 60_000, reason: 'retry' });
    const again = await store.claimNext(id, me.token, T0 + 60_000);
    expect(again.kind === 'claimed' && again.recipient.attempts).toBe(2);
    if (again.kind !== 'claimed') throw new Error();
    await store.recordResult(again.recipient.id, me.token, { status: 'sent', sentAt: T0 }, { campaignId: id, at: T0, level: 'info', type: 'sent', message: '' });
    expect(await store.claimNext(id, me.token, T0 + 60_001)).toEqual({ kind: 'done' });
    const done = await store.closeBatch(id, me.token, T0 + 60_002);
    expect(done.status).toBe('completed');
    expect(done.batchesSent).toBe(1);
  });

  it('rate limit: at most n attempts in any sliding window, counted from stored attempts', async () => {
    const id = await sendingCampaign(10, { rate: { count: 3, windowSeconds: 60 }, batchSize: 100 });
    await store.acquireLease(id, me, T0, 600_000, never);
    for (let i = 0; i < 3; i++) expect((await store.claimNext(id, me.token, T0 + i * 1000)).kind).toBe('claimed');
    expect(await store.claimNext(id, me.token, T0 + 5000)).toEqual({ kind: 'wait', until: T0 + 60_001, reason: 'rate' });
    expect((await store.claimNext(id, me.token, T0 + 60_001)).kind).toBe('claimed');
  });

  it('resolve --resend reopens a completed campaign; --mark-sent marks sent', async () => {
    const id = await sendingCampaign(2);
    await store.acquireLease(id, other, T0, 60_000, never);
    await store.claimNext(id, other.token, T0);
    await store.claimNext(id, other.token, T0);
    await store.acquireLease(id, me, T0 + 61_000, 60_000, never); // both become in_doubt
    expect(await store.claimNext(id, me.token, T0 + 61_000)).toEqual({ kind: 'done' });
    expect((await store.closeBatch(id, me.token, T0 + 61_000)).status).toBe('completed');
    expect(await store.resolveInDoubt(id, 'resend', T0 + 62_000)).toBe(2);
    expect((await store.getCampaign(id))!.status).toBe('sending');
    expect((await store.summaries([id]))[0]!.counts.pending).toBe(2);
  });
});

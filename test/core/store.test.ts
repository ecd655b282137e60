/**
 * The store conformance suite: every rule of the Store contract, run against every backend
 * (SQLite always, PostgreSQL when the tests' server is up — always in CI). Backend-specific
 * matters (files, schemas, URLs) are in sqlite-store.test.ts and postgres-store.test.ts.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AttemptResult, ClaimResult, Store } from '../../src/core/store.js';
import type { CampaignSettings, RecipientStatus } from '../../src/core/types.js';
import { RUNNER_GONE } from '../../src/core/stored-errors.js';
import { backends, createTestDatabase, type TestDatabase } from '../helpers/backends.js';
import { addRecipients, settings } from '../helpers/store.js';

const T0 = Date.UTC(2026, 10, 27, 12, 0, 0);
const me = { host: 'h1', pid: 100, token: 'tok-me' };
const other = { host: 'h2', pid: 200, token: 'tok-other' };
const TTL = 60_000;

describe.each(backends())('store conformance: %s', (backend) => {
  let db: TestDatabase;
  let store: Store;
  beforeEach(async () => {
    db = await createTestDatabase(backend);
    store = await db.open();
  });
  afterEach(() => db.cleanup());

  async function sendingCampaign(n: number, overrides: Partial<CampaignSettings> = {}) {
    const c = await store.createCampaign(settings(overrides), T0);
    await addRecipients(store, c.id, n);
    const moved = await store.transition(c.id, ['draft'], 'sending', T0);
    expect(moved.ok).toBe(true);
    current = c.id;
    return c.id;
  }

  const join = (id: number, who = me, at = T0, localDead: string[] = [], ttl = TTL) => store.joinCampaign(id, who, at, ttl, localDead);
  const claim = async (id: number, token = me.token, at = T0, max = 1, window: number | null = null): Promise<ClaimResult> =>
    (await store.step(id, token, at, [], max, { idempotencyWindowMs: window })).claim!;
  const claimed = (c: ClaimResult) => {
    if (c.kind !== 'claimed') throw new Error(`expected a claim, got ${JSON.stringify(c)}`);
    return c.recipients;
  };
  const answer = (recipientId: number, outcome: AttemptResult['outcome'], at = T0, extra: Partial<AttemptResult> = {}): AttemptResult => ({
    recipientId,
    outcome,
    at,
    detail: outcome === 'sent' ? '250 OK' : 'something went wrong',
    messageId: `<m${recipientId}@x>`,
    ...extra,
  });
  let current = 0; // the campaign the test works on (record() steps on it)
  const record = async (token: string, ...results: AttemptResult[]) => (await store.step(current, token, T0, results, 0)).recorded;
  const counts = async (id: number) => (await store.summaries([id], T0))[0]!.counts;
  const total = async (id: number, status: 'pending' | 'sending' | 'sent' | 'failed' | 'suppressed' | 'in_doubt') =>
    (await store.listRecipients(id, { statuses: [status], limit: 0, offset: 0 })).total;

  it('keeps status counts in step with every change, equal to counting the rows', async () => {
    const id = await sendingCampaign(10);
    await join(id);
    const [a, b] = claimed(await claim(id, me.token, T0, 2));
    await record(me.token, answer(a!.id, 'sent'));
    await store.addSuppressions(['R5@example.com'], 'manual', T0);
    expect(await counts(id)).toMatchObject({ total: 10, sent: 1, sending: 1, suppressed: 1, pending: 7 });
    for (const st of ['sent', 'sending', 'suppressed', 'pending'] as const) expect(await total(id, st)).toBe((await counts(id))[st]);
    expect(b!.status).toBe('sending');
  });

  it('claims in file order, counts the attempt, fills a batch, closes it once nothing is in flight, then waits the interval', async () => {
    const id = await sendingCampaign(5, { batchSize: 2, intervalSeconds: 600 });
    await join(id);
    const first = claimed(await claim(id, me.token, T0, 1));
    const second = claimed(await claim(id, me.token, T0, 5));
    expect(first.map((r) => [r.email, r.attempts, r.batch])).toEqual([['r0@example.com', 1, 1]]);
    expect(second.map((r) => r.email)).toEqual(['r1@example.com']);
    expect(await claim(id)).toEqual({ kind: 'batch_full' });
    expect(await store.settle(id, T0 + 500)).toEqual({ kind: 'busy' });
    await record(me.token, answer(first[0]!.id, 'sent'), answer(second[0]!.id, 'sent'));
    const s = await store.settle(id, T0 + 1000);
    expect(s).toMatchObject({ kind: 'settled', closedBatch: 1, completed: false, nextBatchAt: T0 + 1000 + 600_000 });
    expect(await claim(id, me.token, T0 + 2000)).toEqual({ kind: 'wait', until: T0 + 601_000, reason: 'interval' });
    expect((await store.summaries([id], T0 + 2000))[0]!.waiting).toEqual({ reason: 'interval', until: T0 + 601_000 });
  });

  it('a claim asked to peek reads the recipients the next claim takes, in its order, in its own transaction (step and stepEarly)', async () => {
    const id = await sendingCampaign(6);
    await join(id, me, T0, [], 3_600_000);
    const [first] = claimed(await claim(id, me.token, T0, 1));
    // a retry due later is not among them
    await record(me.token, answer(first!.id, 'retry', T0, { retryAt: T0 + 60_000 }));
    expect(await claim(id, me.token, T0, 1)).toMatchObject({ kind: 'claimed', upcoming: null });
    const step = await store.step(id, me.token, T0, [], 1, { idempotencyWindowMs: null, peek: 3 });
    expect(claimed(step.claim!).map((r) => r.email)).toEqual(['r2@example.com']);
    const upcoming = await (step.claim as Extract<ClaimResult, { kind: 'claimed' }>).upcoming!;
    // after its own claim, and claiming nothing
    expect(upcoming.map((r) => r.email)).toEqual(['r3@example.com', 'r4@example.com', 'r5@example.com']);
    expect(await counts(id)).toMatchObject({ pending: 4, sending: 2 });
    const early = await store.stepEarly(id, me.token, T0 + 60_000, [], 2, { idempotencyWindowMs: null, peek: 3 });
    await early.durable;
    expect(claimed(early.claim!).map((r) => r.id)).toEqual(upcoming.slice(0, 2).map((r) => r.id));
    // oldest due first: the retry due at T0 + 60 s comes after r5, due since the import
    expect((await (early.claim as Extract<ClaimResult, { kind: 'claimed' }>).upcoming!).map((r) => r.email)).toEqual(['r5@example.com', 'r0@example.com']);
    expect(await counts(id)).toMatchObject({ pending: 2, sending: 4 });
  });

  it('a refunded claim (server never reached) gives back its attempt and its place in the batch, and is no attempt in the log', async () => {
    const id = await sendingCampaign(3, { batchSize: 10 });
    await join(id);
    const [a] = claimed(await claim(id, me.token, T0, 2));
    await record(me.token, answer(a!.id, 'refunded'));
    expect((await store.getCampaign(id))!.batchClaimed).toBe(1);
    expect(await store.getRecipient(id, a!.email)).toMatchObject({ status: 'pending', attempts: 0, lastAttemptAt: null });
    expect(await store.recipientHistory(id, a!.id)).toEqual([]);
  });

  it('honours pause and cancel written by anyone before the next claim', async () => {
    const id = await sendingCampaign(3);
    await join(id);
    await store.transition(id, ['sending'], 'paused', T0);
    expect(await claim(id)).toEqual({ kind: 'stopped', status: 'paused' });
    await store.transition(id, ['paused'], 'cancelled', T0);
    expect(await claim(id)).toEqual({ kind: 'stopped', status: 'cancelled' });
  });

  it('several runners share one campaign: each recipient claimed once, the batch size holds for all together', async () => {
    const id = await sendingCampaign(7, { batchSize: 5 });
    await join(id, me);
    await join(id, other);
    const mine = claimed(await claim(id, me.token, T0, 3));
    const theirs = claimed(await claim(id, other.token, T0, 3));
    expect(mine).toHaveLength(3);
    expect(theirs).toHaveLength(2); // the batch has 5 places in all
    expect(new Set([...mine, ...theirs].map((r) => r.id)).size).toBe(5);
    expect(await claim(id, other.token)).toEqual({ kind: 'batch_full' });
    await record(me.token, ...mine.map((r) => answer(r.id, 'sent')));
    // the other runner still has two in flight: nobody closes the batch yet
    expect(await store.settle(id, T0)).toEqual({ kind: 'busy' });
    expect(await record(me.token, answer(theirs[0]!.id, 'sent'))).toEqual([false]); // not mine to record
    await record(other.token, ...theirs.map((r) => answer(r.id, 'sent')));
    expect(await store.settle(id, T0)).toMatchObject({ kind: 'settled', closedBatch: 1 });
    const runners = (await store.summaries([id], T0))[0]!.runners;
    expect(runners.map((r) => r.owner).sort()).toEqual(['h1:100', 'h2:200']);
  });

  it('a runner whose lease expired is taken over by the next to look: its in-flight recipients become in_doubt; a late answer still lands', async () => {
    const id = await sendingCampaign(3);
    await join(id, other);
    const [theirs] = claimed(await claim(id, other.token));
    const later = T0 + TTL + 1;
    const { reaped } = await join(id, me, later);
    expect(reaped).toEqual([{ owner: 'h2:200', inDoubt: 1, requeued: 0 }]);
    expect(await counts(id)).toMatchObject({ in_doubt: 1 });
    expect(await claim(id, other.token, later)).toEqual({ kind: 'lost_lease' });
    expect(await store.renewLease(other.token, later, TTL)).toBe(false);
    // the truth beats "in doubt"
    expect(await record(other.token, answer(theirs!.id, 'sent', later))).toEqual([true]);
    expect(await counts(id)).toMatchObject({ sent: 1, in_doubt: 0 });
    const log = await store.listEvents(id, { limit: 100 });
    expect(log.find((e) => e.type === 'runner_reaped')?.message).toMatch(/h2:200 is gone \(taken over by h1:100\); 1 recipient .* in_doubt/);
  });

  it('takes over at once a runner this host knows is dead (localDead), without waiting for its lease', async () => {
    const id = await sendingCampaign(2);
    await join(id, other);
    claimed(await claim(id, other.token));
    const { reaped } = await join(id, me, T0 + 1, [other.token]);
    expect(reaped).toMatchObject([{ owner: 'h2:200', inDoubt: 1 }]);
    expect((await store.listRunners(id)).map((r) => r.owner)).toEqual(['h1:100']);
  });

  it('renewing keeps a lease; reaping takes the dead; a runner taken for dead is dead, one merely late is renewed', async () => {
    const id = await sendingCampaign(2);
    await join(id, me);
    await join(id, other);
    expect(await store.renewLease(me.token, T0 + 30_000, TTL)).toBe(true);
    expect(await store.reapDead(id, me, T0 + 30_000, [])).toEqual([]);
    expect(await store.reapDead(id, me, T0 + 61_000, [])).toEqual([{ owner: 'h2:200', inDoubt: 0, requeued: 0 }]);
    expect(await store.renewLease(other.token, T0 + 62_000, TTL)).toBe(false);
    // suspended past its lease, but nobody took it over: renewed, and it claims again
    expect((await claim(id, me.token, T0 + 30_000 + TTL + 5)).kind).toBe('lost_lease');
    expect(await store.renewLease(me.token, T0 + 30_000 + TTL + 5, TTL)).toBe(true);
    expect((await claim(id, me.token, T0 + 30_000 + TTL + 6)).kind).toBe('claimed');
  });

  it('leaving: what was handed to the transport and not recorded becomes in_doubt at once, claims never handed over go back to pending', async () => {
    const id = await sendingCampaign(4, { batchSize: 10 });
    await join(id);
    const [a, b, c] = claimed(await claim(id, me.token, T0, 3));
    await record(me.token, answer(a!.id, 'sent'));
    await store.leaveCampaign(id, me.token, T0 + 5, [b!.id]);
    // in the words a takeover uses, which the TUI says in the operator's language
    expect(await store.getRecipient(id, b!.email)).toMatchObject({ status: 'in_doubt', lastError: RUNNER_GONE('h1:100') });
    expect(await store.getRecipient(id, c!.email)).toMatchObject({ status: 'pending', attempts: 0 });
    expect((await store.getCampaign(id))!.batchClaimed).toBe(2);
    expect(await store.listRunners(id)).toEqual([]);
  });

  it('waits for retries that are not due yet, then completes when nothing is left', async () => {
    const id = await sendingCampaign(1);
    await join(id, me, T0, [], 600_000);
    const [r] = claimed(await claim(id));
    await record(me.token, answer(r!.id, 'retry', T0, { retryAt: T0 + 60_000 }));
    expect(await claim(id, me.token, T0 + 1)).toEqual({ kind: 'wait', until: T0 + 60_000, reason: 'retry' });
    expect((await store.summaries([id], T0 + 1))[0]!.waiting).toEqual({ reason: 'retry', until: T0 + 60_000 });
    const [again] = claimed(await claim(id, me.token, T0 + 60_000));
    expect(again!.attempts).toBe(2);
    await record(me.token, answer(again!.id, 'sent', T0 + 60_000));
    expect(await claim(id, me.token, T0 + 60_001)).toEqual({ kind: 'done' });
    const done = await store.settle(id, T0 + 60_002);
    expect(done).toMatchObject({ kind: 'settled', completed: true, closedBatch: 1, campaign: { status: 'completed', batchesSent: 1 } });
    const history = await store.recipientHistory(id, r!.id);
    expect(history.map((e) => [e.type, e.data!.attempt])).toEqual([
      ['retry_scheduled', 1],
      ['sent', 2],
    ]);
  });

  it('rate limit: at most n attempts in any sliding window — every attempt, a retried recipient\'s earlier ones too', async () => {
    const id = await sendingCampaign(10, { rate: { count: 3, windowSeconds: 60 }, batchSize: 100 });
    await join(id, me, T0, [], 600_000);
    const [a] = claimed(await claim(id, me.token, T0));
    await record(me.token, answer(a!.id, 'retry', T0, { retryAt: T0 }));
    // a's first attempt still counts after it was recorded and a is pending again
    claimed(await claim(id, me.token, T0 + 1000));
    claimed(await claim(id, me.token, T0 + 2000));
    expect(await claim(id, me.token, T0 + 5000)).toEqual({ kind: 'wait', until: T0 + 60_001, reason: 'rate' });
    expect((await store.summaries([id], T0 + 5000))[0]!.waiting).toEqual({ reason: 'rate', until: T0 + 60_001 });
    expect((await claim(id, me.token, T0 + 60_001)).kind).toBe('claimed');
  });

  it('rate limit: answers recorded in the same step as a claim count against it', async () => {
    const id = await sendingCampaign(10, { rate: { count: 2, windowSeconds: 60 }, batchSize: 100 });
    await join(id, me, T0, [], 600_000);
    const [a, b] = claimed(await claim(id, me.token, T0, 2));
    // The engine's step: record both answers, then claim in the same transaction.
    const step = await store.step(id, me.token, T0 + 1000, [answer(a!.id, 'sent', T0 + 1000), answer(b!.id, 'sent', T0 + 1000)], 2);
    expect(step.recorded).toEqual([true, true]);
    expect(step.claim).toEqual({ kind: 'wait', until: T0 + 60_001, reason: 'rate' });
    expect(await counts(id)).toMatchObject({ sent: 2, sending: 0, pending: 8 });
  });

  it('send window: nothing is claimed outside the hours of its zone, and status says until when', async () => {
    const night = Date.parse('2026-11-27T03:00:00Z'); // 00:00 in Santiago (UTC-3 in summer)
    const id = await sendingCampaign(2, { window: { start: '09:00', end: '18:00' }, timeZone: 'America/Santiago' });
    await join(id, me, night, [], 24 * 3600_000);
    const opens = Date.parse('2026-11-27T12:00:00Z');
    expect(await claim(id, me.token, night)).toEqual({ kind: 'wait', until: opens, reason: 'window' });
    expect((await store.summaries([id], night))[0]!.waiting).toEqual({ reason: 'window', until: opens });
    expect((await claim(id, me.token, opens)).kind).toBe('claimed');
  });

  it('a provider\'s 429 holds the whole campaign until the time it gave, without using an attempt', async () => {
    const id = await sendingCampaign(3, { batchSize: 10 });
    await join(id);
    const [a] = claimed(await claim(id));
    await record(me.token, answer(a!.id, 'refunded', T0, { throttleUntil: T0 + 30_000 }));
    expect(await claim(id, me.token, T0 + 1)).toEqual({ kind: 'wait', until: T0 + 30_000, reason: 'rate' });
    expect(await store.getRecipient(id, a!.email)).toMatchObject({ status: 'pending', attempts: 0 });
    expect((await claim(id, me.token, T0 + 30_000)).kind).toBe('claimed');
  });

  it('idempotency: a dead runner\'s claims go back to pending while the provider deduplicates their key, in_doubt once it no longer does', async () => {
    const id = await sendingCampaign(2, { batchSize: 10 });
    await join(id, other);
    const window = 24 * 3600_000;
    const theirs = claimed(await claim(id, other.token, T0, 2, window));
    expect(theirs.every((r) => r.idempotentUntil === T0 + window)).toBe(true);
    const { reaped } = await join(id, me, T0 + 1, [other.token]);
    expect(reaped).toEqual([{ owner: 'h2:200', inDoubt: 0, requeued: 2 }]);
    expect(await counts(id)).toMatchObject({ pending: 2, in_doubt: 0 });
    // resent under the same key (its window kept from the first claim)
    const [again] = claimed(await claim(id, me.token, T0 + 2, 1, window));
    expect(again!.idempotentUntil).toBe(T0 + window);
    // the other one is not claimed before the provider forgets the key: then it is in doubt
    await record(me.token, answer(again!.id, 'sent', T0 + 3));
    const late = T0 + window + 1;
    await store.renewLease(me.token, T0 + 10, TTL);
    await join(id, { host: 'h3', pid: 3, token: 'tok-3' }, late);
    expect(await claim(id, 'tok-3', late)).toEqual({ kind: 'done' });
    expect(await counts(id)).toMatchObject({ sent: 1, in_doubt: 1, pending: 0 });
  });

  it('idempotency: a runner whose transport does not deduplicate never resends what may have reached one that does — in doubt instead', async () => {
    const id = await sendingCampaign(3, { batchSize: 10 });
    await join(id, other);
    const window = 24 * 3600_000;
    claimed(await claim(id, other.token, T0, 2, window));
    await join(id, me, T0 + 1, [other.token]);
    expect(await counts(id)).toMatchObject({ pending: 3, in_doubt: 0 });
    // Through SMTP (no idempotency window), well within the provider's window: only the
    // recipient never tried is claimed; the two requeued ones are in doubt, saying why.
    const taken = claimed(await claim(id, me.token, T0 + 2, 3, null));
    expect(taken.map((r) => r.email)).toEqual(['r2@example.com']);
    expect(await counts(id)).toMatchObject({ pending: 0, sending: 1, in_doubt: 2 });
    const { rows } = await store.listRecipients(id, { statuses: ['in_doubt'], limit: 10, offset: 0 });
    expect(rows.map((r) => [r.email, r.lastError])).toEqual([
      ['r0@example.com', expect.stringContaining('this run sends through a transport that does not')],
      ['r1@example.com', expect.stringContaining('this run sends through a transport that does not')],
    ]);
  });

  it('resolve: --resend reopens a completed campaign; --mark-sent; --email only those', async () => {
    const id = await sendingCampaign(3);
    await join(id, other);
    claimed(await claim(id, other.token, T0, 3));
    await join(id, me, T0 + TTL + 1); // all three in_doubt
    expect(await claim(id, me.token, T0 + TTL + 1)).toEqual({ kind: 'done' });
    expect((await store.settle(id, T0 + TTL + 1)).kind).toBe('settled');
    expect((await store.getCampaign(id))!.status).toBe('completed');
    expect(await store.resolveInDoubt(id, 'mark-sent', T0 + TTL + 2, ['R0@EXAMPLE.COM'])).toBe(1);
    expect(await store.resolveInDoubt(id, 'resend', T0 + TTL + 2)).toBe(2);
    expect((await store.getCampaign(id))!.status).toBe('sending');
    expect(await counts(id)).toMatchObject({ pending: 2, sent: 1, in_doubt: 0 });
    const words = (await store.listEvents(id, { limit: 50 })).map((e) => e.message);
    expect(words).toContain('1 in-doubt recipient marked sent (R0@EXAMPLE.COM)');
  });

  it('imports: the first occurrence wins, addresses compared without case, suppressed ones kept as suppressed', async () => {
    const c = await store.createCampaign(settings(), T0);
    await store.addSuppressions(['blocked@example.com'], 'manual', T0);
    const session = await store.beginImport(c.id);
    await session.add([
      { line: 2, email: 'Ana@Example.com', fields: { nombre: 'Ana', email: 'Ana@Example.com' } },
      { line: 3, email: 'ana@example.com', fields: { nombre: 'Ana 2', email: 'ana@example.com' } },
      { line: 4, email: 'blocked@EXAMPLE.com', fields: { nombre: 'B', email: 'blocked@EXAMPLE.com' } },
      { line: 5, email: 'zoe@example.com', fields: { nombre: 'Zoe\ttab\\slash\nline', email: 'zoe@example.com' } },
    ]);
    expect(await session.commit()).toEqual({ imported: 2, duplicates: 1, suppressed: 1 });
    expect((await store.getRecipient(c.id, 'ANA@example.com'))!.fields.nombre).toBe('Ana');
    expect((await store.getRecipient(c.id, 'zoe@example.com'))!.fields.nombre).toBe('Zoe\ttab\\slash\nline');
    const again = await store.beginImport(c.id);
    await again.add([{ line: 2, email: 'zoe@example.com', fields: {} }]);
    expect(await again.commit()).toEqual({ imported: 0, duplicates: 1, suppressed: 0 });
    const order: string[] = [];
    for await (const r of store.iterateRecipients(c.id)) order.push(r.email);
    expect(order).toEqual(['Ana@Example.com', 'blocked@EXAMPLE.com', 'zoe@example.com']);
  });

  it('a large import arrives in many pieces (PostgreSQL moves it in chunks): the first occurrence still wins across them, in file order', async () => {
    const c = await store.createCampaign(settings(), T0);
    const N = 45_000; // more than two of PostgreSQL's 20,000-row chunks
    const emailOf = (line: number) =>
      line === 40_002 ? 'CLIENTE2@example.com' : line === 30_000 ? 'cliente25000@example.com' : `cliente${line}@example.com`;
    const session = await store.beginImport(c.id);
    for (let from = 2; from < N + 2; from += 1000) {
      const rows = [];
      for (let line = from; line < Math.min(from + 1000, N + 2); line++)
        rows.push({ line, email: emailOf(line), fields: { email: emailOf(line), line: String(line) } });
      await session.add(rows);
    }
    expect(await session.commit()).toEqual({ imported: N - 2, duplicates: 2, suppressed: 0 });
    expect((await store.getRecipient(c.id, 'cliente2@example.com'))!.fields.line).toBe('2');
    expect((await store.getRecipient(c.id, 'cliente25000@example.com'))!.fields.line).toBe('25000');
    const lines: number[] = [];
    for await (const r of store.iterateRecipients(c.id)) lines.push(Number(r.fields.line));
    expect(lines).toHaveLength(N - 2);
    expect(lines.every((line, i) => i === 0 || line > lines[i - 1]!)).toBe(true);
    expect((await counts(c.id)).pending).toBe(N - 2);
  });

  it('imports: after an address beyond ASCII, duplicates are still found, whatever their case', async () => {
    const c = await store.createCampaign(settings(), T0);
    const session = await store.beginImport(c.id);
    const emails = ['ana@example.com', 'josé@example.com', 'ANA@example.com', 'josé@example.com', 'new@example.com', 'New@Example.com'];
    await session.add(emails.map((email, i) => ({ line: i + 2, email, fields: { line: String(i + 2) } })));
    expect(await session.commit()).toEqual({ imported: 3, duplicates: 3, suppressed: 0 });
    expect((await store.getRecipient(c.id, 'ana@example.com'))!.fields.line).toBe('2');
    expect((await store.getRecipient(c.id, 'new@example.com'))!.fields.line).toBe('6');
  });

  it('addresses equal but for A-Z case are one; letters beyond ASCII are compared as written, on a server in any locale', async () => {
    if (backend === 'postgres') {
      // A server set up in C.UTF-8 (or en_US.UTF-8), where lower('JOSÉ') is 'josé'.
      await db.cleanup();
      db = await createTestDatabase(backend, { locale: 'C.UTF-8' });
      store = await db.open();
    }
    const c = await store.createCampaign(settings(), T0);
    await store.addSuppressions(['ÑANDÚ@example.com'], 'manual', T0);
    const session = await store.beginImport(c.id);
    const emails = ['JOSÉ@example.com', 'josé@example.com', 'JoSÉ@Example.com', 'ñandú@example.com', 'ÑAndÚ@EXAMPLE.com'];
    await session.add(emails.map((email, i) => ({ line: i + 2, email, fields: { line: String(i + 2) } })));
    // JoSÉ is JOSÉ again; ñandú is not the suppressed ÑANDÚ, ÑAndÚ is.
    expect(await session.commit()).toEqual({ imported: 3, duplicates: 1, suppressed: 1 });
    expect((await store.getRecipient(c.id, 'jOSÉ@EXAMPLE.COM'))!.email).toBe('JOSÉ@example.com');
    expect((await store.getRecipient(c.id, 'JOSé@example.com'))!.email).toBe('josé@example.com');
    expect((await store.getRecipient(c.id, 'ñandú@example.com'))!.status).toBe('pending');
    expect((await store.getRecipient(c.id, 'ÑANDÚ@example.com'))!.status).toBe('suppressed');
    expect(await store.getRecipient(c.id, 'jose@example.com')).toBeNull();

    // The suppression list keys its addresses the same way.
    expect(await store.addSuppressions(['josÉ@EXAMPLE.com'], 'manual', T0)).toBe(1);
    expect((await store.getRecipient(c.id, 'JOSÉ@example.com'))!.status).toBe('suppressed');
    expect((await store.getRecipient(c.id, 'josé@example.com'))!.status).toBe('pending');
    expect(await store.addSuppressions(['JOSÉ@example.com', 'ñandú@example.com'], 'manual', T0)).toBe(1);
    expect(await store.removeSuppressions(['ñANDú@example.com'])).toBe(1);
    expect((await store.listSuppressions()).map((s) => s.email).sort()).toEqual(['josÉ@EXAMPLE.com', 'ÑANDÚ@example.com'].sort());

    // resolve --email finds an address as written, or in other A-Z case, and no other.
    const d = await store.createCampaign(settings(), T0);
    const again = await store.beginImport(d.id);
    await again.add(['JOSÉ@ejemplo.cl', 'josé@ejemplo.cl'].map((email, i) => ({ line: i + 2, email, fields: {} })));
    expect(await again.commit()).toEqual({ imported: 2, duplicates: 0, suppressed: 0 });
    expect((await store.transition(d.id, ['draft'], 'sending', T0)).ok).toBe(true);
    await join(d.id, other);
    claimed(await claim(d.id, other.token, T0, 2));
    await join(d.id, me, T0 + TTL + 1); // both in doubt
    expect(await store.resolveInDoubt(d.id, 'mark-sent', T0 + TTL + 2, ['JOSÉ@EJEMPLO.CL'])).toBe(1);
    expect((await store.getRecipient(d.id, 'JOSÉ@ejemplo.cl'))!.status).toBe('sent');
    expect((await store.getRecipient(d.id, 'josé@ejemplo.cl'))!.status).toBe('in_doubt');
  });

  it('a suppression added while an import is under way holds for the rows it imports', async () => {
    const c = await store.createCampaign(settings(), T0);
    const session = await store.beginImport(c.id);
    const rows = (from: number, n: number) => Array.from({ length: n }, (_, i) => ({ line: from + i, email: `r${from + i}@example.com`, fields: {} }));
    await session.add(rows(2, 25_000)); // on PostgreSQL, a first chunk moves meanwhile
    await store.addSuppressions(['R7@example.com', 'r25010@example.com'], 'manual', T0);
    await session.add(rows(25_002, 10));
    expect(await session.commit()).toEqual({ imported: 25_008, duplicates: 0, suppressed: 2 });
    expect((await store.getRecipient(c.id, 'r7@example.com'))!.status).toBe('suppressed');
    expect((await store.getRecipient(c.id, 'r25010@example.com'))!.status).toBe('suppressed');
    expect(await counts(c.id)).toMatchObject({ pending: 25_008, suppressed: 2 });
  });

  it('an import aborted after many pieces leaves the campaign as it was', async () => {
    const c = await store.createCampaign(settings(), T0);
    await addRecipients(store, c.id, 3);
    const session = await store.beginImport(c.id);
    for (let from = 100; from < 50_100; from += 1000)
      await session.add(Array.from({ length: 1000 }, (_, i) => ({ line: from + i, email: `x${from + i}@example.com`, fields: {} })));
    await session.abort();
    expect((await store.summaries([c.id], T0))[0]!.counts.total).toBe(3);
    expect(await total(c.id, 'pending')).toBe(3);
  });

  it('an aborted import leaves the campaign as it was', async () => {
    const c = await store.createCampaign(settings(), T0);
    const session = await store.beginImport(c.id);
    await session.add([{ line: 2, email: 'a@example.com', fields: {} }]);
    await session.abort();
    expect((await store.summaries([c.id], T0))[0]!.counts.total).toBe(0);
  });

  it('the log: attempts worded from their row, read after an id, with a recipient\'s history, per-minute activity and per-batch stats', async () => {
    const id = await sendingCampaign(4, { batchSize: 2 });
    await join(id);
    const [a, b] = claimed(await claim(id, me.token, T0, 2));
    await record(me.token, answer(a!.id, 'sent', T0 + 10, { detail: '250 2.0.0 queued', providerId: 'prov-1' }), answer(b!.id, 'failed', T0 + 20, { detail: '550 5.1.1 unknown', suppress: 'bounced' }));
    await store.settle(id, T0 + 30);
    const log = await store.listEvents(id, { limit: 100 });
    const sent = log.find((e) => e.type === 'sent')!;
    expect(sent.message).toBe('sent to r0@example.com (batch 1, attempt 1): 250 2.0.0 queued [id prov-1]');
    expect(sent.data).toMatchObject({ email: 'r0@example.com', messageId: `<m${a!.id}@x>`, providerId: 'prov-1', batch: 1 });
    expect(log.find((e) => e.type === 'failed')!.message).toMatch(/failed for r1@example.com .*550 5\.1\.1 unknown; address suppressed/);
    expect(await store.listSuppressions()).toMatchObject([{ email: 'r1@example.com', reason: 'bounced' }]);
    const after = log[log.length - 2]!.id;
    expect((await store.listEvents(id, { afterId: after })).map((e) => e.id)).toEqual([log[log.length - 1]!.id]);
    expect(await store.activity(id, T0 + 60_000, 3)).toEqual([0, 1, 0]);
    expect(await store.batchStats(id, 5)).toEqual([{ batch: 1, sent: 1, failed: 1, inDoubt: 0, retried: 0 }]);
    const failing = await store.listRecipients(id, { statuses: ['failed', 'in_doubt'], search: '5.1.1', limit: 10, offset: 0 });
    expect(failing).toMatchObject({ total: 1, rows: [{ email: 'r1@example.com' }] });
    // Phrases widen the error's search (any of them, case aside, taken literally); the address is searched by the text itself.
    const trouble = { statuses: ['failed', 'in_doubt'] as RecipientStatus[], limit: 10, offset: 0 };
    expect(await store.listRecipients(id, { ...trouble, search: 'desconocido', errorPhrases: ['nothing', '5.1.1 UNKNOWN'] })).toMatchObject({ total: 1, rows: [{ email: 'r1@example.com' }] });
    expect((await store.listRecipients(id, { ...trouble, search: 'desconocido', errorPhrases: ['5.1.1 unknow_'] })).total).toBe(0);
    expect((await store.listRecipients(id, { search: 'r0@', errorPhrases: ['5.1.1'], limit: 10, offset: 0 })).total).toBe(2);
    expect(await store.pruneEvents(T0 + 15, id)).toBeGreaterThan(0);
    expect((await store.listEvents(id, { limit: 100 })).some((e) => e.type === 'sent')).toBe(false);
    expect((await store.getRecipient(id, 'r0@example.com'))!.status).toBe('sent'); // recipients untouched
  });

  it('many runners claiming at once on their own connections: every recipient exactly once', async () => {
    const id = await sendingCampaign(120, { batchSize: 1000 });
    const runners = await Promise.all(
      [1, 2, 3, 4].map(async (n) => {
        const s = await db.open();
        const who = { host: `h${n}`, pid: n, token: `tok-${n}` };
        await s.joinCampaign(id, who, T0, TTL, []);
        return { s, who };
      }),
    );
    const seen: number[] = [];
    await Promise.all(
      runners.map(async ({ s, who }) => {
        for (;;) {
          const c = (await s.step(id, who.token, T0, [], 3)).claim!;
          if (c.kind !== 'claimed') break;
          seen.push(...c.recipients.map((r) => r.id));
          await s.step(id, who.token, T0, c.recipients.map((r) => answer(r.id, 'sent')), 0);
        }
      }),
    );
    expect(seen).toHaveLength(120);
    expect(new Set(seen).size).toBe(120);
    expect(await counts(id)).toMatchObject({ sent: 120, pending: 0, sending: 0 });
  });
});

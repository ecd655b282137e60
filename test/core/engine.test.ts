/**
 * The engine against a real database (SQLite and PostgreSQL) and a real SMTP server (smtp-server
 * on 127.0.0.1), with virtual time: a 12-minute pause between batches costs nothing.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Engine, type EngineOptions } from '../../src/core/engine.js';
import type { EngineEvent } from '../../src/core/events.js';
import type { Store } from '../../src/core/store.js';
import { createTransport, parseTransportUrl, type OutgoingEnvelope, type Transport } from '../../src/core/transport/index.js';
import type { CampaignSettings } from '../../src/core/types.js';
import { backends, createTestDatabase, rawRows, type TestDatabase } from '../helpers/backends.js';
import { VirtualClock } from '../helpers/clock.js';
import { startFakeResend } from '../helpers/providers/resend.js';
import { startTestSmtp, type TestSmtp } from '../helpers/smtp-server.js';
import { addRecipients, settings } from '../helpers/store.js';

describe.each(backends())('engine on %s', (backend) => {
let db: TestDatabase;
let store: Store;
let smtp: TestSmtp;
let clock: VirtualClock;
const transports: Transport[] = [];

beforeEach(async () => {
  db = await createTestDatabase(backend);
  store = await db.open();
  clock = new VirtualClock();
});
afterEach(async () => {
  for (const t of transports.splice(0)) await t.close();
  await smtp?.close();
  await db.cleanup();
});

function transport(pool = 1, url = smtp.url): Transport {
  const t = createTransport(parseTransportUrl(`${url}?pool=${pool}`));
  transports.push(t);
  return t;
}

/** Another connection to the same database: what another process would see and do. */
function otherProcessStore(): Promise<Store> {
  return db.open();
}

function engine(options: Partial<EngineOptions> & { pool?: number } = {}): { engine: Engine; events: EngineEvent[] } {
  const { pool, ...rest } = options;
  // Virtual time: a long poll step keeps 12-minute pauses to a few loop turns.
  const e = new Engine({ store, transport: transport(pool ?? 1), clock, pollMs: 60_000, ...rest });
  const events: EngineEvent[] = [];
  e.on('event', (ev) => events.push(ev));
  return { engine: e, events };
}

async function sendingCampaign(n: number, overrides: Partial<CampaignSettings> = {}): Promise<number> {
  const c = await store.createCampaign(settings(overrides), clock.now());
  await addRecipients(store, c.id, n);
  await store.transition(c.id, ['draft'], 'sending', clock.now());
  return c.id;
}

async function counts(id: number, st: Store = store) {
  return (await st.summaries([id]))[0]!.counts;
}

/** Every Message-ID the server accepted at most once, and how many distinct. */
function assertNoDuplicates(): number {
  const seen = new Map<string, number>();
  for (const m of smtp.received) seen.set(m.messageId, (seen.get(m.messageId) ?? 0) + 1);
  const twice = [...seen].filter(([, n]) => n > 1);
  expect(twice).toEqual([]);
  return seen.size;
}

describe('a campaign in batches', () => {
  it('delivers several hundred recipients exactly once, batch by batch, honouring the stored interval', async () => {
    smtp = await startTestSmtp();
    const id = await sendingCampaign(320, { batchSize: 50, intervalSeconds: 720 });
    const start = clock.now();
    const { engine: e, events } = engine({ pool: 3 });
    const [result] = await e.run([id]);
    expect(result!.outcome).toBe('completed');
    expect(result!.sent).toBe(320);
    expect(await counts(id)).toMatchObject({ total: 320, sent: 320, pending: 0, sending: 0, failed: 0, in_doubt: 0 });
    expect(assertNoDuplicates()).toBe(320);
    const c = (await store.getCampaign(id))!;
    expect(c.status).toBe('completed');
    expect(c.batchesSent).toBe(7);
    const finished = events.filter((x) => x.type === 'batch_finished');
    expect(finished).toHaveLength(7);
    // six pauses of 12 minutes between seven batches, measured on the injected clock
    expect(clock.now() - start).toBeGreaterThanOrEqual(6 * 720_000);
    // the server saw every message with the recipient's own Message-ID and fields
    const one = smtp.received.find((m) => m.to.includes('r7@example.com'))!;
    expect(one.raw.toString()).toContain('Nombre 7');
  });
});

describe('cron semantics (--max-runtime, stored due times)', () => {
  it('a run sends the due batch and exits; a run before the interval sends nothing; --ignore-schedule sends the next', async () => {
    smtp = await startTestSmtp();
    const id = await sendingCampaign(120, { batchSize: 50, intervalSeconds: 720 });
    const first = await engine({ maxRuntimeMs: 240_000 }).engine.run([id]);
    expect(first[0]).toMatchObject({ outcome: 'deadline', sent: 50 });
    const c1 = (await store.getCampaign(id))!;
    expect(c1.batchesSent).toBe(1);
    expect(c1.nextBatchAt).toBeGreaterThan(clock.now());
    expect(await store.listRunners(id)).toEqual([]); // unregistered on exit

    clock.advance(60_000);
    const second = await engine({ maxRuntimeMs: 240_000 }).engine.run([id]);
    expect(second[0]).toMatchObject({ outcome: 'deadline', sent: 0 });

    const third = await engine({ maxRuntimeMs: 240_000, ignoreSchedule: true }).engine.run([id]);
    expect(third[0]).toMatchObject({ sent: 50 });

    clock.advance(720_000);
    const fourth = await engine({ maxRuntimeMs: 240_000 }).engine.run([id]);
    expect(fourth[0]).toMatchObject({ outcome: 'completed', sent: 20 });
    expect(assertNoDuplicates()).toBe(120);
  });

  it('runs every given campaign (--auto) side by side', async () => {
    smtp = await startTestSmtp();
    const a = await sendingCampaign(30, { batchSize: 100 });
    const b = await store.createCampaign(settings({ batchSize: 100, name: 'b' }), clock.now());
    await addRecipients(store, b.id, 20, 100);
    await store.transition(b.id, ['draft'], 'sending', clock.now());
    const results = await engine({ pool: 2 }).engine.run([a, b.id]);
    expect(results.map((r) => [r.outcome, r.sent])).toEqual([
      ['completed', 30],
      ['completed', 20],
    ]);
    expect(assertNoDuplicates()).toBe(50);
  });

  it('rate limit holds across runs: n per window, counted from stored attempts', async () => {
    smtp = await startTestSmtp();
    const id = await sendingCampaign(25, { batchSize: 100, rate: { count: 10, windowSeconds: 3600 } });
    const r1 = await engine({ maxRuntimeMs: 240_000 }).engine.run([id]);
    expect(r1[0]!.sent).toBe(10);
    clock.advance(30 * 60_000);
    const r2 = await engine({ maxRuntimeMs: 240_000 }).engine.run([id]);
    expect(r2[0]!.sent).toBe(0);
    clock.advance(31 * 60_000);
    const r3 = await engine({ maxRuntimeMs: 240_000 }).engine.run([id]);
    expect(r3[0]!.sent).toBe(10);
    expect(assertNoDuplicates()).toBe(20);
  });

  it('send window: outside the hours of its zone nothing is sent; inside it is', async () => {
    smtp = await startTestSmtp();
    clock.t = Date.parse('2026-11-27T03:00:00Z'); // 00:00 in Santiago (UTC-3 in summer)
    const id = await sendingCampaign(5, { window: { start: '09:00', end: '18:00' }, timeZone: 'America/Santiago' });
    const { engine: night, events } = engine({ maxRuntimeMs: 240_000 });
    expect((await night.run([id]))[0]).toMatchObject({ outcome: 'deadline', sent: 0 });
    expect(events.find((x) => x.type === 'waiting')).toMatchObject({ reason: 'window', until: Date.parse('2026-11-27T12:00:00Z') });
    clock.t = Date.parse('2026-11-27T12:00:00Z');
    expect((await engine({ maxRuntimeMs: 240_000 }).engine.run([id]))[0]).toMatchObject({ outcome: 'completed', sent: 5 });
  });
});

describe('pause, resume, cancel from another process', () => {
  it('a pause written elsewhere stops the runner before its next claim; resume finishes with no repeats', async () => {
    smtp = await startTestSmtp();
    const id = await sendingCampaign(200, { batchSize: 500 });
    const other = await otherProcessStore();
    const { engine: e } = engine({ pool: 2 });
    let asked = false;
    let sentWhenWritten = -1;
    e.on('event', (ev) => {
      if (ev.type === 'sent' && !asked && smtp.received.length >= 40) {
        asked = true;
        void other.transition(id, ['sending'], 'paused', clock.now()).then(() => (sentWhenWritten = smtp.received.length));
      }
    });
    const [r] = await e.run([id]);
    expect(r!.outcome).toBe('paused');
    const afterPause = await counts(id, other);
    // at most `pool` more sends after the pause was written (those already in flight)
    expect(sentWhenWritten).toBeGreaterThanOrEqual(40);
    expect(afterPause.sent).toBeLessThanOrEqual(sentWhenWritten + 2);
    expect(afterPause.sending).toBe(0);
    expect(afterPause.pending).toBe(200 - afterPause.sent);

    await other.transition(id, ['paused'], 'sending', clock.now());
    const [r2] = await engine({ pool: 2 }).engine.run([id]);
    expect(r2!.outcome).toBe('completed');
    expect(assertNoDuplicates()).toBe(200);
  });

  it('cancel stops it for good', async () => {
    smtp = await startTestSmtp();
    const id = await sendingCampaign(50, { batchSize: 500 });
    const other = await otherProcessStore();
    const { engine: e } = engine();
    let asked = false;
    let sentWhenWritten = -1;
    e.on('event', (ev) => {
      if (ev.type === 'sent' && !asked && smtp.received.length >= 5) {
        asked = true;
        void other.transition(id, ['sending'], 'cancelled', clock.now()).then(() => (sentWhenWritten = smtp.received.length));
      }
    });
    const [r] = await e.run([id]);
    expect(r!.outcome).toBe('cancelled');
    expect(sentWhenWritten).toBeGreaterThanOrEqual(5);
    expect((await counts(id)).sent).toBeLessThanOrEqual(sentWhenWritten + 1);
  });
});

describe('several runners at once', () => {
  it('three runners started together on one campaign all work on it: each recipient once, batches shared', async () => {
    // No recipient is accepted before all three have joined: a runner starved of CPU at its start
    // (a loaded CI machine) would otherwise find the campaign already completed by the other two.
    let joined = 0;
    let allJoined!: () => void;
    smtp = await startTestSmtp({ gate: new Promise<void>((resolve) => (allJoined = resolve)) });
    const id = await sendingCampaign(150, { batchSize: 40, intervalSeconds: 60 });
    const runners = await Promise.all(
      [1, 2, 3].map(async (n) => {
        const own = await otherProcessStore();
        return new Engine({
          store: own,
          transport: transport(2),
          clock,
          pollMs: 1000,
          // The clock is shared and virtual: while one runner is starved of CPU (a loaded CI
          // machine), the other two sleep through the intervals in 1 s steps at the speed of
          // their queries, and a minute of virtual time can pass in a few hundred real
          // milliseconds — enough for them to take the starved one for dead (reproduced by
          // delaying one runner's store calls up to 300 ms). Leases are not what this test is
          // about (see "renews its lease on a timer" and the takeover tests).
          leaseTtlMs: 3_600_000,
          owner: { host: 'this-host', pid: process.pid, token: `runner-${n}` },
        });
      }),
    );
    for (const r of runners) r.on('event', (ev: EngineEvent) => ev.type === 'runner_joined' && ++joined === 3 && allJoined());
    const results = (await Promise.all(runners.map((r) => r.run([id])))).flat();
    expect(results.map((r) => `${r.outcome}${r.error ? `: ${r.error}` : ''}`)).toEqual(['completed', 'completed', 'completed']);
    expect(results.reduce((n, r) => n + r.sent, 0)).toBe(150);
    expect(results.filter((r) => r.sent > 0).length).toBeGreaterThan(1);
    expect(assertNoDuplicates()).toBe(150);
    expect((await store.getCampaign(id))!.batchesSent).toBe(4); // 40 + 40 + 40 + 30: the batch size held for all
  });

  it('takes over at once from a dead runner on this host, marking its in-flight recipients in_doubt', async () => {
    smtp = await startTestSmtp();
    const id = await sendingCampaign(10);
    const dead = { host: 'this-host', pid: 999_999, token: 'dead' };
    await store.joinCampaign(id, dead, clock.now(), 60_000, []);
    await store.step(id, 'dead', clock.now(), [], 1);
    const { engine: e, events } = engine({ owner: { host: 'this-host', pid: process.pid, token: 'alive' }, isProcessAlive: (pid) => pid !== 999_999 });
    // (the dead one registered by hand with a plain token; the engine's are per campaign)
    const [r] = await e.run([id]);
    expect(r!.outcome).toBe('completed');
    expect(events.find((x) => x.type === 'runner_reaped')).toMatchObject({ owner: 'this-host:999999', inDoubt: 1 });
    expect(await counts(id)).toMatchObject({ sent: 9, in_doubt: 1 });
    expect(smtp.received.some((m) => m.to.includes('r0@example.com'))).toBe(false);
  });

  it('renews its lease on a timer while it waits; a runner reaped as dead stops claiming', async () => {
    smtp = await startTestSmtp();
    const id = await sendingCampaign(6, { batchSize: 2, intervalSeconds: 3600 });
    const { engine: e, events } = engine({ maxRuntimeMs: 2 * 3600_000 + 60_000, leaseTtlMs: 60_000 });
    const [r] = await e.run([id]);
    // two hours of intervals with a 60 s lease: only the heartbeat kept it alive
    expect(r).toMatchObject({ outcome: 'completed', sent: 6 });
    expect(events.some((x) => x.type === 'lease_lost')).toBe(false);

    const id2 = await sendingCampaign(20, { batchSize: 100, name: 'second' });
    const other = await otherProcessStore();
    const { engine: victim } = engine({ pool: 1, owner: { host: 'far-away', pid: 7, token: 'victim' } });
    let sent = 0;
    victim.on('event', (ev) => {
      // another runner decides the victim is dead (its process is gone from the victim's host)
      if (ev.type === 'sent' && ++sent === 3) void other.joinCampaign(id2, { host: 'far-away', pid: 8, token: 'judge' }, clock.now(), 60_000, [`victim.${id2}`]);
    });
    const [v] = await victim.run([id2]);
    expect(v!.outcome).toBe('lease_lost');
    expect(v!.sent).toBeLessThan(20);
  });
});

describe('a misbehaving mail server', () => {
  it('451 then accept: sent after retries, with the retry delay doubling', async () => {
    smtp = await startTestSmtp({ behaviour: ({ rcpt, attempt }) => (rcpt === 'r1@example.com' && attempt <= 2 ? { rcptReply: '451 4.7.1 try again later' } : 'accept') });
    const id = await sendingCampaign(3, { retryDelaySeconds: 60, batchSize: 100 });
    const { engine: e, events } = engine({ random: () => 0.5 });
    const [r] = await e.run([id]);
    expect(r!.outcome).toBe('completed');
    const retries = events.filter((x) => x.type === 'retry_scheduled') as Extract<EngineEvent, { type: 'retry_scheduled' }>[];
    expect(retries.map((x) => x.retryAt - x.at)).toEqual([60_000, 120_000]);
    const r1 = (await store.getRecipient(id, 'r1@example.com'))!;
    expect(r1).toMatchObject({ status: 'sent', attempts: 3 });
    expect(assertNoDuplicates()).toBe(3);
  });

  it('4xx until max-attempts: failed, with the reply kept', async () => {
    smtp = await startTestSmtp({ behaviour: () => ({ rcptReply: '452 4.2.2 mailbox full' }) });
    const id = await sendingCampaign(1, { maxAttempts: 3, retryDelaySeconds: 10 });
    await engine().engine.run([id]);
    const r = (await store.getRecipient(id, 'r0@example.com'))!;
    expect(r.status).toBe('failed');
    expect(r.attempts).toBe(3);
    expect(r.lastError).toMatch(/452 4\.2\.2 mailbox full.*gave up after 3 attempts/);
  });

  it('550 5.1.1: failed at once and the address is suppressed (bounced)', async () => {
    smtp = await startTestSmtp({ behaviour: ({ rcpt }) => (rcpt === 'r0@example.com' ? { rcptReply: '550 5.1.1 <r0@example.com>: user unknown' } : 'accept') });
    const id = await sendingCampaign(2);
    await engine().engine.run([id]);
    expect(await store.getRecipient(id, 'r0@example.com')).toMatchObject({ status: 'failed', attempts: 1 });
    expect((await store.getRecipient(id, 'r0@example.com'))!.lastError).toMatch(/550 5\.1\.1/);
    expect(await store.listSuppressions()).toMatchObject([{ email: 'r0@example.com', reason: 'bounced' }]);
  });

  it('554 after DATA: failed with the reply kept, not suppressed', async () => {
    smtp = await startTestSmtp({ behaviour: ({ rcpt }) => (rcpt === 'r0@example.com' ? { dataReply: '554 5.7.1 message rejected as spam' } : 'accept') });
    const id = await sendingCampaign(2);
    await engine().engine.run([id]);
    expect((await store.getRecipient(id, 'r0@example.com'))!).toMatchObject({ status: 'failed' });
    expect((await store.getRecipient(id, 'r0@example.com'))!.lastError).toMatch(/554 5\.7\.1 message rejected as spam/);
    expect(await store.listSuppressions()).toEqual([]);
  });

  it('connection cut after DATA: in_doubt and not resent; resolve --resend sends it again with the same Message-ID', async () => {
    let cut = true;
    smtp = await startTestSmtp({ behaviour: ({ rcpt }) => (rcpt === 'r1@example.com' && cut ? 'drop-after-data' : 'accept') });
    const id = await sendingCampaign(3);
    const [r] = await engine().engine.run([id]);
    expect(r!.outcome).toBe('completed');
    expect(await counts(id)).toMatchObject({ sent: 2, in_doubt: 1 });
    const doubtful = (await store.getRecipient(id, 'r1@example.com'))!;
    expect(doubtful.status).toBe('in_doubt');
    // the server read the whole message before the line went dead: exactly why we must not
    // resend on our own
    const firstCopy = smtp.droppedAfterData.filter((m) => m.to.includes('r1@example.com'));
    expect(firstCopy).toHaveLength(1);

    // a later run does not touch it
    expect((await engine().engine.run([id]))[0]!.sent).toBe(0);
    cut = false;
    expect(await store.resolveInDoubt(id, 'resend', clock.now())).toBe(1);
    expect((await store.getCampaign(id))!.status).toBe('sending');
    await engine().engine.run([id]);
    const copies = smtp.received.filter((m) => m.to.includes('r1@example.com'));
    expect(copies).toHaveLength(1);
    expect(copies[0]!.messageId).toBe(firstCopy[0]!.messageId);
    expect(await counts(id)).toMatchObject({ sent: 3, in_doubt: 0 });
  });

  it('server down: outcome unavailable, nothing failed, no attempt counted, reason recorded', async () => {
    smtp = await startTestSmtp();
    const url = smtp.url;
    await smtp.close();
    const id = await sendingCampaign(5);
    const e = new Engine({ store, transport: transport(2, url), clock });
    const [r] = await e.run([id]);
    expect(r!.outcome).toBe('unavailable');
    expect(await counts(id)).toMatchObject({ pending: 5, failed: 0, sending: 0 });
    const r0 = (await store.getRecipient(id, 'r0@example.com'))!;
    expect(r0.attempts).toBe(0);
    expect((await store.getCampaign(id))!.lastError).toMatch(/unavailable/);
    smtp = await startTestSmtp(); // for afterEach
  });

  it('login refused: unavailable, and the password is in no event, error or row', async () => {
    smtp = await startTestSmtp({ auth: { user: 'mailer', pass: 'right-pass' } });
    const id = await sendingCampaign(3);
    const badUrl = smtp.url.replace('smtp://', 'smtp://mailer:S3cret-W0rd@');
    const { engine: e, events } = engine({ transport: transport(1, badUrl) } as any);
    const [r] = await e.run([id]);
    expect(r!.outcome).toBe('unavailable');
    expect(await counts(id)).toMatchObject({ pending: 3, failed: 0 });
    const everything = JSON.stringify([events, r, await store.listEvents(id, { limit: 1000 }), await store.summaries()]);
    expect(everything).not.toContain('S3cret-W0rd');
    const dump = [...(await rawRows(db, 'events')), ...(await rawRows(db, 'campaigns')), ...(await rawRows(db, 'recipients'))];
    expect(dump.length).toBeGreaterThan(3);
    expect(JSON.stringify(dump)).not.toContain('S3cret-W0rd');
  });

  it('pooled connections the server dropped during the pause between batches: reconnects, nothing failed or doubled', async () => {
    smtp = await startTestSmtp();
    const id = await sendingCampaign(60, { batchSize: 20, intervalSeconds: 720 });
    const { engine: e } = engine({ pool: 3 });
    e.on('event', (ev) => {
      if (ev.type === 'batch_finished') smtp.dropAllConnections();
    });
    const [r] = await e.run([id]);
    expect(r!.outcome).toBe('completed');
    expect(await counts(id)).toMatchObject({ sent: 60, failed: 0, in_doubt: 0, pending: 0 });
    expect(assertNoDuplicates()).toBe(60);
  });
});

describe('stopping', () => {
  it('stop(): no new claims, in-flight recorded, lease released', async () => {
    smtp = await startTestSmtp();
    const id = await sendingCampaign(100, { batchSize: 500 });
    const { engine: e } = engine({ pool: 3 });
    let receivedAtStop = 0;
    e.on('event', (ev) => {
      if (ev.type === 'sent' && smtp.received.length >= 10 && !e.stopping) {
        receivedAtStop = smtp.received.length;
        e.stop();
      }
    });
    const [r] = await e.run([id]);
    expect(r!.outcome).toBe('stopped');
    const c = await counts(id);
    expect(c.sending).toBe(0);
    expect(c.sent).toBe(smtp.received.length);
    // nothing claimed after stop(): at most the pool was still in flight
    expect(c.sent).toBeLessThanOrEqual(receivedAtStop + 3);
    expect(await store.listRunners(id)).toEqual([]);
  });
});
describe('what the engine composes for each transport', () => {
  it('a JSON API (Resend) gets the rendered parts and no MIME, composed for nothing; SMTP gets the MIME', async () => {
    const api = await startFakeResend({ apiKey: 're_engine' });
    try {
      const resend = createTransport(parseTransportUrl(`resend://re_engine?endpoint=${api.endpoint}&pool=2`));
      transports.push(resend);
      expect(resend.takes).toBe('parts');
      // The real transport, watched: what the engine hands it.
      const handed: OutgoingEnvelope[] = [];
      const watched: Transport = Object.assign(Object.create(resend) as Transport, {
        send: (m: OutgoingEnvelope) => (handed.push(m), resend.send(m)),
      });
      const id = await sendingCampaign(3);
      const [r] = await new Engine({ store, transport: watched, clock, pollMs: 60_000 }).run([id]);
      expect(r).toMatchObject({ outcome: 'completed', sent: 3 });
      expect(api.deliveries).toHaveLength(3);
      expect(handed).toHaveLength(3);
      for (const m of handed) {
        expect(m.raw).toBeNull();
        expect(m.parts).toMatchObject({ to: m.to, subject: expect.any(String), html: expect.stringContaining('<') });
      }

      smtp = await startTestSmtp();
      const viaSmtp = transport(1);
      expect(viaSmtp.takes).toBe('mime');
      const other = await sendingCampaign(1, { name: 'by smtp' });
      const [s] = await new Engine({ store, transport: viaSmtp, clock, pollMs: 60_000 }).run([other]);
      expect(s).toMatchObject({ outcome: 'completed', sent: 1 });
      expect(smtp.received[0]!.raw.toString()).toMatch(/Content-Type: multipart\/alternative/);
    } finally {
      await api.close();
    }
  });
});
});

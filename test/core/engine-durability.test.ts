/**
 * A claim is on disk before any byte of its message leaves (issue 10: the flush of the claim's
 * commit overlaps the SMTP envelope instead of preceding it). The real store and a real SMTP
 * server; the disk is made slow, or made to fail, by holding or rejecting the `durable` promise
 * the store hands with each step — what a slow or full disk does to the WAL flush. On PostgreSQL
 * a step is answered before its COMMIT is: a COMMIT that really fails, too.
 */
import postgres from 'postgres';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Engine } from '../../src/core/engine.js';
import type { Store } from '../../src/core/store.js';
import { createTransport, parseTransportUrl, type Transport } from '../../src/core/transport/index.js';
import { backends, createTestDatabase, pgUrl, rawRows, type TestDatabase } from '../helpers/backends.js';
import { VirtualClock } from '../helpers/clock.js';
import { startTestSmtp, type TestSmtp } from '../helpers/smtp-server.js';
import { addRecipients, settings } from '../helpers/store.js';

/** `store`, with the durability of every step that claimed passed through `disk` first. */
function withDisk(store: Store, disk: (durable: Promise<void>) => Promise<void>): Store {
  return new Proxy(store, {
    get(target, prop) {
      if (prop === 'stepEarly')
        return async (...args: Parameters<Store['stepEarly']>) => {
          const step = await target.stepEarly(...args);
          return step.claim?.kind === 'claimed' ? { ...step, durable: disk(step.durable) } : step;
        };
      const value = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

describe.each(backends())('claims on disk before data, on %s', (backend) => {
  let db: TestDatabase;
  let store: Store;
  let smtp: TestSmtp;
  let transport: Transport;
  const clock = new VirtualClock();

  beforeEach(async () => {
    db = await createTestDatabase(backend);
    store = await db.open();
  });
  afterEach(async () => {
    await transport?.close();
    await smtp?.close();
    await db.cleanup();
  });

  async function sendingCampaign(n: number): Promise<number> {
    const c = await store.createCampaign(settings({ batchSize: 100 }), clock.now());
    await addRecipients(store, c.id, n);
    await store.transition(c.id, ['draft'], 'sending', clock.now());
    return c.id;
  }

  it('the envelope goes out while the claim is flushed; the message only once the flush is done', async () => {
    let flushed = false;
    let release!: () => void;
    const slowDisk = new Promise<void>((resolve) => (release = resolve));
    let rcptBeforeFlush = 0;
    smtp = await startTestSmtp({
      behaviour: () => {
        if (!flushed) rcptBeforeFlush++;
        return 'accept';
      },
      // The server has said 354: the client may send its message now — the disk finishes here.
      onDataCommand: () => {
        if (!flushed) {
          flushed = true;
          release();
        }
      },
    });
    transport = createTransport(parseTransportUrl(`${smtp.url}?pool=1`));
    const id = await sendingCampaign(1);
    const slow = withDisk(store, (durable) => durable.then(() => slowDisk));
    const [r] = await new Engine({ store: slow, transport, clock, pollMs: 60_000 }).run([id]);
    expect(r).toMatchObject({ outcome: 'completed', sent: 1 });
    // MAIL FROM and RCPT TO reached the server before the claim's flush ended (the overlap)…
    expect(rcptBeforeFlush).toBe(1);
    // …and the message went out once, whole.
    expect(smtp.received).toHaveLength(1);
    expect(smtp.stats.dataBytes).toBe(smtp.received[0]!.raw.length);
  });

  it('a claim the disk refuses is abandoned mid-DATA with no byte of the message sent, then sent once when the disk recovers', async () => {
    let failed = false;
    let refuse!: (err: Error) => void;
    const fullDisk = new Promise<void>((_resolve, reject) => (refuse = reject));
    fullDisk.catch(() => undefined);
    smtp = await startTestSmtp({
      // The first transaction has reached DATA: only now does the disk say it is full, so a
      // client that did not wait for the flush would already be sending the message.
      onDataCommand: () => {
        if (!failed) {
          failed = true;
          refuse(new Error('database test.db: no space left on device'));
        }
      },
    });
    transport = createTransport(parseTransportUrl(`${smtp.url}?pool=1`));
    const id = await sendingCampaign(1);
    let steps = 0;
    const flaky = withDisk(store, (durable) => (++steps === 1 ? durable.then(() => fullDisk) : durable));
    const [r] = await new Engine({ store: flaky, transport, clock, pollMs: 60_000, storePatienceMs: 600_000 }).run([id]);
    expect(r).toMatchObject({ outcome: 'completed', sent: 1 });
    // Two transactions reached DATA; the first carried no byte of the message.
    expect(smtp.stats.dataCommands).toBe(2);
    expect(smtp.received).toHaveLength(1);
    expect(smtp.stats.dataBytes).toBe(smtp.received[0]!.raw.length);
    // The abandoned attempt does not count: one attempt, sent.
    const recipient = (await store.listRecipients(id, { limit: 10, offset: 0 })).rows[0]!;
    expect(recipient).toMatchObject({ status: 'sent', attempts: 1 });
  });
});

describe.skipIf(!pgUrl() && process.env.CI !== 'true')('a step whose COMMIT fails on postgres', () => {
  let db: TestDatabase;
  let smtp: TestSmtp;
  let transport: Transport;
  const clock = new VirtualClock();
  afterEach(async () => {
    await transport?.close();
    await smtp?.close();
    await db?.cleanup();
  });

  it('its claim is abandoned with no byte of the message sent, its answers are recorded by a later step, and each recipient is sent once', async () => {
    db = await createTestDatabase('postgres');
    const schema = `"${new URL(db.location).searchParams.get('schema')!}"`;
    const store = await db.open();
    const c = await store.createCampaign(settings({ batchSize: 100 }), clock.now());
    await addRecipients(store, c.id, 2);
    await store.transition(c.id, ['draft'], 'sending', clock.now());
    // A real failed COMMIT: a deferred trigger, checked at COMMIT, refuses the first transaction
    // that records a 'sent' attempt — the step that records the first answer and claims the
    // second recipient. A sequence counts across the rollback, so only that one fails.
    const admin = postgres(pgUrl()!.replace(/\?.*$/, ''), { onnotice: () => undefined, max: 1 });
    try {
      await admin.unsafe(`
        CREATE SEQUENCE ${schema}.sent_commits;
        CREATE FUNCTION ${schema}.fail_first_sent() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF NEW.type = 'sent' AND nextval('${schema.replace(/"/g, '')}.sent_commits') = 1 THEN
            RAISE EXCEPTION 'test: this COMMIT fails';
          END IF;
          RETURN NULL;
        END $$;
        CREATE CONSTRAINT TRIGGER fail_first_sent AFTER INSERT ON ${schema}.events
          DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ${schema}.fail_first_sent();`);
    } finally {
      await admin.end({ timeout: 5 });
    }
    smtp = await startTestSmtp();
    transport = createTransport(parseTransportUrl(`${smtp.url}?pool=1`));
    // A deadline on the virtual clock: an answer lost with the COMMIT would leave its recipient
    // `sending` and the campaign never complete.
    const [r] = await new Engine({ store, transport, clock, pollMs: 1_000, storePatienceMs: 600_000, maxRuntimeMs: 600_000 }).run([c.id]);
    expect(r).toMatchObject({ outcome: 'completed', sent: 2 });
    // The failed step had started the second recipient's transaction: it reached DATA, and its
    // message never left. Each message went out once, whole.
    expect(smtp.stats.dataCommands).toBe(3);
    expect(smtp.received).toHaveLength(2);
    expect(smtp.stats.dataBytes).toBe(smtp.received.reduce((n, m) => n + m.raw.length, 0));
    // The first answer, lost with that COMMIT, was recorded by the next step.
    const recipients = (await store.listRecipients(c.id, { limit: 10, offset: 0 })).rows;
    expect(recipients.map((x) => [x.status, x.attempts])).toEqual([
      ['sent', 1],
      ['sent', 1],
    ]);
    const sentRows = (await rawRows(db, 'events')).filter((e) => e.type === 'sent');
    expect(sentRows.map((e) => Number(e.recipient_id)).sort()).toEqual(recipients.map((x) => x.id).sort());
  });
});

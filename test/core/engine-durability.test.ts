/**
 * A claim is on disk before any byte of its message leaves (issue 10: the flush of the claim's
 * commit overlaps the SMTP envelope instead of preceding it). The real store and a real SMTP
 * server; the disk is made slow, or made to fail, by holding or rejecting the `durable` promise
 * the store hands with each step — what a slow or full disk does to the WAL flush.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Engine } from '../../src/core/engine.js';
import type { Store } from '../../src/core/store.js';
import { createTransport, parseTransportUrl, type Transport } from '../../src/core/transport/index.js';
import { backends, createTestDatabase, type TestDatabase } from '../helpers/backends.js';
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

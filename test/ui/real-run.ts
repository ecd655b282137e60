/**
 * Campaigns whose failures come from a real run: the engine sends through a real SMTP server
 * (smtp-server on 127.0.0.1) that refuses, defers or cuts off chosen recipients, and records
 * everything in the test's real SQLite file, on the real clock (the pictures read "the last hour").
 */
import { Engine } from '../../src/core/engine.js';
import type { SqliteStore } from '../../src/core/store/sqlite.js';
import { createTransport, parseTransportUrl } from '../../src/core/transport/index.js';
import type { CampaignSettings } from '../../src/core/types.js';
import { type Behaviour, startTestSmtp } from '../helpers/smtp-server.js';
import { createCampaign } from './harness.js';

export const FAILURES: Record<string, Behaviour> = {
  // permanent refusal of an unknown mailbox: failed at once, address suppressed
  'r1@example.com': { rcptReply: '550 5.1.1 <r1@example.com>: user unknown' },
  // a temporary refusal every time: retried, then failed when the attempts are used up
  'r4@example.com': { rcptReply: '451 4.7.1 greylisted, try again later' },
  // the message went out and the connection died before the answer: in doubt
  'r7@example.com': 'drop-after-data',
  // refused after the data: failed with the server's answer kept
  'r9@example.com': { dataReply: '554 5.7.1 message rejected as spam' },
  'r10@example.com': 'drop-after-data',
};

/**
 * Creates a campaign of `recipients` (r0…), starts it and runs it to the end through a real SMTP
 * server behaving as `behaviour` says per address (default FAILURES); max 2 attempts, no delay
 * between them, batches of `batchSize` with no interval. Returns the campaign id.
 */
export async function runWithFailures(
  store: SqliteStore,
  options: { recipients?: number; batchSize?: number; behaviour?: (rcpt: string) => Behaviour; settings?: Partial<CampaignSettings> } = {},
): Promise<number> {
  const smtp = await startTestSmtp({ behaviour: ({ rcpt }) => options.behaviour?.(rcpt) ?? FAILURES[rcpt.toLowerCase()] ?? 'accept' });
  const transport = createTransport(parseTransportUrl(smtp.url));
  try {
    const c = await createCampaign(
      store,
      { name: 'With failures', batchSize: options.batchSize ?? 4, intervalSeconds: 0, maxAttempts: 2, retryDelaySeconds: 0, ...options.settings },
      options.recipients ?? 12,
    );
    await store.transition(c.id, ['draft'], 'sending', Date.now());
    const engine = new Engine({ store, transport, pollMs: 20, drainTimeoutMs: 5000 });
    const [result] = await engine.run([c.id]);
    if (result?.outcome !== 'completed') throw new Error(`the run ended ${result?.outcome}: ${result?.error}`);
    return c.id;
  } finally {
    await transport.close();
    await smtp.close();
  }
}

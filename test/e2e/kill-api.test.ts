/**
 * Exactly once through an HTTPS email API, the hard way: the real CLI sending through a local
 * Resend (which deduplicates by idempotency key, as its documentation says), SIGKILLed at random
 * moments, restarted each time. A recipient whose request was in flight at a kill is resent
 * under the same key, which the provider answers with the original reply: in the end every
 * recipient is `sent`, none `in_doubt`, and the provider delivered each one once.
 *
 * The same chaos through a provider with no idempotency (Postmark) delivers nothing twice either,
 * but what was in flight at a kill stays `in_doubt` — which is the difference keys make.
 */
import { spawn } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../src/core/store/sqlite.js';
import { CLI, tempDir } from '../helpers/cli.js';
import type { FakeApi } from '../helpers/providers/fake-api.js';
import { startFakePostmark } from '../helpers/providers/postmark.js';
import { startFakeResend } from '../helpers/providers/resend.js';
import { startTestSmtp, type TestSmtp } from '../helpers/smtp-server.js';
import { addRecipients, settings } from '../helpers/store.js';
import { prng } from '../helpers/prng.js';

const RECIPIENTS = 600;
const KILLS = 12;
const POOL = 3;

/** Runs the CLI; after `killAfter` requests have reached the provider, SIGKILLs it. */
function run(db: string, transport: string, api: FakeApi, killAfter: number | null): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'run', '--campaign', '1', '--db', db, '--transport', transport, '--log-format', 'json'], {
      env: { ...process.env, NO_COLOR: '1' },
      stdio: ['ignore', 'ignore', 'ignore'],
    });
    if (killAfter !== null) {
      const target = api.requests.length + killAfter;
      void api.whenRequests(target).then(() => {
        if (child.exitCode === null) child.kill('SIGKILL');
      });
    }
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal }));
  });
}

describe('kill -9 while sending through an HTTPS email API', () => {
  let t: ReturnType<typeof tempDir>;
  let api: FakeApi | null = null;
  let smtp: TestSmtp | null = null;
  beforeEach(async () => {
    t = tempDir('aremko-kill-api-');
    const store = openSqliteStore(t.db);
    const c = await store.createCampaign(settings({ batchSize: 1000, intervalSeconds: 0 }), Date.now());
    await addRecipients(store, c.id, RECIPIENTS);
    await store.transition(c.id, ['draft'], 'sending', Date.now());
    await store.close();
  });
  afterEach(async () => {
    await api?.close();
    await smtp?.close();
    api = null;
    smtp = null;
    t.cleanup();
  });

  async function chaos(transport: string, seed: number) {
    const random = prng(seed);
    let kills = 0;
    for (let i = 0; i < KILLS; i++) {
      const r = await run(t.db, transport, api!, 1 + Math.floor(random() * 60));
      if (r.signal === 'SIGKILL') kills++;
      else break; // it finished before its kill
    }
    const last = await run(t.db, transport, api!, null);
    expect(last.code).toBe(0);
    const s = openSqliteStore(t.db);
    const [summary] = await s.summaries([1]);
    const requeued = (await s.listEvents(1, { limit: 100_000 })).filter((e) => e.type === 'requeued').length;
    await s.close();
    const perRecipient = new Map<string, number>();
    for (const d of api!.deliveries) perRecipient.set(d.to.toLowerCase(), (perRecipient.get(d.to.toLowerCase()) ?? 0) + 1);
    return { kills, summary: summary!, perRecipient, requeued };
  }

  it('Resend (idempotency keys): every recipient sent, none in doubt, each delivered once', async () => {
    // a slow answer now and then, so that kills find requests in flight
    api = await startFakeResend({ apiKey: 're_kill_test', behaviour: ({ to }) => (Number(/\d+/.exec(to)?.[0]) % 7 === 0 ? 'slow' : 'accept'), slowMs: 300 });
    const { kills, summary, perRecipient, requeued } = await chaos(`resend://re_kill_test?endpoint=${api.endpoint}&pool=${POOL}`, 20261201);
    expect(kills).toBeGreaterThanOrEqual(KILLS - 2);
    expect(summary.campaign.status).toBe('completed');
    expect(summary.counts).toMatchObject({ total: RECIPIENTS, sent: RECIPIENTS, in_doubt: 0, failed: 0 });
    expect([...perRecipient].filter(([, n]) => n > 1)).toEqual([]);
    expect(perRecipient.size).toBe(RECIPIENTS);
    console.log(`kill test (Resend): ${kills} kills, ${requeued} resent under their key, ${(api as { replayed?: number }).replayed ?? 0} answered from the provider's idempotency store, 0 in doubt`);
  }, 240_000);

  it('killed while Resend held its requests, then run through SMTP: what Resend may have delivered is in doubt, not sent again', async () => {
    // Resend accepts each request at once and answers only after 30 s: at the kill, the first
    // POOL recipients are delivered there and still `sending` here.
    api = await startFakeResend({ apiKey: 're_switch_test', behaviour: () => 'slow', slowMs: 30_000 });
    const killed = await run(t.db, `resend://re_switch_test?endpoint=${api.endpoint}&pool=${POOL}`, api, POOL);
    expect(killed.signal).toBe('SIGKILL');
    expect(api.deliveries).toHaveLength(POOL);
    // The operator switches to SMTP. The new run takes the dead one over: resending those through
    // Resend would be safe (same key), through SMTP it would be a second delivery.
    smtp = await startTestSmtp();
    const after = await run(t.db, smtp.url, api, null);
    expect(after.code).toBe(0);
    const atResend = new Set(api.deliveries.map((d) => d.to.toLowerCase()));
    const bySmtp = smtp.received.flatMap((m) => m.to.map((to) => to.toLowerCase()));
    expect(bySmtp.filter((to) => atResend.has(to))).toEqual([]);
    expect(bySmtp).toHaveLength(RECIPIENTS - POOL);
    const s = openSqliteStore(t.db);
    const [summary] = await s.summaries([1]);
    const { rows } = await s.listRecipients(1, { statuses: ['in_doubt'], limit: 100, offset: 0 });
    await s.close();
    expect(summary!.counts).toMatchObject({ total: RECIPIENTS, sent: RECIPIENTS - POOL, in_doubt: POOL, pending: 0 });
    expect(new Set(rows.map((r) => r.email.toLowerCase()))).toEqual(atResend);
    expect(rows.every((r) => /a transport that does not/.test(r.lastError ?? ''))).toBe(true);
  }, 120_000);

  it('Postmark (no idempotency): nothing delivered twice; what was in flight at a kill is in doubt', async () => {
    api = await startFakePostmark({ token: 'pm-kill-test', behaviour: ({ to }) => (Number(/\d+/.exec(to)?.[0]) % 7 === 0 ? 'slow' : 'accept'), slowMs: 300 });
    const { kills, summary, perRecipient } = await chaos(`postmark://pm-kill-test?endpoint=${api.endpoint}&pool=${POOL}`, 20261202);
    expect(summary.campaign.status).toBe('completed');
    expect([...perRecipient].filter(([, n]) => n > 1)).toEqual([]);
    expect(summary.counts.sent + summary.counts.in_doubt).toBe(RECIPIENTS);
    expect(summary.counts.in_doubt).toBeLessThanOrEqual(kills * POOL);
    console.log(`kill test (Postmark): ${kills} kills, ${summary.counts.in_doubt} in doubt (bound ${kills * POOL})`);
  }, 240_000);
});

/**
 * `run` end to end for what other files test piecemeal: every message DKIM-signed as it goes
 * out (verified independently); a stored campaign whose templates cannot render is paused with
 * the reason, not failed recipient by recipient; a provider's 429 holds the whole campaign
 * without using anyone's attempts.
 */
import Database from 'better-sqlite3';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../src/core/store/sqlite.js';
import { runCli, tempDir } from '../helpers/cli.js';
import { makeKey, verifyDkim } from '../helpers/dkim.js';
import { startFakeResend } from '../helpers/providers/resend.js';
import type { FakeApi } from '../helpers/providers/fake-api.js';
import { startTestSmtp, type TestSmtp } from '../helpers/smtp-server.js';
import { addRecipients, settings } from '../helpers/store.js';

let t: ReturnType<typeof tempDir>;
let smtp: TestSmtp | null = null;
let api: FakeApi | null = null;
beforeEach(() => (t = tempDir()));
afterEach(async () => {
  await smtp?.close();
  await api?.close();
  smtp = null;
  api = null;
  t.cleanup();
});

async function sendingCampaign(n: number, overrides = {}): Promise<number> {
  const store = openSqliteStore(t.db);
  const c = await store.createCampaign(settings(overrides), Date.now());
  await addRecipients(store, c.id, n);
  await store.transition(c.id, ['draft'], 'sending', Date.now());
  await store.close();
  return c.id;
}

describe('run', () => {
  it('signs every message with the DKIM key from the environment (ed25519), verified by an independent verifier', async () => {
    const id = await sendingCampaign(3, { from: 'Aremko Spa <hola@aremko.cl>' });
    const key = makeKey(t.dir, 'ed25519');
    const outbox = join(t.dir, 'out');
    const r = await runCli(['run', '--campaign', String(id), '--db', t.db, '--transport', `outbox:${outbox}`], {
      env: { AREMKO_MAIL_DKIM_KEY: key.file, AREMKO_MAIL_DKIM_SELECTOR: 'mail2026' },
    });
    expect(r.code).toBe(0);
    const files = readdirSync(outbox).filter((f) => f.endsWith('.eml'));
    expect(files).toHaveLength(3);
    for (const f of files) {
      const results = await verifyDkim(readFileSync(join(outbox, f)), { 'mail2026._domainkey.aremko.cl': key.record });
      expect(results).toEqual([{ result: 'pass', domain: 'aremko.cl', selector: 'mail2026', algorithm: 'ed25519-sha256', canonicalization: 'relaxed/relaxed' }]);
    }
    const dump = JSON.stringify(new Database(t.db, { readonly: true }).prepare('SELECT * FROM events').all());
    expect(dump).not.toContain(readFileSync(key.file, 'utf8').split('\n')[1]!); // the key is never stored
  });

  it('a stored campaign whose template cannot render is paused with the reason; no recipient failed; other campaigns go on', async () => {
    const bad = await sendingCampaign(3, { name: 'bad' });
    const good = await sendingCampaign(0, { name: 'good' });
    const store = openSqliteStore(t.db);
    const session = await store.beginImport(good);
    await session.add([{ line: 2, email: 'g@example.com', fields: { nombre: 'G', email: 'g@example.com' } }]);
    await session.commit();
    await store.close();
    // written by hand (or by a version that did not check): a partial, which Handlebars cannot render
    const raw = new Database(t.db);
    raw.prepare(`UPDATE campaigns SET html_tpl = '<p>{{> firma}}</p>' WHERE id = ?`).run(bad);
    raw.close();
    smtp = await startTestSmtp();
    const r = await runCli(['--headless', '--auto', '--db', t.db, '--transport', smtp.url]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/campaign 1: could not work on it: its templates cannot render \(html template: .*partial.*\); it was paused/);
    const [b, g] = JSON.parse((await runCli(['status', '--json', '--db', t.db])).stdout);
    expect(b).toMatchObject({ status: 'paused', counts: { pending: 3, failed: 0, sending: 0 } });
    expect(b.last_error).toMatch(/templates cannot render/);
    expect(g).toMatchObject({ status: 'completed', counts: { sent: 1 } });
  });

  it('a 429 from the provider holds the campaign until the time it gave, with no attempt used', async () => {
    const id = await sendingCampaign(4, { batchSize: 10 });
    let limited = false;
    api = await startFakeResend({
      apiKey: 're_429',
      retryAfterSeconds: 30,
      behaviour: ({ to }) => (to === 'r1@example.com' && !limited ? ((limited = true), 'rate-limit') : 'accept'),
    });
    const r = await runCli(['run', '--campaign', String(id), '--max-runtime', '10s', '--db', t.db, '--transport', `resend://re_429?endpoint=${api.endpoint}`]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/throttled .*the provider asked to slow down: no sends until/);
    const s = JSON.parse((await runCli(['status', String(id), '--json', '--db', t.db])).stdout);
    expect(s.waiting).toMatchObject({ reason: 'rate' });
    expect(Date.parse(s.waiting.until) - Date.now()).toBeGreaterThan(15_000);
    expect(s.counts).toMatchObject({ sent: 1, pending: 3, failed: 0 });
    const store = openSqliteStore(t.db);
    expect((await store.getRecipient(id, 'r1@example.com'))!.attempts).toBe(0); // not an attempt
    await store.close();
  });
});

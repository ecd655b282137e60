/** `run` / `--headless` as cron and operators use it: real processes, real SMTP server, real databases. */
import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CampaignSettings } from '../../src/core/types.js';
import { backends, createTestDatabase, rawRows, type TestDatabase } from '../helpers/backends.js';
import { runCli, startCli } from '../helpers/cli.js';
import { startTestSmtp, type TestSmtp } from '../helpers/smtp-server.js';
import { addRecipients, settings } from '../helpers/store.js';

describe.each(backends())('run on %s', (backend) => {
let db: TestDatabase;
let t: { dir: string; db: string };
let smtp: TestSmtp | null = null;
beforeEach(async () => {
  db = await createTestDatabase(backend);
  t = { dir: db.dir, db: db.location };
});
afterEach(async () => {
  await smtp?.close();
  smtp = null;
  await db.cleanup();
});

async function sendingCampaign(n: number, overrides: Partial<CampaignSettings> = {}, start = 0): Promise<number> {
  const store = await db.open();
  const c = await store.createCampaign(settings(overrides), Date.now());
  await addRecipients(store, c.id, n, start);
  await store.transition(c.id, ['draft'], 'sending', Date.now());
  await store.close();
  return c.id;
}

const cli = (args: string[], env: Record<string, string | undefined> = {}) => runCli([...args, '--db', t.db], { env });
async function status(id: number) {
  const r = await cli(['status', String(id), '--json']);
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout);
}

describe('run: usage and configuration', () => {
  it('needs --campaign or --auto (exit 2)', async () => {
    const r = await cli(['run', '--transport', 'outbox:' + t.dir]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--campaign <id> or --auto/);
  });

  it('a bad AREMKO_MAIL_LEASE_SECONDS is a configuration error (exit 2) naming it, also when nothing is sending or due', async () => {
    for (const value of ['1', '3601', '1.5', 'soon']) {
      const r = await cli(['--headless', '--auto', '--max-runtime', '4m'], { AREMKO_MAIL_TRANSPORT: `outbox:${t.dir}/o`, AREMKO_MAIL_LEASE_SECONDS: value });
      expect(r.code, value).toBe(2);
      expect(r.stderr).toMatch(/AREMKO_MAIL_LEASE_SECONDS: .* from 2 to 3600/);
    }
  });

  it('without a transport says how to set one and exits 2', async () => {
    const id = await sendingCampaign(1);
    const r = await cli(['run', '--campaign', String(id)], { AREMKO_MAIL_TRANSPORT: undefined });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/AREMKO_MAIL_TRANSPORT/);
    expect((await status(id)).counts.pending).toBe(1);
  });

  it('a draft campaign is not sent: exit 1 with the hint to start it', async () => {
    const store = await db.open();
    const c = await store.createCampaign(settings(), Date.now());
    await addRecipients(store, c.id, 2);
    await store.close();
    const r = await cli(['run', '--campaign', String(c.id), '--transport', `outbox:${t.dir}/out`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/draft.*aremko-mail start 1/);
  });
});

describe('the cron line', () => {
  it('--headless --auto --max-runtime: each run sends what is due and exits; the stored interval holds across runs', async () => {
    smtp = await startTestSmtp();
    const a = await sendingCampaign(30, { batchSize: 10, intervalSeconds: 720 });
    const b = await sendingCampaign(5, { batchSize: 10, name: 'second' }, 100);
    const env = { AREMKO_MAIL_TRANSPORT: smtp.url };

    const first = await cli(['--headless', '--auto', '--max-runtime', '4m'], env);
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/campaign 1: nothing more due before --max-runtime/);
    expect(first.stdout).toMatch(/campaign 2: completed/);
    const s1 = await status(a);
    expect(s1).toMatchObject({ status: 'sending', batches_sent: 1, lease: null, counts: { sent: 10, pending: 20 } });
    expect(Date.parse(s1.next_batch_at)).toBeGreaterThan(Date.now() + 600_000);
    expect((await status(b)).status).toBe('completed');

    const second = await cli(['--headless', '--auto', '--max-runtime', '4m'], env);
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/waiting until .* \(interval\)/);
    expect((await status(a)).counts.sent).toBe(10);

    const third = await cli(['run', '--auto', '--max-runtime', '4m', '--ignore-schedule'], env);
    expect(third.code).toBe(0);
    expect((await status(a)).counts.sent).toBe(20);
    expect(smtp.received).toHaveLength(25);
  });

  it('--log-format json prints one JSON object per line', async () => {
    smtp = await startTestSmtp();
    const id = await sendingCampaign(3);
    const r = await cli(['run', '--campaign', String(id), '--log-format', 'json', '--transport', smtp.url]);
    expect(r.code).toBe(0);
    const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(events.filter((e) => e.type === 'sent')).toHaveLength(3);
    expect(events.at(-1)).toMatchObject({ type: 'run_finished', outcome: 'completed', sent: 3 });
  });

  it('nothing sending: says so and exits 0', async () => {
    const r = await cli(['--headless', '--auto'], { AREMKO_MAIL_TRANSPORT: `outbox:${t.dir}/o` });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/no campaign is sending/);
  });
});

describe('when the mail server is not there', () => {
  it('server down: exit 75, nothing failed, the reason in status', async () => {
    const down = await startTestSmtp();
    const url = down.url;
    await down.close();
    const id = await sendingCampaign(4);
    const r = await cli(['run', '--campaign', String(id), '--transport', url]);
    expect(r.code).toBe(75);
    const s = await status(id);
    expect(s.counts).toMatchObject({ pending: 4, failed: 0, sending: 0 });
    expect(s.last_error).toMatch(/unavailable/);
  });

  it('login refused: exit 75, and the password is in no output and nowhere in the database file', async () => {
    smtp = await startTestSmtp({ auth: { user: 'mailer', pass: 'good' } });
    const id = await sendingCampaign(2);
    const url = smtp.url.replace('smtp://', 'smtp://mailer:Pa55-Hidden@');
    const r = await cli(['run', '--campaign', String(id), '--transport', url]);
    expect(r.code).toBe(75);
    expect(r.stdout + r.stderr).not.toContain('Pa55-Hidden');
    const logs = await cli(['logs', String(id), '--json']);
    expect(logs.stdout).not.toContain('Pa55-Hidden');
    if (backend === 'sqlite') {
      for (const f of [t.db, t.db + '-wal']) {
        try {
          expect(readFileSync(f).includes('Pa55-Hidden')).toBe(false);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        }
      }
    }
    for (const table of ['events', 'campaigns', 'recipients', 'runners'] as const) expect(JSON.stringify(await rawRows(db, table))).not.toContain('Pa55-Hidden');
    expect((await status(id)).counts).toMatchObject({ pending: 2, failed: 0 });
  });
});

describe('other processes', () => {
  it('pause from another shell stops the runner before its next claim; resume finishes with no repeats', async () => {
    smtp = await startTestSmtp();
    const id = await sendingCampaign(300, { batchSize: 1000 });
    const run = startCli(['run', '--campaign', String(id), '--db', t.db, '--transport', `${smtp.url}?pool=2`]);
    await run.waitForLine((l) => /sent to r20@/.test(l));
    const paused = await cli(['pause', String(id)]);
    expect(paused.code).toBe(0);
    const sentWhenPaused = smtp.received.length;
    const result = await run.done;
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/campaign 1: paused/);
    const s = await status(id);
    expect(s.status).toBe('paused');
    expect(s.counts.sending).toBe(0);
    expect(s.counts.sent).toBeLessThanOrEqual(sentWhenPaused + 2 + 1);

    expect((await cli(['resume', String(id)])).code).toBe(0);
    const rest = await cli(['run', '--campaign', String(id), '--transport', `${smtp.url}?pool=2`]);
    expect(rest.code).toBe(0);
    expect((await status(id)).counts.sent).toBe(300);
    expect(new Set(smtp.received.map((m) => m.messageId)).size).toBe(300);
    expect(smtp.received).toHaveLength(300);
  });

  it('three runners started at once share the campaign: each recipient once, and more than one of them sends', async () => {
    smtp = await startTestSmtp();
    const id = await sendingCampaign(300, { batchSize: 1000 });
    const runs = [1, 2, 3].map(() => startCli(['run', '--campaign', String(id), '--db', t.db, '--transport', `${smtp!.url}?pool=2`]));
    const results = await Promise.all(runs.map((r) => r.done));
    expect(results.map((r) => r.code)).toEqual([0, 0, 0]);
    const sentBy = results.map((r) => r.stdout.split('\n').filter((l) => / sent to /.test(l)).length);
    expect(sentBy.reduce((a, b) => a + b, 0)).toBe(300);
    expect(sentBy.filter((n) => n > 0).length).toBeGreaterThan(1);
    expect((await status(id)).counts.sent).toBe(300);
    expect(smtp.received).toHaveLength(300);
    expect(new Set(smtp.received.map((m) => m.messageId)).size).toBe(300);
  });

  it('SIGTERM: no new claims, in-flight sends recorded, lease released, exit 0', async () => {
    smtp = await startTestSmtp();
    const id = await sendingCampaign(300, { batchSize: 1000 });
    const run = startCli(['run', '--campaign', String(id), '--db', t.db, '--transport', `${smtp.url}?pool=3`]);
    await run.waitForLine((l) => /sent to r10@/.test(l));
    run.child.kill('SIGTERM');
    const result = await run.done;
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/stopped by signal/);
    const s = await status(id);
    expect(s.lease).toBeNull();
    expect(s.runners).toEqual([]);
    expect(s.counts.sending).toBe(0);
    expect(s.counts.in_doubt).toBe(0);
    expect(s.counts.sent).toBe(smtp.received.length);
  });
});
});

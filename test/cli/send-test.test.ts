/** `send-test` and `resolve` as an operator runs them. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../src/core/store/sqlite.js';
import { runCli, tempDir } from '../helpers/cli.js';
import { startTestSmtp, type TestSmtp } from '../helpers/smtp-server.js';
import { addRecipients, settings } from '../helpers/store.js';

let t: ReturnType<typeof tempDir>;
let smtp: TestSmtp;
beforeEach(async () => {
  t = tempDir();
  smtp = await startTestSmtp();
});
afterEach(async () => {
  await smtp.close();
  t.cleanup();
});

const cli = (args: string[]) => runCli([...args, '--db', t.db], { env: { AREMKO_MAIL_TRANSPORT: smtp.url } });

async function campaign(status: 'draft' | 'sending' = 'draft'): Promise<number> {
  const store = openSqliteStore(t.db);
  const c = await store.createCampaign(settings({ subject: 'Hola {{nombre}} — prueba' }), Date.now());
  await addRecipients(store, c.id, 3);
  if (status === 'sending') await store.transition(c.id, ['draft'], 'sending', Date.now());
  await store.close();
  return c.id;
}

describe('send-test', () => {
  it('sends one rendered message to the given address; no recipient changes', async () => {
    const id = await campaign();
    const r = await cli(['send-test', String(id), '--to', 'yo@aremko.cl', '--email', 'r1@example.com']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^sent to yo@aremko\.cl via smtp:\/\/127\.0\.0\.1:\d+/);
    expect(smtp.received).toHaveLength(1);
    expect(smtp.received[0]!.to).toEqual(['yo@aremko.cl']);
    expect(smtp.received[0]!.raw.toString()).toContain('Nombre 1');
    const status = JSON.parse((await cli(['status', String(id), '--json'])).stdout);
    expect(status.counts).toMatchObject({ pending: 3, sent: 0, sending: 0 });
    expect(status.status).toBe('draft');
  });

  it('refuses an address that is not one (exit 2) and an unknown recipient (exit 1)', async () => {
    const id = await campaign();
    expect((await cli(['send-test', String(id), '--to', 'not-an-address'])).code).toBe(2);
    const r = await cli(['send-test', String(id), '--to', 'yo@aremko.cl', '--email', 'nobody@example.com']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/nobody@example\.com is not a recipient of campaign 1/);
    expect(smtp.received).toHaveLength(0);
  });

  it('with the server down: exit 75', async () => {
    const id = await campaign();
    await smtp.close();
    const r = await cli(['send-test', String(id), '--to', 'yo@aremko.cl']);
    expect(r.code).toBe(75);
    smtp = await startTestSmtp();
  });
});

describe('resolve', () => {
  it('--resend puts in_doubt recipients back to pending and reopens a completed campaign; --mark-sent marks them sent', async () => {
    const id = await campaign('sending');
    const store = openSqliteStore(t.db);
    store.raw.prepare(`UPDATE recipients SET status = 'in_doubt' WHERE campaign_id = ?`).run(id);
    store.raw.prepare(`UPDATE campaigns SET status = 'completed' WHERE id = ?`).run(id);
    await store.close();

    expect((await cli(['resolve', String(id)])).code).toBe(2);
    const resend = await cli(['resolve', String(id), '--resend', '--json']);
    expect(resend.code).toBe(0);
    expect(JSON.parse(resend.stdout)).toMatchObject({ resolved: 3, mode: 'resend', campaign: { status: 'sending', counts: { pending: 3, in_doubt: 0 } } });

    const again = openSqliteStore(t.db);
    again.raw.prepare(`UPDATE recipients SET status = 'in_doubt' WHERE campaign_id = ?`).run(id);
    await again.close();
    const mark = await cli(['resolve', String(id), '--mark-sent']);
    expect(mark.code).toBe(0);
    expect(mark.stdout).toMatch(/3 in_doubt recipient\(s\) marked sent/);
    expect(JSON.parse((await cli(['status', String(id), '--json'])).stdout).counts).toMatchObject({ sent: 3, in_doubt: 0 });
  });
});

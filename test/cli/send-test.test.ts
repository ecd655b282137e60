/** `send-test` and `resolve` as an operator runs them. */
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../src/core/store/sqlite.js';
import { runCli, tempDir } from '../helpers/cli.js';
import { makeKey, verifyDkim } from '../helpers/dkim.js';
import type { FakeApi } from '../helpers/providers/fake-api.js';
import { startFakeMailgun } from '../helpers/providers/mailgun.js';
import { startFakePostmark } from '../helpers/providers/postmark.js';
import { startFakeResend } from '../helpers/providers/resend.js';
import { startFakeSendgrid } from '../helpers/providers/sendgrid.js';
import { startFakeSes } from '../helpers/providers/ses.js';
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

const PROVIDERS: Array<{ name: string; secret: string; start: () => Promise<FakeApi>; url: (endpoint: string) => string; shown: RegExp }> = [
  { name: 'resend', secret: 're_live_SECRET1', start: () => startFakeResend({ apiKey: 're_live_SECRET1' }), url: (e) => `resend://re_live_SECRET1?endpoint=${e}`, shown: /via resend:\/\/\*\*\*\?endpoint=/ },
  { name: 'postmark', secret: 'pm-SECRET2', start: () => startFakePostmark({ token: 'pm-SECRET2' }), url: (e) => `postmark://pm-SECRET2?endpoint=${e}`, shown: /via postmark:\/\/\*\*\*\?endpoint=/ },
  { name: 'sendgrid', secret: 'SG.SECRET3', start: () => startFakeSendgrid({ apiKey: 'SG.SECRET3' }), url: (e) => `sendgrid://SG.SECRET3?endpoint=${e}`, shown: /via sendgrid:\/\/\*\*\*\?endpoint=/ },
  {
    name: 'mailgun',
    secret: 'key-SECRET4',
    start: () => startFakeMailgun({ apiKey: 'key-SECRET4', domain: 'mg.aremko.cl' }),
    url: (e) => `mailgun://key-SECRET4@mg.aremko.cl?endpoint=${e}`,
    shown: /via mailgun:\/\/\*\*\*@mg\.aremko\.cl\?endpoint=/,
  },
  {
    name: 'ses',
    secret: 'SECRET5/abc+def',
    start: () => startFakeSes({ accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secret: 'SECRET5/abc+def', region: 'sa-east-1' }),
    url: (e) => `ses://AKIAIOSFODNN7EXAMPLE:SECRET5/abc+def@sa-east-1?endpoint=${e}`,
    shown: /via ses:\/\/AKIAIOSFODNN7EXAMPLE:\*\*\*@sa-east-1\?endpoint=/,
  },
];

describe('send-test through every HTTPS API (local fakes, ?endpoint=)', () => {
  for (const p of PROVIDERS) {
    it(`${p.name}: one message, the provider id shown, the key nowhere`, async () => {
      const api = await p.start();
      try {
        const id = await campaign();
        const r = await runCli(['send-test', String(id), '--to', 'yo@aremko.cl', '--db', t.db], { env: { AREMKO_MAIL_TRANSPORT: p.url(api.endpoint) } });
        expect(r.code, r.stderr).toBe(0);
        expect(r.stdout).toMatch(new RegExp(`^sent to yo@aremko\\.cl ${p.shown.source.slice(0)}`));
        expect(api.deliveries).toHaveLength(1);
        expect(api.deliveries[0]!.to).toBe('yo@aremko.cl');
        expect(r.stdout + r.stderr).not.toContain(p.secret);
        const json = await runCli(['send-test', String(id), '--to', 'yo@aremko.cl', '--json', '--db', t.db], { env: { AREMKO_MAIL_TRANSPORT: p.url(api.endpoint) } });
        expect(JSON.parse(json.stdout)).toMatchObject({ to: 'yo@aremko.cl', provider_id: api.deliveries[1]!.providerId, outcome: { kind: 'sent' } });
        expect(json.stdout).not.toContain(p.secret);
      } finally {
        await api.close();
      }
    });
  }

  it('a key the provider refuses: exit 75, the key nowhere', async () => {
    const api = await startFakeResend({ apiKey: 're_live_RIGHT' });
    try {
      const id = await campaign();
      const r = await runCli(['send-test', String(id), '--to', 'yo@aremko.cl', '--db', t.db], { env: { AREMKO_MAIL_TRANSPORT: `resend://re_live_WRONG_KEY?endpoint=${api.endpoint}` } });
      expect(r.code).toBe(75);
      expect(r.stdout).toMatch(/^unavailable to yo@aremko\.cl via resend:\/\/\*\*\*/);
      expect(r.stdout + r.stderr).not.toContain('WRONG_KEY');
    } finally {
      await api.close();
    }
  });
});

describe('the transport URL from a file (keeping secrets out of ps)', () => {
  it('--transport-file and AREMKO_MAIL_TRANSPORT_FILE: the URL is read from the file, trailing newline ignored', async () => {
    const id = await campaign();
    const file = join(t.dir, 'transport');
    writeFileSync(file, `${smtp.url}\n`, { mode: 0o600 });
    const byFlag = await runCli(['send-test', String(id), '--to', 'yo@aremko.cl', '--transport-file', file, '--db', t.db], { env: { AREMKO_MAIL_TRANSPORT: undefined } });
    expect(byFlag.code, byFlag.stderr).toBe(0);
    const byEnv = await runCli(['send-test', String(id), '--to', 'yo@aremko.cl', '--db', t.db], { env: { AREMKO_MAIL_TRANSPORT: undefined, AREMKO_MAIL_TRANSPORT_FILE: file } });
    expect(byEnv.code, byEnv.stderr).toBe(0);
    expect(smtp.received).toHaveLength(2);
  });

  it('refuses, exit 2, naming the file and never showing its content: missing, empty, both flags, both variables', async () => {
    const id = await campaign();
    const empty = join(t.dir, 'empty');
    writeFileSync(empty, '\n');
    const secret = join(t.dir, 'secret');
    writeFileSync(secret, 'resend://re_live_SECRET_IN_FILE\n');
    const cases: Array<[string[], Record<string, string | undefined>, RegExp]> = [
      [['--transport-file', join(t.dir, 'nope')], { AREMKO_MAIL_TRANSPORT: undefined }, /cannot read the transport URL file .*nope \(--transport-file\): no such file/],
      [['--transport-file', empty], { AREMKO_MAIL_TRANSPORT: undefined }, /transport URL file .*empty \(--transport-file\) is empty/],
      [['--transport-file', secret, '--transport', smtp.url], {}, /either --transport or --transport-file/],
      [[], { AREMKO_MAIL_TRANSPORT: smtp.url, AREMKO_MAIL_TRANSPORT_FILE: secret }, /both AREMKO_MAIL_TRANSPORT and AREMKO_MAIL_TRANSPORT_FILE/],
      [[], { AREMKO_MAIL_TRANSPORT: undefined, AREMKO_MAIL_TRANSPORT_FILE: join(t.dir, 'gone') }, /cannot read the transport URL file .*gone \(AREMKO_MAIL_TRANSPORT_FILE\)/],
    ];
    for (const [args, env, why] of cases) {
      const r = await runCli(['send-test', String(id), '--to', 'yo@aremko.cl', ...args, '--db', t.db], { env });
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(why);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).not.toContain('SECRET_IN_FILE');
    }
    expect(smtp.received).toHaveLength(0);
  });

  it('a URL the tool does not understand is not echoed (no key in the error)', async () => {
    const id = await campaign();
    const r = await runCli(['send-test', String(id), '--to', 'yo@aremko.cl', '--db', t.db], { env: { AREMKO_MAIL_TRANSPORT: 'resnd://re_live_SECRET_TYPO' } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unsupported transport URL scheme "resnd:"/);
    expect(r.stderr).not.toContain('SECRET_TYPO');
  });

  it('--help says a URL on the command line shows in ps, and names the file option', async () => {
    const r = await runCli(['--help']);
    expect(r.stdout).toMatch(/--transport-file/);
    expect(r.stdout.replace(/\s+/g, ' ')).toMatch(/visible to every user of the machine \(ps\)/);
  });
});

describe('send-test with DKIM', () => {
  it('--dkim-key / --dkim-selector: the message the SMTP server got verifies against the published key', async () => {
    const id = await campaign();
    const key = makeKey(t.dir, 'ed25519');
    const r = await cli(['send-test', String(id), '--to', 'yo@aremko.cl', '--dkim-key', key.file, '--dkim-selector', 'aremko2026']);
    expect(r.code, r.stderr).toBe(0);
    const results = await verifyDkim(smtp.received[0]!.raw, { 'aremko2026._domainkey.aremko.cl': key.record });
    expect(results).toMatchObject([{ result: 'pass', domain: 'aremko.cl', algorithm: 'ed25519-sha256' }]);
  });

  it('from the environment too; a key file that is not one: exit 2, one line, nothing sent', async () => {
    const id = await campaign();
    const key = makeKey(t.dir, 'rsa');
    const ok = await runCli(['send-test', String(id), '--to', 'yo@aremko.cl', '--db', t.db], {
      env: { AREMKO_MAIL_TRANSPORT: smtp.url, AREMKO_MAIL_DKIM_KEY: key.file, AREMKO_MAIL_DKIM_SELECTOR: 's1' },
    });
    expect(ok.code, ok.stderr).toBe(0);
    expect(await verifyDkim(smtp.received[0]!.raw, { 's1._domainkey.aremko.cl': key.record })).toMatchObject([{ result: 'pass', algorithm: 'rsa-sha256' }]);
    const junk = join(t.dir, 'junk.pem');
    writeFileSync(junk, 'hello');
    chmodSync(junk, 0o600);
    const bad = await cli(['send-test', String(id), '--to', 'yo@aremko.cl', '--dkim-key', junk, '--dkim-selector', 's1']);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split('\n')).toEqual([expect.stringMatching(/junk\.pem is not a private key/)]);
    const half = await cli(['send-test', String(id), '--to', 'yo@aremko.cl', '--dkim-key', key.file]);
    expect(half.code).toBe(2);
    expect(half.stderr).toMatch(/no selector/);
    expect(smtp.received).toHaveLength(1);
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

/**
 * `status` tells the exact truth about who works on a campaign and what it waits for: real `run`
 * processes (one SIGKILLed), real databases on both backends, the CLI as an operator runs it.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { formatInZone } from '../../src/core/status.js';
import type { CampaignSettings } from '../../src/core/types.js';
import { backends, createTestDatabase, pgSocketDir, pgUrl, type TestDatabase } from '../helpers/backends.js';
import { runCli, startCli } from '../helpers/cli.js';
import { addRecipients, settings } from '../helpers/store.js';

describe.each(backends())('status on %s', (backend) => {
  let db: TestDatabase;
  beforeEach(async () => {
    db = await createTestDatabase(backend);
  });
  afterEach(async () => {
    await db.cleanup();
  });

  const cli = (...args: string[]) => runCli(['--db', db.location, ...args]);
  async function json(id: number) {
    const r = await cli('status', String(id), '--json');
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout);
  }
  async function line(id: number) {
    const r = await cli('status', String(id));
    expect(r.code, r.stderr).toBe(0);
    return r.stdout.trim();
  }
  async function sendingCampaign(n: number, overrides: Partial<CampaignSettings> = {}): Promise<number> {
    const store = await db.open();
    const c = await store.createCampaign(settings(overrides), Date.now());
    await addRecipients(store, c.id, n);
    await store.transition(c.id, ['draft'], 'sending', Date.now());
    await store.close();
    return c.id;
  }

  it('a runner killed with SIGKILL: "is not running — the next run takes over", lease.alive false', async () => {
    // One batch, then an hour's interval: the runner waits, holding its lease, when it is killed.
    const id = await sendingCampaign(4, { batchSize: 2, intervalSeconds: 3600 });
    const run = startCli(['run', '--campaign', String(id), '--db', db.location, '--transport', `outbox:${join(db.dir, 'out')}`]);
    await run.waitForLine((l) => /batch 1 finished/.test(l));
    const owner = `${(await json(id)).lease.owner}`;
    expect(owner).toBe(`${(await import('node:os')).hostname()}:${run.child.pid}`);
    // While it lives, it is sending now.
    expect(await line(id)).toContain(`sending now by ${owner}`);
    expect((await json(id)).lease.alive).toBe(true);

    run.child.kill('SIGKILL');
    expect((await run.done).signal).toBe('SIGKILL');

    const text = await line(id);
    expect(text).toContain(`${owner} is not running — the next run takes over`);
    expect(text).not.toContain('sending now');
    const s = await json(id);
    expect(s.lease).toMatchObject({ owner, alive: false });
    expect(s.runners).toEqual([expect.objectContaining({ owner, alive: false })]);
    // Its lease has not expired: the dead process is known from this host, not from the clock.
    expect(Date.parse(s.lease.expires_at)).toBeGreaterThan(Date.now());
    // And what the campaign waits for: the interval the dead runner stored.
    expect(s.waiting).toEqual({ reason: 'interval', until: s.next_batch_at });
    expect(text).toContain(`next batch due ${formatInZone(Date.parse(s.next_batch_at), null)}`);
  }, 60_000);

  it('an expired lease: "lease of … expired at …", alive false, no lease holder', async () => {
    const id = await sendingCampaign(3, { batchSize: 1, intervalSeconds: 0, timeZone: 'America/Santiago' });
    const store = await db.open();
    const joinedAt = Date.now() - 120_000;
    const { runner } = await store.joinCampaign(id, { host: 'other-host', pid: 4242, token: 'expired-token' }, joinedAt, 60_000, []);
    await store.close();
    expect(runner.expiresAt).toBeLessThan(Date.now());

    const text = await line(id);
    expect(text).toContain(`lease of other-host:4242 expired at ${formatInZone(runner.expiresAt, 'America/Santiago')} — the next run takes over`);
    expect(text).not.toContain('sending now');
    expect(text).toContain('next batch due now (waiting for a run)');
    const s = await json(id);
    expect(s.lease).toBeNull();
    expect(s.runners).toEqual([{ owner: 'other-host:4242', expires_at: new Date(runner.expiresAt).toISOString(), alive: false }]);
  });

  it('two live runners on other hosts: both named; alive is null (unknowable from here)', async () => {
    const id = await sendingCampaign(3, { intervalSeconds: 0 });
    const store = await db.open();
    const now = Date.now();
    await store.joinCampaign(id, { host: 'host-a', pid: 11, token: 'a' }, now, 600_000, []);
    await store.joinCampaign(id, { host: 'host-b', pid: 22, token: 'b' }, now + 1, 600_000, []);
    await store.close();

    expect(await line(id)).toContain('sending now by host-a:11, host-b:22');
    const s = await json(id);
    expect(s.lease).toMatchObject({ owner: 'host-a:11', alive: null });
    expect(s.runners.map((r: { owner: string; alive: unknown }) => [r.owner, r.alive])).toEqual([
      ['host-a:11', null],
      ['host-b:22', null],
    ]);
  });

  it('a campaign outside its send window: waits until the window opens, said in its zone', async () => {
    const tz = 'America/Santiago';
    const hourThere = (ms: number) => Number(new Intl.DateTimeFormat('en-GB', { timeZone: tz, hour: '2-digit', hourCycle: 'h23' }).format(ms));
    // A one-hour window starting in between one and two hours: closed now, whatever the time.
    const opens = (hourThere(Date.now()) + 2) % 24;
    const hh = (h: number) => String(h).padStart(2, '0');
    const html = join(db.dir, 'm.html');
    writeFileSync(html, '<p>Hola {{nombre}}</p>');
    const csv = join(db.dir, 'r.csv');
    writeFileSync(csv, 'email,nombre\na@example.com,Ana\nb@example.com,Bea\n');
    const created = await cli(
      'campaign', 'create', '--name', 'Ventana', '--subject', 'Hola', '--from', 'hola@aremko.cl', '--html', html,
      '--window', `${hh(opens)}:00-${hh((opens + 1) % 24)}:00`, '--tz', tz, '--json',
    );
    expect(created.code, created.stderr).toBe(0);
    const id = JSON.parse(created.stdout).id as number;
    expect((await cli('import', String(id), csv)).code).toBe(0);
    expect((await cli('start', String(id))).code).toBe(0);

    const s = await json(id);
    expect(s.waiting.reason).toBe('window');
    const until = Date.parse(s.waiting.until);
    expect(until).toBeGreaterThan(Date.now() + 55 * 60_000);
    expect(until).toBeLessThanOrEqual(Date.now() + 2 * 3600_000);
    expect(hourThere(until)).toBe(opens);
    expect(new Date(until).getUTCMinutes() % 30).toBe(0);
    const text = await line(id);
    expect(text).toContain(`outside its send window until ${formatInZone(until, tz)}`);
    expect(text).toMatch(new RegExp(`until \\d{4}-\\d\\d-\\d\\d ${hh(opens)}:00 America/Santiago`));
    expect(text).not.toContain('due now');
  });
});

describe.skipIf(!pgUrl() && process.env.CI !== 'true')('the database password kept out of the URL (and of ps)', () => {
  let db: TestDatabase;
  beforeEach(async () => {
    db = await createTestDatabase('postgres');
  });
  afterEach(async () => {
    await db.cleanup();
  });

  /** A campaign in the test database, and that database's URL with its password taken out. */
  async function campaignAndLogin(name: string, recipients = 0): Promise<{ id: number; url: URL; password: string }> {
    const store = await db.open();
    const c = await store.createCampaign(settings({ name }), Date.now());
    if (recipients > 0) await addRecipients(store, c.id, recipients);
    await store.close();
    const url = new URL(db.location);
    const password = decodeURIComponent(url.password);
    url.password = '';
    return { id: c.id, url, password };
  }

  it('AREMKO_MAIL_DB without a password and PGPASSWORD in the environment, as the README says; without it the login is refused, in one line', async () => {
    const { id, url, password } = await campaignAndLogin('Sin clave', 2);
    // no password file either (a developer's ~/.pgpass must not answer for the missing password)
    const env = { AREMKO_MAIL_DB: url.toString(), PGPASSWORD: password, PGPASSFILE: '/nonexistent/aremko-pgpass' };

    const ok = await runCli(['status', String(id), '--json'], { env });
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ name: 'Sin clave', counts: { total: 2 } });

    const refused = await runCli(['status', String(id)], { env: { ...env, PGPASSWORD: undefined } });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/refused the login of user postgres \(no password given: none in the URL, PGPASSWORD or \/nonexistent\/aremko-pgpass\)$/),
    ]);
    const wrong = await runCli(['status', String(id)], { env: { ...env, PGPASSWORD: `${password}-not` } });
    expect(wrong.stderr).toMatch(/refused the login of user postgres \(password from PGPASSWORD\)$/m);
    expect(wrong.stdout + wrong.stderr).not.toContain(password);
  });

  it('PGUSER, PGPASSWORD and PGDATABASE give the user, password and database the URL leaves out, as in libpq; a refused login names that user', async () => {
    const { id, url, password } = await campaignAndLogin('Del entorno');
    const database = url.pathname.slice(1);
    const bare = `postgresql://${url.host}/?${url.searchParams}`; // no user, password or database
    const env = { AREMKO_MAIL_DB: bare, PGUSER: decodeURIComponent(url.username), PGPASSWORD: password, PGDATABASE: database, PGPASSFILE: '/nonexistent/aremko-pgpass' };

    const ok = await runCli(['status', String(id), '--json'], { env });
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ name: 'Del entorno' });

    const stranger = await runCli(['status'], { env: { ...env, PGUSER: 'nadie_aqui' } });
    expect(stranger.code).toBe(1);
    expect(stranger.stderr.trim().split('\n')).toEqual([expect.stringMatching(/refused the login of user nadie_aqui \(password from PGPASSWORD\)$/)]);
    expect(stranger.stdout + stranger.stderr).not.toContain(password);

    const noDatabase = await runCli(['status'], { env: { ...env, PGDATABASE: undefined } });
    expect(noDatabase.code).toBe(2);
    expect(noDatabase.stderr.trim()).toMatch(/names no database: .*\(or set PGDATABASE\)$/);
  });

  it('a password file (PGPASSFILE, else ~/.pgpass) gives the password the URL and the environment leave out, as psql reads it; one other users may read is not read, and the refusal says so', async () => {
    const { id, url, password } = await campaignAndLogin('Con archivo');
    const folder = mkdtempSync(join(tmpdir(), 'aremko-pgpass-cli-'));
    try {
      // host, port, database and user as the URL names them; the password's colon escaped as libpq says
      const file = join(folder, 'pgpass');
      const line = [url.hostname, url.port, url.pathname.slice(1), decodeURIComponent(url.username), password].map((f) => f.replace(/[\\:]/g, '\\$&'));
      writeFileSync(file, `# for aremko-mail\nsomewhere:5432:*:*:wrong\n${line.join(':')}\n`, { mode: 0o600 });
      const env = { AREMKO_MAIL_DB: url.toString(), PGPASSWORD: undefined, PGPASSFILE: file };
      const ok = await runCli(['status', String(id), '--json'], { env });
      expect(ok.code, ok.stderr).toBe(0);
      expect(JSON.parse(ok.stdout)).toMatchObject({ name: 'Con archivo' });

      chmodSync(file, 0o644);
      const open = await runCli(['status'], { env });
      expect(open.code).toBe(1);
      expect(open.stderr.trim().split('\n')).toEqual([
        expect.stringMatching(/refused the login of user postgres \(no password: .*pgpass was not read, other users may read or write it \(mode 0644; chmod 600 it\)\)$/),
      ]);
      expect(open.stdout + open.stderr).not.toContain(password);
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });

  it("the Cloud SQL form, user@/db?host=<the server's socket folder>, or PGHOST and PGPORT, reach the database over its Unix socket", async () => {
    const store = await db.open();
    const c = await store.createCampaign(settings({ name: 'Por el socket' }), Date.now());
    await addRecipients(store, c.id, 2);
    await store.close();
    const tcp = new URL(db.location);
    const socketFolder = pgSocketDir();
    expect(socketFolder, 'AREMKO_TEST_PG_SOCKET_DIR (set by the global set-up)').toBeTruthy();
    const url = `postgresql://postgres@${tcp.pathname}?host=${encodeURIComponent(socketFolder!)}&port=${tcp.port}&schema=${tcp.searchParams.get('schema')}`;
    const ok = await runCli(['status', String(c.id), '--json'], { env: { AREMKO_MAIL_DB: url } });
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ name: 'Por el socket', counts: { total: 2 } });
    // the same with the socket's folder and port from PGHOST and PGPORT, as libpq reads them
    const fromEnvironment = await runCli(['status', String(c.id), '--json'], {
      env: { AREMKO_MAIL_DB: `postgresql://postgres@${tcp.pathname}?schema=${tcp.searchParams.get('schema')}`, PGHOST: socketFolder, PGPORT: tcp.port },
    });
    expect(fromEnvironment.code, fromEnvironment.stderr).toBe(0);
    expect(JSON.parse(fromEnvironment.stdout)).toMatchObject({ name: 'Por el socket', counts: { total: 2 } });
    const missing = await runCli(['status'], { env: { AREMKO_MAIL_DB: url.replace(encodeURIComponent(socketFolder!), '/nonexistent') } });
    expect(missing.code).toBe(1);
    expect(missing.stderr.trim().split('\n')).toEqual([expect.stringMatching(/no server socket at \/nonexistent\/\.s\.PGSQL\.\d+ /)]);
  });
});

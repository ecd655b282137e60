/** `db copy`: a real SQLite database, with history, into a real PostgreSQL schema — then sent on from there. */
import Database from 'better-sqlite3';
import { spawn, spawnSync } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase, pgUrl, type TestDatabase } from '../helpers/backends.js';
import { CLI, runCli } from '../helpers/cli.js';
import { startTestSmtp, type TestSmtp } from '../helpers/smtp-server.js';
import { addRecipients, settings } from '../helpers/store.js';

const T0 = Date.now();

describe.skipIf(!pgUrl() && process.env.CI !== 'true')('db copy', () => {
  let lite: TestDatabase;
  let pg: TestDatabase;
  let smtp: TestSmtp | null = null;
  beforeEach(async () => {
    lite = await createTestDatabase('sqlite');
    pg = await createTestDatabase('postgres');
  });
  afterEach(async () => {
    await smtp?.close();
    smtp = null;
    await lite.cleanup();
    await pg.cleanup();
  });

  /** Two campaigns mid-way: sent, failed, in doubt, one in flight at a runner that died, a suppression. */
  async function history() {
    const s = await lite.open();
    const a = await s.createCampaign(settings({ name: 'Noviembre', batchSize: 4, intervalSeconds: 0 }), T0);
    await addRecipients(s, a.id, 10);
    const b = await s.createCampaign(settings({ name: 'Borrador' }), T0);
    await addRecipients(s, b.id, 3, 100);
    await s.addSuppressions(['r9@example.com'], 'manual', T0);
    await s.transition(a.id, ['draft'], 'sending', T0 - 200_000);
    const dead = { host: 'old-vm', pid: 4242, token: 'dead' };
    await s.joinCampaign(a.id, dead, T0 - 120_000, 60_000, []);
    const claim = (await s.step(a.id, 'dead', T0 - 120_000, [], 4)).claim;
    if (claim?.kind !== 'claimed') throw new Error('no claim');
    const [r0, r1, r2] = claim.recipients;
    await s.step(a.id, 'dead', T0 - 119_000, [
      { recipientId: r0!.id, outcome: 'sent', at: T0 - 119_000, detail: '250 ok', messageId: '<a0@x>' },
      { recipientId: r1!.id, outcome: 'failed', at: T0 - 119_000, detail: '550 5.1.1 unknown', messageId: '<a1@x>', suppress: 'bounced' },
      { recipientId: r2!.id, outcome: 'in_doubt', at: T0 - 119_000, detail: 'connection lost after the data', messageId: '<a2@x>' },
    ], 0);
    await s.close(); // r3 stays `sending` at a runner that is gone
    return a.id;
  }

  it('copies everything, counts it on both sides, and the campaign goes on from PostgreSQL', async () => {
    const id = await history();
    const before = JSON.parse((await runCli(['status', '--json', '--db', lite.location])).stdout);
    const r = await runCli(['db', 'copy', '--to', pg.location, '--from', lite.location]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/copied .* \(schema t_[0-9a-f]+\) in [\d.]+ s: 2 campaigns, 13 recipients, \d+ log rows, 2 suppressions; counts verified on both sides/);
    const password = decodeURIComponent(new URL(pg.location).password);
    expect(r.stdout + r.stderr).not.toContain(password);

    const after = JSON.parse((await runCli(['status', '--json', '--db', pg.location])).stdout);
    const comparable = (s: any[]) => s.map(({ runners: _r, lease: _l, waiting: _w, ...rest }) => rest);
    expect(comparable(after)).toEqual(comparable(before));
    const logs = JSON.parse((await runCli(['logs', String(id), '--json', '--limit', '100', '--db', pg.location])).stdout);
    expect(logs.map((e: any) => e.type)).toEqual(expect.arrayContaining(['status', 'runner_joined', 'sent', 'failed', 'in_doubt']));
    expect(logs.find((e: any) => e.type === 'sent').message).toMatch(/sent to r0@example.com/);

    smtp = await startTestSmtp();
    const run = await runCli(['run', '--campaign', String(id), '--db', pg.location, '--transport', smtp.url]);
    expect(run.code).toBe(0);
    const done = JSON.parse((await runCli(['status', String(id), '--json', '--db', pg.location])).stdout);
    // r3 was in flight at the dead runner: in doubt, not resent; r9 suppressed; the rest sent here
    expect(done.counts).toMatchObject({ total: 10, sent: 6, failed: 1, in_doubt: 2, suppressed: 1, pending: 0, sending: 0 });
    expect(smtp.received.map((m) => m.to[0]).sort()).toEqual(['r4@example.com', 'r5@example.com', 'r6@example.com', 'r7@example.com', 'r8@example.com']);
    // new ids continue after the copied ones
    const created = await runCli(['campaign', 'create', '--name', 'Nueva', '--subject', 'Hola', '--from', 'hola@aremko.cl', '--html', 'README.md', '--db', pg.location]);
    expect(created.stdout.trim()).toBe('3');
  });

  it('refuses a schema that is not empty, a database a runner is sending from, and a target that is not PostgreSQL', async () => {
    await history();
    expect((await runCli(['db', 'copy', '--to', pg.location, '--from', lite.location])).code).toBe(0);
    const again = await runCli(['db', 'copy', '--to', pg.location, '--from', lite.location]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/is not empty \(2 campaigns, 2 suppressions\).*nothing was copied/);

    const s = await lite.open();
    await s.joinCampaign(1, { host: 'vm', pid: 1, token: 'alive' }, Date.now(), 600_000, []);
    await s.close();
    const other = await createTestDatabase('postgres');
    try {
      const busy = await runCli(['db', 'copy', '--to', other.location, '--from', lite.location]);
      expect(busy.code).toBe(1);
      expect(busy.stderr).toMatch(/campaign 1 is being sent by vm:1; stop every run .* nothing was copied/);
    } finally {
      await other.cleanup();
    }
    const notPg = await runCli(['db', 'copy', '--to', 'mysql://u:p@h/db', '--from', lite.location]);
    expect(notPg.code).toBe(2);
    expect(notPg.stderr).toMatch(/--to: .* is not a postgres:\/\/ or postgresql:\/\/ URL/);
  });

  it('refuses a source whose recipients belong to a campaign it does not have (the check the copy does while triggers are off)', async () => {
    await history();
    const raw = new Database(lite.location);
    raw.pragma('foreign_keys = OFF'); // as a hand edit could leave it
    raw.prepare(`INSERT INTO recipients (campaign_id, email, status, fields) VALUES (77, 'orphan@example.com', 'pending', '{}')`).run();
    raw.close();
    const r = await runCli(['db', 'copy', '--to', pg.location, '--from', lite.location]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toMatch(/^aremko-mail: db copy: .* has recipients of campaign 77, which it does not have; nothing was copied$/);
    const store = await pg.open();
    expect(await store.listCampaigns()).toEqual([]);
  });

  it('refuses, naming table, line and reason, a source holding what PostgreSQL cannot store, refused after the last row or amid them', async () => {
    const id = await history();
    const raw = new Database(lite.location);
    // A NUL byte in a text (a hand edit could leave one; PostgreSQL's text cannot hold it): in the
    // last rows of a small table, then in the first of a large one, whose rows are still being
    // sent when the server refuses it.
    raw.prepare(`UPDATE campaigns SET name = ? WHERE id = ?`).run('Nov\u0000iembre', id);
    const r = await runCli(['db', 'copy', '--to', pg.location, '--from', lite.location]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/^aremko-mail: db copy: PostgreSQL refused a row of campaigns from .*: invalid byte sequence for encoding "UTF8": 0x00 \(COPY campaigns, line 1\b.*\); nothing was copied\n$/);

    raw.prepare(`UPDATE campaigns SET name = 'Noviembre' WHERE id = ?`).run(id);
    raw.prepare(`UPDATE recipients SET email = ? WHERE id = (SELECT min(id) FROM recipients)`).run('r\u00000@example.com');
    const insert = raw.prepare(`INSERT INTO recipients (campaign_id, email, status, fields) VALUES (?, ?, 'pending', '{}')`);
    raw.transaction(() => {
      for (let i = 0; i < 30_000; i++) insert.run(id, `extra${i}@example.com`);
    })();
    raw.close();
    const large = await runCli(['db', 'copy', '--to', pg.location, '--from', lite.location]);
    expect(large.code, large.stderr).toBe(1);
    expect(large.stderr).toMatch(/^aremko-mail: db copy: PostgreSQL refused a row of recipients from .*: invalid byte sequence for encoding "UTF8": 0x00 \(COPY recipients, line 1\b.*\); nothing was copied\n$/);
    const store = await pg.open();
    expect(await store.listCampaigns()).toEqual([]);
    expect(await store.listSuppressions()).toEqual([]);
  });

  it('in a terminal it shows rows copied, the rate and the time left; in a pipe, only its summary', async () => {
    if (spawnSync('script', ['--version']).status !== 0 && process.env.CI !== 'true') return;
    const s = await lite.open();
    const c = await s.createCampaign(settings({ name: 'Big' }), T0);
    await addRecipients(s, c.id, 150_000);
    await s.close();
    const command = [process.execPath, CLI, 'db', 'copy', '--to', pg.location, '--from', lite.location].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    const output = await new Promise<string>((resolve, reject) => {
      const child = spawn('script', ['-qfec', command, '/dev/null'], { env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      child.on('error', reject);
      child.on('close', () => resolve(out));
    });
    const frames = output.split('\r\u001B[2K').slice(1).map((f) => f.replace(/\r?\n[\s\S]*$/, '')).filter(Boolean);
    expect(frames.length).toBeGreaterThan(0);
    expect(frames.some((f) => /^db copy: [\d,]+ of 150,\d{3} rows \(\d+%\)/.test(f))).toBe(true);
    expect(output).toMatch(/150,000 recipients|150000 recipients/);
    // the same in a pipe: only the summary line
    const other = await createTestDatabase('postgres');
    try {
      const piped = await runCli(['db', 'copy', '--to', other.location, '--from', lite.location]);
      expect(piped.code).toBe(0);
      expect(piped.stderr).toBe('');
      expect(piped.stdout.trim().split('\n')).toHaveLength(1);
    } finally {
      await other.cleanup();
    }
  }, 120_000);
});

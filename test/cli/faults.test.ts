/**
 * Storage faults and unusable stored values, through the real CLI: a disk that fills up while
 * `run` sends, and campaigns whose stored durations overflow any date (written before the flags
 * had ranges, or by hand). Each ends in a one-line message or correct behaviour; nothing
 * recorded is lost, and one bad campaign never stops the others.
 */
import Database from 'better-sqlite3';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../src/core/store/sqlite.js';
import { runCli, tempDir } from '../helpers/cli.js';
import { startTestSmtp, type TestSmtp } from '../helpers/smtp-server.js';
import { addRecipients, settings } from '../helpers/store.js';
import { canMount } from '../helpers/mount.js';

let t: ReturnType<typeof tempDir>;
let smtp: TestSmtp | null = null;
const mounts: string[] = [];
beforeEach(() => (t = tempDir()));
afterEach(async () => {
  await smtp?.close();
  smtp = null;
  for (const m of mounts.splice(0)) spawnSync('umount', ['-l', m]);
  t.cleanup();
});

describe.skipIf(!canMount && process.env.CI !== 'true')('a disk that fills up while run sends', () => {
  it('one line naming the file and "no space left on device", exit 1; what was recorded stays; once there is room the next run finishes with nothing sent twice', async () => {
    const disk = join(t.dir, 'disk');
    mkdirSync(disk);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16m', 'tmpfs', disk]);
    mounts.push(disk);
    const db = join(disk, 'a.db');
    const store = openSqliteStore(db);
    const c = await store.createCampaign(settings({ batchSize: 5000, intervalSeconds: 0 }), Date.now());
    await addRecipients(store, c.id, 400);
    await store.transition(c.id, ['draft'], 'sending', Date.now());
    await store.close();
    // what is left of the disk: room for a few hundred attempts
    const filler = join(disk, 'filler');
    let size = 16 * 1024 * 1024;
    for (;;) {
      try {
        writeFileSync(filler, Buffer.alloc(size));
        break;
      } catch {
        size -= 8 * 1024;
      }
    }
    rmSync(filler);
    writeFileSync(filler, Buffer.alloc(Math.max(0, size - 160 * 1024)));

    smtp = await startTestSmtp();
    const full = await runCli(['run', '--campaign', String(c.id), '--db', db, '--transport', smtp.url]);
    expect(full.code).toBe(1);
    const lines = full.stderr.trim().split('\n');
    expect(lines.at(-1)).toMatch(new RegExp(`^aremko-mail: (campaign 1: the database failed: )?database ${db}: no space left on device`));
    expect(full.stderr).not.toMatch(/\n\s+at /); // no stack trace
    const sentBefore = smtp.received.length;
    expect(sentBefore).toBeGreaterThan(0);

    rmSync(filler); // the operator makes room
    const s = openSqliteStore(db);
    const counts = (await s.summaries([c.id]))[0]!.counts;
    // every message the server took is recorded sent — or, the few in flight when the disk
    // filled, in doubt (never sent again on its own)
    expect(counts.sent + counts.in_doubt + counts.sending).toBeGreaterThanOrEqual(sentBefore);
    expect(counts.sent).toBeLessThanOrEqual(sentBefore);
    await s.close();
    const raw = new Database(db, { readonly: true });
    expect(raw.pragma('integrity_check', { simple: true })).toBe('ok');
    raw.close();

    const rest = await runCli(['run', '--campaign', String(c.id), '--db', db, '--transport', smtp.url]);
    expect(rest.code).toBe(0);
    const ids = smtp.received.map((m) => m.messageId);
    expect(new Set(ids).size).toBe(ids.length); // nothing twice
    const end = JSON.parse((await runCli(['status', String(c.id), '--json', '--db', db])).stdout);
    expect(end.status).toBe('completed');
    expect(end.counts.sent + end.counts.in_doubt).toBe(400);
    expect(end.counts.in_doubt).toBeLessThanOrEqual(1); // pool 1: at most the one in flight
  });
});

describe('stored values that overflow every date', () => {
  it('a campaign whose stored interval is 10^20 s waits "for ever" after its batch; the others go on; status still answers', async () => {
    smtp = await startTestSmtp();
    const store = openSqliteStore(t.db);
    const bad = await store.createCampaign(settings({ name: 'bad', batchSize: 1 }), Date.now());
    await addRecipients(store, bad.id, 2);
    const good = await store.createCampaign(settings({ name: 'good', batchSize: 10 }), Date.now());
    await addRecipients(store, good.id, 3, 10);
    for (const id of [bad.id, good.id]) await store.transition(id, ['draft'], 'sending', Date.now());
    await store.close();
    const raw = new Database(t.db);
    raw.prepare(`UPDATE campaigns SET interval_s = 99999999999999999999, retry_delay_s = 99999999999999999999 WHERE id = ?`).run(bad.id);
    raw.close();

    const run = await runCli(['--headless', '--auto', '--max-runtime', '30s', '--db', t.db, '--transport', smtp.url]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/campaign 2: completed/);
    const status = await runCli(['status', '--json', '--db', t.db]);
    expect(status.code).toBe(0);
    const [b, g] = JSON.parse(status.stdout);
    expect(b).toMatchObject({ status: 'sending', counts: { sent: 1, pending: 1 }, waiting: { reason: 'interval' } });
    expect(g).toMatchObject({ status: 'completed', counts: { sent: 3 } });
    expect((await runCli(['status', '--db', t.db])).code).toBe(0);
  });

  it('a retry delay of 10^20 s: the refused recipient waits for its retry, it is not left `sending`', async () => {
    smtp = await startTestSmtp({ behaviour: ({ rcpt }) => (rcpt === 'r0@example.com' ? { rcptReply: '451 4.7.1 try again later' } : 'accept') });
    const store = openSqliteStore(t.db);
    const c = await store.createCampaign(settings({ batchSize: 10 }), Date.now());
    await addRecipients(store, c.id, 2);
    await store.transition(c.id, ['draft'], 'sending', Date.now());
    await store.close();
    const raw = new Database(t.db);
    raw.prepare(`UPDATE campaigns SET retry_delay_s = 99999999999999999999 WHERE id = ?`).run(c.id);
    raw.close();
    const run = await runCli(['run', '--campaign', String(c.id), '--max-runtime', '30s', '--db', t.db, '--transport', smtp.url]);
    expect(run.code).toBe(0);
    const s = JSON.parse((await runCli(['status', String(c.id), '--json', '--db', t.db])).stdout);
    expect(s.counts).toMatchObject({ sent: 1, pending: 1, sending: 0 });
    expect(s.waiting).toMatchObject({ reason: 'retry' });
    expect(readdirSync(t.dir)).toContain('test.db');
  });
});

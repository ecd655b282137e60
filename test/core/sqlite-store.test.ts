/** What only the SQLite backend has: a file — its mode, its identity, its migrations, its disk. */
import Database from 'better-sqlite3';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION } from '../../src/core/store/sqlite-schema.js';
import { openSqliteStore } from '../../src/core/store/sqlite.js';
import { UserError } from '../../src/core/types.js';
import { tempDir } from '../helpers/cli.js';
import { addRecipients, settings } from '../helpers/store.js';
import { canMount } from '../helpers/mount.js';

const T0 = Date.UTC(2026, 10, 27, 12, 0, 0);

describe('every write is on disk before it resolves', () => {
  it('flushes the WAL (fdatasync) before a write resolves; writes that land together share a flush', async () => {
    const t = tempDir();
    const store = openSqliteStore(t.db);
    await store.createCampaign(settings(), T0); // the WAL file exists from here
    const probe = await open(t.db + '-wal', 'r');
    const proto = Object.getPrototypeOf(probe) as { datasync: () => Promise<void> };
    await probe.close();
    const original = proto.datasync;
    let flushes = 0;
    let resolvedBeforeFlush = false;
    proto.datasync = async function (this: unknown) {
      await original.call(this);
      flushes++;
    };
    try {
      const before = flushes;
      const c = await store.createCampaign(settings({ name: 'flushed' }), T0);
      if (flushes === before) resolvedBeforeFlush = true;
      expect(resolvedBeforeFlush).toBe(false);
      const many = flushes;
      await Promise.all(Array.from({ length: 20 }, (_, i) => store.setLastError(c.id, `e${i}`)));
      expect(flushes - many).toBeGreaterThanOrEqual(1);
      expect(flushes - many).toBeLessThan(20); // group commit
    } finally {
      proto.datasync = original;
      await store.close();
      t.cleanup();
    }
  });
});

describe('opening a database file', () => {
  let t: ReturnType<typeof tempDir>;
  beforeEach(() => (t = tempDir()));
  afterEach(() => t.cleanup());

  it('creates the folder and a 0600 file (and -wal/-shm) at the current schema, in WAL mode', async () => {
    const path = join(t.dir, 'nested', 'deeper', 'a.db');
    const store = openSqliteStore(path);
    await store.createCampaign(settings(), T0);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(path + '-wal').mode & 0o777).toBe(0o600);
    expect(statSync(path + '-shm').mode & 0o777).toBe(0o600);
    expect(store.raw.pragma('journal_mode', { simple: true })).toBe('wal');
    // NORMAL, with every write's WAL frames flushed before the write resolves (WalFlush)
    expect(store.raw.pragma('synchronous', { simple: true })).toBe(1);
    expect(store.raw.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(store.raw.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    await store.close();
  });

  it('reopens an existing database with its data', async () => {
    const a = openSqliteStore(t.db);
    const c = await a.createCampaign(settings({ name: 'kept' }), T0);
    await a.close();
    const b = openSqliteStore(t.db);
    expect((await b.getCampaign(c.id))?.name).toBe('kept');
    await b.close();
  });

  it('refuses a database from a newer version and leaves it untouched', async () => {
    await openSqliteStore(t.db).close();
    const raw = new Database(t.db);
    raw.pragma(`user_version = ${SCHEMA_VERSION + 5}`);
    raw.close();
    const before = readFileSync(t.db);
    expect(() => openSqliteStore(t.db)).toThrow(/newer aremko-mail.*left untouched/);
    expect(readFileSync(t.db).equals(before)).toBe(true);
  });

  it("refuses another application's SQLite file and leaves it untouched", () => {
    const raw = new Database(t.db);
    raw.exec('CREATE TABLE notes (x TEXT); INSERT INTO notes VALUES (1)');
    raw.close();
    const before = readFileSync(t.db);
    expect(() => openSqliteStore(t.db)).toThrow(/not an aremko-mail database/);
    expect(readFileSync(t.db).equals(before)).toBe(true);
  });

  it('refuses a file that is not SQLite at all and leaves it untouched', () => {
    writeFileSync(t.db, 'email,name\na@b.cl,Ana\n'.repeat(200));
    const before = readFileSync(t.db);
    expect(() => openSqliteStore(t.db)).toThrow(/not an aremko-mail database/);
    expect(readFileSync(t.db).equals(before)).toBe(true);
  });

  it('--db naming a folder is a configuration error (exit 2) that says so', () => {
    mkdirSync(join(t.dir, 'folder'));
    let err: unknown;
    try {
      openSqliteStore(join(t.dir, 'folder'));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).exitCode).toBe(2);
    expect((err as Error).message).toMatch(/is a folder/);
  });

  it('upgrades an older database when opened (version 0 with our id: runs every migration)', async () => {
    const raw = new Database(t.db);
    raw.pragma(`application_id = ${APPLICATION_ID}`);
    raw.close();
    const store = openSqliteStore(t.db);
    expect(store.raw.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect((await store.createCampaign(settings(), T0)).id).toBe(1);
    await store.close();
  });

  it('upgrades a version-1 database in use: its lease becomes a runner, its per-send events become attempts', async () => {
    const raw = new Database(t.db);
    raw.exec(MIGRATIONS[0]!);
    raw.pragma(`application_id = ${APPLICATION_ID}`);
    raw.pragma('user_version = 1');
    raw.exec(`INSERT INTO campaigns (name, subject_tpl, from_addr, html_tpl, batch_size, interval_s, max_attempts, retry_delay_s, created_at, status)
              VALUES ('old', 'Hi', 'a@aremko.cl', '<p>x</p>', 50, 720, 5, 60, ${T0}, 'sending')`);
    raw.exec(`INSERT INTO recipients (campaign_id, email, status, attempts, last_attempt_at, message_id, batch, claim_token)
              VALUES (1, 'r0@example.com', 'sent', 1, ${T0}, '<m0@x>', 1, NULL), (1, 'r1@example.com', 'sending', 1, ${T0}, NULL, 1, 'tok-old')`);
    raw.exec(`INSERT INTO leases VALUES (1, 'oldhost:42', 'oldhost', 42, 'tok-old', ${T0}, ${T0 + 60_000})`);
    raw.exec(`INSERT INTO events (campaign_id, at, level, type, message, data) VALUES
      (1, ${T0}, 'info', 'sent', 'sent to r0@example.com', '{"recipientId":1,"email":"r0@example.com","batch":1,"attempt":1,"response":"250 ok","messageId":"<m0@x>"}')`);
    raw.close();
    const store = openSqliteStore(t.db);
    expect(await store.listRunners(1)).toMatchObject([{ owner: 'oldhost:42', token: 'tok-old' }]);
    expect(await store.recipientHistory(1, 1)).toMatchObject([{ type: 'sent', message: 'sent to r0@example.com (batch 1, attempt 1): 250 ok' }]);
    // the old runner is gone: the next runner takes its in-flight recipient over
    const { reaped } = await store.joinCampaign(1, { host: 'new', pid: 1, token: 'tok-new' }, T0 + 61_000, 60_000, []);
    expect(reaped).toEqual([{ owner: 'oldhost:42', inDoubt: 1, requeued: 0 }]);
    await store.close();
  });
});

/**
 * Storage faults on a real filesystem: a tmpfs too small, a read-only bind mount. Mounting needs
 * root; where it cannot be done these fail under CI (the rule for missing infrastructure) and are
 * skipped elsewhere.
 */
describe.skipIf(!canMount && process.env.CI !== 'true')('storage faults', () => {
  let t: ReturnType<typeof tempDir>;
  const mounts: string[] = [];
  beforeEach(() => (t = tempDir()));
  afterEach(() => {
    for (const m of mounts.splice(0).reverse()) spawnSync('umount', ['-l', m]);
    t.cleanup();
  });

  it('disk full while importing: one line naming the file and "no space left on device"; what was stored before stays', async () => {
    const disk = join(t.dir, 'disk');
    mkdirSync(disk);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=600k', 'tmpfs', disk]);
    mounts.push(disk);
    const file = join(disk, 'a.db');
    const store = openSqliteStore(file);
    const c = await store.createCampaign(settings(), T0);
    await addRecipients(store, c.id, 10);
    let err: unknown;
    try {
      const session = await store.beginImport(c.id);
      const rows = Array.from({ length: 20_000 }, (_, i) => ({ line: i + 2, email: `x${i}@example.com`, fields: { nombre: 'x'.repeat(200), email: `x${i}@example.com` } }));
      await session.add(rows);
      await session.commit();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toBe(`database ${file}: no space left on device`);
    expect((await store.summaries([c.id], T0))[0]!.counts.total).toBe(10);
    await store.close();
  });

  it('a database on a read-only filesystem: says it is read-only, not "not an aremko-mail database"', async () => {
    const src = join(t.dir, 'src');
    const ro = join(t.dir, 'ro');
    mkdirSync(src);
    mkdirSync(ro);
    const store = openSqliteStore(join(src, 'a.db'));
    await store.createCampaign(settings(), T0);
    await store.close();
    execFileSync('mount', ['--bind', src, ro]);
    mounts.push(ro);
    execFileSync('mount', ['-o', 'remount,ro,bind', ro]);
    expect(() => openSqliteStore(join(ro, 'a.db'))).toThrow(/read-only|cannot open/);
    expect(() => openSqliteStore(join(ro, 'a.db'))).not.toThrow(/not an aremko-mail database/);
  });
});

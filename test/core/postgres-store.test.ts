/**
 * What only the PostgreSQL backend has: a schema of its own in a shared database, a URL with a
 * password that must never show, change notifications, TLS settings.
 */
import { createServer, connect as connectTcp, type AddressInfo } from 'node:net';
import postgres from 'postgres';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AttemptResult, ClaimResult } from '../../src/core/store.js';
import { PG_MIGRATIONS, PG_SCHEMA_VERSION } from '../../src/core/store/postgres-schema.js';
import { openPostgresStore } from '../../src/core/store/postgres.js';
import { parsePostgresUrl } from '../../src/core/store/postgres-url.js';
import { displayLocation, openStore } from '../../src/core/store/open.js';
import { ConfigError, type Recipient, UserError } from '../../src/core/types.js';
import { createTestDatabase, pgUrl, type TestDatabase } from '../helpers/backends.js';
import { addRecipients, settings } from '../helpers/store.js';

const T0 = Date.UTC(2026, 10, 27, 12);

describe.skipIf(!pgUrl() && process.env.CI !== 'true')('PostgreSQL backend', () => {
  let db: TestDatabase;
  let admin: postgres.Sql;
  beforeEach(async () => {
    db = await createTestDatabase('postgres');
    admin = postgres(pgUrl()!.replace(/\?.*$/, ''), { onnotice: () => undefined, max: 1 });
  });
  afterEach(async () => {
    await admin.end({ timeout: 5 });
    await db.cleanup();
  });
  const schemaOf = (location: string) => new URL(location).searchParams.get('schema')!;
  /** Polls the server's own view (locks, waits) until `done`; 10 s at most. */
  const until = async (done: () => Promise<boolean>, what = 'the server never got there') => {
    for (const start = Date.now(); !(await done()); ) {
      if (Date.now() - start > 10_000) throw new Error(what);
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  it('creates its own schema on first use, with its tables there and none in public', async () => {
    const store = await db.open();
    await store.createCampaign(settings(), T0);
    const schema = schemaOf(db.location);
    const tables = (await admin`SELECT table_name FROM information_schema.tables WHERE table_schema = ${schema} ORDER BY 1`).map((r) => r.table_name);
    expect(tables).toEqual(['campaign_counts', 'campaigns', 'events', 'meta', 'recipients', 'runners', 'suppressions']);
    const inPublic = await admin`SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_name IN ('campaigns', 'recipients')`;
    expect(inPublic).toHaveLength(0);
    const meta = await admin.unsafe(`SELECT key, value FROM "${schema}".meta ORDER BY key`);
    expect(meta).toEqual([
      { key: 'application', value: 'aremko-mail' },
      { key: 'schema_version', value: String(PG_SCHEMA_VERSION) },
    ]);
  });

  it('shares a database with another application: its tables in their schema are never touched', async () => {
    const schema = schemaOf(db.location);
    await admin.unsafe(`CREATE SCHEMA IF NOT EXISTS webapp; CREATE TABLE IF NOT EXISTS webapp.campaigns (id int, title text); INSERT INTO webapp.campaigns VALUES (1, 'theirs')`);
    try {
      const store = await db.open();
      await store.createCampaign(settings({ name: 'ours' }), T0);
      expect(await admin`SELECT * FROM webapp.campaigns`).toEqual([{ id: 1, title: 'theirs' }]);
      expect((await admin.unsafe(`SELECT name FROM "${schema}".campaigns`)).map((r) => r.name)).toEqual(['ours']);
    } finally {
      await admin.unsafe('DROP SCHEMA webapp CASCADE');
    }
  });

  it('upgrades a version-1 schema in place; the status counts stay equal to the rows through imports, inserts and deletes', async () => {
    const schema = schemaOf(db.location);
    // A schema as version 1 left it, with a campaign and recipients counted by its row triggers.
    await admin.unsafe(`CREATE SCHEMA "${schema}"`);
    await admin.begin(async (tx) => {
      await tx.unsafe(`SET LOCAL search_path TO "${schema}"`);
      await tx.unsafe(PG_MIGRATIONS[0]!);
      await tx.unsafe(`INSERT INTO meta (key, value) VALUES ('application', 'aremko-mail'), ('schema_version', '1')`);
    });
    const old = await openPostgresStore(db.location).catch((err) => err as Error);
    expect(old).not.toBeInstanceOf(Error); // opening migrates it
    const store = old as Awaited<ReturnType<typeof openPostgresStore>>;
    expect((await admin.unsafe(`SELECT value FROM "${schema}".meta WHERE key = 'schema_version'`))[0]!.value).toBe(String(PG_SCHEMA_VERSION));

    const { id } = await store.createCampaign(settings(), T0);
    await addRecipients(store, id, 300);
    await addRecipients(store, id, 200, 300);
    await admin.unsafe(`INSERT INTO "${schema}".recipients (campaign_id, email, status, fields)
                        SELECT ${id}, 'x' || g || '@example.org', CASE WHEN g % 2 = 0 THEN 'failed' ELSE 'pending' END, '{}' FROM generate_series(1, 50) g`);
    await admin.unsafe(`DELETE FROM "${schema}".recipients WHERE id % 7 = 0`);
    const rows = await admin.unsafe(`SELECT status, count(*)::int AS n FROM "${schema}".recipients GROUP BY status ORDER BY status`);
    const [summary] = await store.summaries([id], T0);
    expect(rows.length).toBeGreaterThan(1);
    for (const r of rows) expect(summary!.counts[r.status as keyof typeof summary.counts], r.status).toBe(r.n);
    expect(summary!.counts.pending + summary!.counts.failed).toBe(550 - Math.floor(550 / 7));
    await store.close();
  });

  it('upgrading to version 4 keeps every address and compares them without A-Z case only, on a server whose locale folds more', async () => {
    const local = await createTestDatabase('postgres', { locale: 'C.UTF-8' });
    const sql = postgres(local.location.replace(/\?.*$/, ''), { onnotice: () => undefined, max: 1 });
    try {
      // Version 3, as an older aremko-mail left it: there, lower() folded É too.
      await sql.begin(async (tx) => {
        await tx.unsafe('CREATE SCHEMA aremko_mail');
        await tx.unsafe('SET LOCAL search_path TO aremko_mail');
        for (const migration of PG_MIGRATIONS.slice(0, 3)) await tx.unsafe(migration);
        await tx.unsafe(`INSERT INTO meta (key, value) VALUES ('application', 'aremko-mail'), ('schema_version', '3')`);
      });
      await sql.unsafe(`INSERT INTO aremko_mail.campaigns (name, subject_tpl, from_addr, html_tpl, batch_size, interval_s, max_attempts, retry_delay_s, created_at)
                        VALUES ('old', 's', 'a@b.cl', 'h', 10, 0, 3, 60, 0)`);
      await sql.unsafe(`INSERT INTO aremko_mail.recipients (campaign_id, email) VALUES (1, 'JOSÉ@example.com'), (1, 'Ana@example.com')`);
      await sql.unsafe(`INSERT INTO aremko_mail.suppressions (email, reason, created_at) VALUES ('ÑANDÚ@example.com', 'manual', 0)`);
      await expect(sql.unsafe(`INSERT INTO aremko_mail.recipients (campaign_id, email) VALUES (1, 'josé@example.com')`)).rejects.toMatchObject({ code: '23505' });

      const store = await local.open(); // upgrades it
      expect((await sql.unsafe(`SELECT value FROM aremko_mail.meta WHERE key = 'schema_version'`))[0]!.value).toBe(String(PG_SCHEMA_VERSION));
      const session = await store.beginImport(1);
      await session.add(['josé@example.com', 'ANA@example.com', 'ñandú@example.com', 'ÑAndÚ@example.com'].map((email, i) => ({ line: i + 2, email, fields: {} })));
      expect(await session.commit()).toEqual({ imported: 2, duplicates: 1, suppressed: 1 });
      const rows = await sql.unsafe(`SELECT email, status FROM aremko_mail.recipients ORDER BY id`);
      expect(rows.map((r) => [r.email, r.status])).toEqual([
        ['JOSÉ@example.com', 'pending'],
        ['Ana@example.com', 'pending'],
        ['josé@example.com', 'pending'],
        ['ñandú@example.com', 'pending'],
        ['ÑAndÚ@example.com', 'suppressed'],
      ]);
    } finally {
      await sql.end({ timeout: 5 });
      await local.cleanup();
    }
  });

  it('a recipient always has its campaign: one with none is refused, a campaign insert waits for a delete, deleting a campaign deletes its recipients and counts', async () => {
    const store = await db.open();
    const schema = schemaOf(db.location);
    const { id } = await store.createCampaign(settings(), T0);
    const { id: kept } = await store.createCampaign(settings(), T0);
    await addRecipients(store, id, 30);
    await addRecipients(store, kept, 5);
    await expect(
      admin.unsafe(`INSERT INTO "${schema}".recipients (campaign_id, email) VALUES (${id}, 'ok@example.org'), (${kept + 100}, 'orphan@example.org')`),
    ).rejects.toMatchObject({ code: '23503', message: `recipients refer to campaign ${kept + 100}, which does not exist` });

    // An open import holds its campaign as the foreign key did: a DELETE of it waits for the commit, then takes the new rows too.
    const session = await store.beginImport(id);
    await session.add([{ line: 2, email: 'late@example.org', fields: {} }]);
    await session.commit();
    await admin.unsafe(`DELETE FROM "${schema}".campaigns WHERE id = ${id}`);
    expect(await admin.unsafe(`SELECT campaign_id, count(*)::int AS n FROM "${schema}".recipients GROUP BY campaign_id`)).toEqual([{ campaign_id: String(kept), n: 5 }]);
    expect((await admin.unsafe(`SELECT count(*)::int AS n FROM "${schema}".campaign_counts WHERE campaign_id = ${id}`))[0]!.n).toBe(0);
    expect((await store.summaries([kept], T0))[0]!.counts.pending).toBe(5);
    await store.close();
  });

  it('an import holds its campaign: deleting the campaign meanwhile waits for the import, then deletes what it added', async () => {
    const store = await db.open();
    const schema = schemaOf(db.location);
    const { id } = await store.createCampaign(settings(), T0);
    const session = await store.beginImport(id);
    await session.add(Array.from({ length: 20_000 }, (_, i) => ({ line: i + 2, email: `r${i}@example.org`, fields: {} })));
    await session.add([{ line: 20_002, email: 'last@example.org', fields: {} }]);
    // The first chunk is in once its transaction holds the campaigns table's row-share lock.
    await until(async () => (await admin`SELECT 1 FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
      JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = ${schema} AND c.relname = 'campaigns' AND l.mode = 'RowShareLock'`).length > 0, 'no lock');
    const other = postgres(pgUrl()!.replace(/\?.*$/, ''), { onnotice: () => undefined, max: 1 });
    try {
      // postgres.js sends a query when it is awaited or executed.
      const deleting = other.unsafe(`DELETE FROM "${schema}".campaigns WHERE id = ${id}`).execute();
      await until(async () => (await admin`SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'DELETE FROM%'`).length > 0);
      expect((await session.commit()).imported).toBe(20_001);
      await deleting;
    } finally {
      await other.end({ timeout: 5 });
    }
    expect((await admin.unsafe(`SELECT count(*)::int AS n FROM "${schema}".recipients`))[0]!.n).toBe(0);
    await store.close();
  });

  it('imports into one campaign take turns: the second waits for the first, then skips the addresses it brought', async () => {
    // The first import finds the campaign empty and inserts what it has not seen unchecked; had
    // the second not waited, it would have found it empty too, and failed on the unique index.
    const store = await db.open();
    const { id } = await store.createCampaign(settings(), T0);
    const waits: string[] = [];
    const first = await store.beginImport(id, { onWait: () => waits.push('first') });
    await first.add([
      { line: 2, email: 'shared@example.org', fields: {} },
      { line: 3, email: 'one@example.org', fields: {} },
    ]);
    const opening = store.beginImport(id, { onWait: () => waits.push('second') });
    await until(async () => (await admin`SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND wait_event = 'advisory'`).length > 0, 'the second import never waited');
    expect(waits).toEqual(['second']); // told before it waits, so the operator sees why nothing moves
    expect(await first.commit()).toEqual({ imported: 2, duplicates: 0, suppressed: 0 });
    const second = await opening;
    await second.add([
      { line: 2, email: 'SHARED@example.org', fields: {} },
      { line: 3, email: 'two@example.org', fields: {} },
    ]);
    expect(await second.commit()).toEqual({ imported: 1, duplicates: 1, suppressed: 0 });
    // Other campaigns do not wait.
    const other = await store.createCampaign(settings(), T0);
    const third = await store.beginImport(id);
    const elsewhere = await store.beginImport(other.id);
    await elsewhere.add([{ line: 2, email: 'shared@example.org', fields: {} }]);
    expect(await elsewhere.commit()).toEqual({ imported: 1, duplicates: 0, suppressed: 0 });
    await third.abort();
    expect((await store.summaries([id], T0))[0]!.counts.total).toBe(3);
    await store.close();
  });

  it('an import whose session the server ends mid-file fails in one line, does not crash, and leaves the campaign as it was', async () => {
    const store = await db.open();
    const schema = schemaOf(db.location);
    const { id } = await store.createCampaign(settings(), T0);
    await addRecipients(store, id, 3);
    const rows = (from: number, n: number) => Array.from({ length: n }, (_, i) => ({ line: from + i, email: `r${from + i}@example.org`, fields: {} }));
    const session = await store.beginImport(id);
    await session.add(rows(2, 20_000));
    await session.add(rows(20_002, 10));
    const holder = async () =>
      (await admin`SELECT l.pid FROM pg_locks l JOIN pg_class c ON c.oid = l.relation JOIN pg_namespace n ON n.oid = c.relnamespace
                   WHERE n.nspname = ${schema} AND c.relname = 'campaigns' AND l.mode = 'RowShareLock'`)[0]?.pid as number | undefined;
    await until(async () => (await holder()) !== undefined, 'the first chunk never went in');
    await admin`SELECT pg_terminate_backend(${(await holder())!})`;
    const failure = await (async () => {
      await session.add(rows(20_012, 20_000)); // a chunk for the ended session
      await session.commit();
    })().catch((err: Error) => err);
    expect(failure).toBeInstanceOf(UserError);
    expect((failure as Error).message).not.toContain('\n');
    expect((failure as Error).message).toMatch(/^database /);
    await session.abort();
    expect((await store.summaries([id], T0))[0]!.counts.total).toBe(3);
    expect((await admin.unsafe(`SELECT count(*)::int AS n FROM "${schema}".recipients`))[0]!.n).toBe(3);
    await store.close();
  });

  it('refuses a schema written by a newer version, and one holding another application\'s tables, leaving both untouched', async () => {
    const store = await db.open();
    await store.close();
    const schema = schemaOf(db.location);
    await admin.unsafe(`UPDATE "${schema}".meta SET value = '${PG_SCHEMA_VERSION + 3}' WHERE key = 'schema_version'`);
    await expect(openPostgresStore(db.location)).rejects.toThrow(/newer aremko-mail .* left untouched/);
    expect((await admin.unsafe(`SELECT value FROM "${schema}".meta WHERE key = 'schema_version'`))[0]!.value).toBe(String(PG_SCHEMA_VERSION + 3));

    const foreign = `f_${schema}`;
    await admin.unsafe(`CREATE SCHEMA "${foreign}"; CREATE TABLE "${foreign}".notes (x int)`);
    try {
      const url = db.location.replace(`schema=${schema}`, `schema=${foreign}`);
      await expect(openPostgresStore(url)).rejects.toThrow(/holds tables that are not aremko-mail's; it was left untouched/);
      expect((await admin`SELECT table_name FROM information_schema.tables WHERE table_schema = ${foreign}`).map((r) => r.table_name)).toEqual(['notes']);
    } finally {
      await admin.unsafe(`DROP SCHEMA "${foreign}" CASCADE`);
    }
  });

  it('never shows the password: not in the URL it displays, not in a refused login, not when the server is down', async () => {
    const url = new URL(db.location);
    const password = decodeURIComponent(url.password);
    expect(password.length).toBeGreaterThan(4);
    expect(displayLocation(db.location)).toContain(':***@');
    expect(displayLocation(db.location)).not.toContain(password);
    const store = await db.open();
    expect(store.display).not.toContain(password);
    await store.close();

    url.password = 'Wr0ng-Secret';
    const refused = await openPostgresStore(url.toString()).catch((e) => e);
    expect(refused).toBeInstanceOf(UserError);
    expect(refused.message).toMatch(/refused the login of user postgres/);
    expect(refused.message).not.toContain('Wr0ng-Secret');
    expect(refused.message).toContain('***');

    url.password = 'Wr0ng-Secret';
    url.port = '1';
    const down = await openPostgresStore(url.toString()).catch((e) => e);
    expect(down).toBeInstanceOf(UserError);
    expect(down.message).toMatch(/cannot reach the database at 127\.0\.0\.1:1\/postgres \(connection refused\)/);
    expect(down.message).not.toContain('Wr0ng-Secret');
  });

  it('URL options are checked, and a bad one is a configuration error that hides the password', () => {
    expect(parsePostgresUrl('postgres://u:p@h/db')).toMatchObject({ host: 'h', port: 5432, database: 'db', schema: 'aremko_mail', sslmode: 'prefer' });
    expect(parsePostgresUrl('postgresql://u:p%40ss@h:6543/db?sslmode=verify-full&schema=mail_2')).toMatchObject({ port: 6543, password: 'p@ss', sslmode: 'verify-full', schema: 'mail_2' });
    for (const [url, why] of [
      ['postgres://u:s3cr3t@h/db?sslmode=maybe', /sslmode must be one of disable, prefer, require, verify-ca, verify-full \(got "maybe"\)/],
      ['postgres://u:s3cr3t@h/db?schema=Bad-Name', /schema must be a lower-case name/],
      ['postgres://u:s3cr3t@h/db?colour=blue', /unknown option "colour"/],
      ['postgres://u:s3cr3t@h/', /names no database/],
    ] as const) {
      let err: unknown;
      try {
        parsePostgresUrl(url);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as Error).message).toMatch(why);
      expect((err as Error).message).not.toContain('s3cr3t');
    }
  });

  it('a lease renewal goes through while another runner\'s transaction holds the campaign (a stalled runner cannot expire the others)', async () => {
    const store = await db.open();
    const c = await store.createCampaign(settings(), T0);
    await store.transition(c.id, ['draft'], 'sending', T0);
    await store.joinCampaign(c.id, { host: 'h', pid: 1, token: 'me' }, T0, 60_000, []);
    const schema = schemaOf(db.location);
    const holder = await admin.reserve();
    try {
      await holder.unsafe('BEGIN');
      await holder.unsafe(`SELECT id FROM "${schema}".campaigns WHERE id = ${c.id} FOR UPDATE`);
      expect(await store.renewLease('me', T0 + 1000, 60_000)).toBe(true);
      // whereas a claim waits for the campaign: it is still waiting when the holder lets go
      let claimed = false;
      const step = store.step(c.id, 'me', T0 + 1000, [], 1).then(() => (claimed = true));
      await store.listRunners(c.id); // a round trip for the claim to reach the server
      expect(claimed).toBe(false);
      await holder.unsafe('COMMIT');
      await step;
      expect(claimed).toBe(true);
    } finally {
      holder.release();
    }
  });

  it('a step is three round trips: BEGIN, the campaign\'s lock with the answers, the claim with the COMMIT', async () => {
    // Between the store and the server, a proxy counts the client's turns: each time the client
    // speaks after the server has, the client waited for an answer first. Coalesced or split
    // packets change no turn.
    let turns = 0;
    const target = new URL(db.location);
    const proxy = createServer((client) => {
      const server = connectTcp(Number(target.port), target.hostname);
      let last: 'client' | 'server' | null = null;
      client.on('data', (d) => {
        if (last !== 'client') turns++;
        last = 'client';
        server.write(d);
      });
      server.on('data', (d) => {
        last = 'server';
        client.write(d);
      });
      for (const [a, b] of [[client, server], [server, client]] as const) {
        a.on('error', () => b.destroy());
        a.on('close', () => b.destroy());
      }
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const through = new URL(db.location);
    through.port = String((proxy.address() as AddressInfo).port);
    const store = await openStore(through.toString());
    try {
      const c = await store.createCampaign(settings({ batchSize: 100 }), T0);
      await addRecipients(store, c.id, 5);
      await store.transition(c.id, ['draft'], 'sending', T0);
      await store.joinCampaign(c.id, { host: 'h', pid: 1, token: 'me' }, T0, 60_000, []);
      const sent = (r: Recipient, at: number): AttemptResult => ({ recipientId: r.id, at, outcome: 'sent', detail: '250 OK', messageId: `<${r.id}@x>` });
      // Two steps first: every statement of a step has been prepared once.
      let step = await store.step(c.id, 'me', T0 + 1, [], 1);
      for (let i = 2; i <= 4; i++) {
        const [r] = (step.claim as Extract<ClaimResult, { kind: 'claimed' }>).recipients;
        const before = turns;
        step = await store.step(c.id, 'me', T0 + i, [sent(r!, T0 + i)], 1);
        expect(step.claim?.kind).toBe('claimed');
        if (i === 4) expect(turns - before).toBe(3);
      }
    } finally {
      await store.close();
      proxy.close();
    }
  });

  it('a watcher learns of another connection\'s commits through LISTEN, within a second', async () => {
    const watcher = await db.open();
    const writer = await db.open();
    const before = await watcher.changeMarker();
    await writer.createCampaign(settings(), T0);
    const deadline = Date.now() + 1000;
    let after = await watcher.changeMarker();
    while (after === before && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
      after = await watcher.changeMarker();
    }
    expect(after).toBeGreaterThan(before);
  });
});

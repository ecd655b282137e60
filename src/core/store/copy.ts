/**
 * `db copy`: a whole SQLite database into an empty PostgreSQL schema — campaigns, recipients
 * (status, attempts, Message-IDs…), the log, the suppression list — in one transaction, with
 * COPY, then counted on both sides. Runners are not copied: they are processes of the machine
 * being left behind; a recipient one of them had in flight is taken over (in_doubt) by the first
 * runner on PostgreSQL, as after any dead runner.
 */
import type Database from 'better-sqlite3';
import type { Sql } from 'postgres';
import { printable } from '../printable.js';
import { UserError } from '../types.js';
import { copyIn, copyText } from './postgres-copy.js';
import { openPostgresStore } from './postgres.js';
import { parsePostgresUrl, type PgLocation, pgFault } from './postgres-url.js';
import { openSqliteStore } from './sqlite.js';

/** Copied in this order (foreign keys); ids are kept. */
const TABLES = ['campaigns', 'suppressions', 'recipients', 'events'] as const;
type Table = (typeof TABLES)[number];
/** Tables whose ids come from an identity sequence, set past the copied ids afterwards. */
const IDENTITY: readonly Table[] = ['campaigns', 'recipients', 'events'];

export interface CopyProgress {
  table: Table;
  /** Rows copied so far, and in all (every table). */
  done: number;
  total: number;
  /** After the rows: counting and checking both sides before the commit. */
  verifying?: boolean;
}

export interface CopyReport {
  from: string;
  to: string;
  schema: string;
  /** Rows per table, as counted in the source and then in PostgreSQL. */
  tables: Record<Table, { source: number; copied: number }>;
  /** Recipients per campaign and status, equal on both sides. */
  recipients: Record<string, Record<string, number>>;
  ms: number;
}

type Row = Record<string, unknown>;

/** COPY's text format: \N for null, the rest as copyText writes it. */
function copyValue(v: unknown): string {
  if (v === null || v === undefined) return '\\N';
  return copyText(typeof v === 'string' ? v : Buffer.isBuffer(v) ? v.toString('utf8') : String(v));
}

async function targetColumns(sql: Sql, schema: string, table: Table): Promise<string[]> {
  const rows = await sql`SELECT column_name FROM information_schema.columns WHERE table_schema = ${schema} AND table_name = ${table} ORDER BY ordinal_position`;
  return rows.map((r) => r.column_name as string);
}

/** Counts per campaign and status, from the rows themselves (not from the kept counts). */
function sourceCounts(db: Database.Database): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (const r of db.prepare(`SELECT campaign_id AS c, status AS s, count(*) AS n FROM recipients GROUP BY 1, 2`).all() as Row[])
    (out[String(r.c)] ??= {})[String(r.s)] = Number(r.n);
  return out;
}

export async function copySqliteToPostgres(
  fromPath: string,
  toUrl: string,
  options: { now?: number; onProgress?: (p: CopyProgress) => void } = {},
): Promise<CopyReport> {
  const started = Date.now();
  const now = options.now ?? Date.now();
  const loc: PgLocation = parsePostgresUrl(toUrl);
  const source = openSqliteStore(fromPath, { mustExist: true });
  const db = source.raw;
  let target: Awaited<ReturnType<typeof openPostgresStore>> | null = null;
  try {
    // A database a runner is sending from is a moving target: copy it once they are done.
    const live = db.prepare(`SELECT owner, campaign_id FROM runners WHERE expires_at > ?`).all(now) as Row[];
    if (live.length > 0)
      throw new UserError(
        `${source.display}: campaign ${live[0]!.campaign_id} is being sent by ${live[0]!.owner}; stop every run (or wait for it) before copying; nothing was copied`,
      );
    target = await openPostgresStore(toUrl); // creates and migrates the schema
    const sql = target.sql;
    const [used] = await sql`
      SELECT (SELECT count(*) FROM campaigns) AS campaigns, (SELECT count(*) FROM suppressions) AS suppressions, (SELECT count(*) FROM events) AS events`;
    if (Number(used!.campaigns) + Number(used!.suppressions) + Number(used!.events) > 0)
      throw new UserError(
        `${loc.display}: schema "${loc.schema}" is not empty (${used!.campaigns} campaigns, ${used!.suppressions} suppressions); ` +
          'db copy only fills an empty one (choose another with ?schema=); nothing was copied',
      );

    const totals = {} as Record<Table, number>;
    for (const t of TABLES) totals[t] = Number((db.prepare(`SELECT count(*) AS n FROM ${t}`).get() as Row).n);
    const copied = {} as Record<Table, number>;
    const allRows = TABLES.reduce((n, t) => n + totals[t], 0);
    let before = 0; // rows of the tables already copied

    // One reserved connection, one transaction: a copy that fails half-way leaves the schema empty.
    const conn = await sql.reserve();
    try {
      await conn.unsafe('BEGIN');
      // The counts are computed once at the end, not by a trigger per copied row.
      await conn.unsafe('ALTER TABLE recipients DISABLE TRIGGER USER');
      for (const table of TABLES) {
        const sourceCols = new Set((db.prepare(`SELECT name FROM pragma_table_info(?)`).all(table) as Row[]).map((r) => String(r.name)));
        const cols = (await targetColumns(sql, loc.schema, table)).filter((c) => sourceCols.has(c));
        const select = db.prepare(`SELECT ${cols.map((c) => `"${c}"`).join(', ')} FROM ${table}${table === 'suppressions' ? '' : ' ORDER BY id'}`);
        let n = 0;
        try {
          const stream = await copyIn(conn.unsafe(`COPY ${table} (${cols.map((c) => `"${c}"`).join(', ')}) FROM STDIN`));
          let chunk = '';
          for (const row of select.iterate() as IterableIterator<Row>) {
            chunk += cols.map((c) => copyValue(row[c])).join('\t') + '\n';
            n++;
            if (chunk.length > 1 << 16) {
              await stream.write(chunk);
              chunk = '';
              options.onProgress?.({ table, done: before + n, total: allRows });
            }
          }
          if (chunk) await stream.write(chunk);
          await stream.end();
        } catch (err) {
          throw refusedRow(err, table, source.display);
        }
        copied[table] = n;
        before += n;
        options.onProgress?.({ table, done: before, total: allRows });
      }
      options.onProgress?.({ table: 'events', done: before, total: allRows, verifying: true });
      await conn.unsafe('ALTER TABLE recipients ENABLE TRIGGER USER');
      // With the user triggers off, so was the check that a recipient's campaign exists (a
      // trigger since schema 3, no longer a foreign key): done here once, for every row.
      const [orphan] = await conn`SELECT r.campaign_id FROM recipients r WHERE NOT EXISTS (SELECT 1 FROM campaigns c WHERE c.id = r.campaign_id) LIMIT 1`;
      if (orphan)
        throw new UserError(`db copy: ${source.display} has recipients of campaign ${orphan.campaign_id}, which it does not have; nothing was copied`);
      await conn`INSERT INTO campaign_counts (campaign_id, status, n) SELECT campaign_id, status, count(*) FROM recipients GROUP BY 1, 2`;
      for (const t of IDENTITY)
        await conn.unsafe(`SELECT setval(pg_get_serial_sequence('"${loc.schema}".${t}', 'id'), coalesce(max(id), 1), max(id) IS NOT NULL) FROM ${t}`);

      // Verify before committing: every table's rows, and recipients per campaign and status.
      const want = sourceCounts(db);
      const got: Record<string, Record<string, number>> = {};
      for (const r of await conn`SELECT campaign_id AS c, status AS s, count(*) AS n FROM recipients GROUP BY 1, 2`)
        (got[String(r.c)] ??= {})[String(r.s)] = Number(r.n);
      const kept: Record<string, Record<string, number>> = {};
      for (const r of await conn`SELECT campaign_id AS c, status AS s, n FROM campaign_counts WHERE n <> 0`)
        (kept[String(r.c)] ??= {})[String(r.s)] = Number(r.n);
      for (const t of TABLES) {
        const [c] = await conn.unsafe(`SELECT count(*) AS n FROM ${t}`);
        if (Number(c!.n) !== totals[t] || copied[t] !== totals[t])
          throw new UserError(`db copy: ${t} has ${c!.n} rows in PostgreSQL but ${totals[t]} in ${source.display}; nothing was copied`);
      }
      if (JSON.stringify(sortKeys(got)) !== JSON.stringify(sortKeys(want)) || JSON.stringify(sortKeys(kept)) !== JSON.stringify(sortKeys(want)))
        throw new UserError(`db copy: the recipients' statuses differ between ${source.display} and PostgreSQL; nothing was copied`);
      await conn.unsafe('COMMIT');
      return {
        from: source.display,
        to: loc.display,
        schema: loc.schema,
        tables: Object.fromEntries(TABLES.map((t) => [t, { source: totals[t], copied: copied[t] }])) as CopyReport['tables'],
        recipients: want,
        ms: Date.now() - started,
      };
    } catch (err) {
      await conn.unsafe('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      conn.release();
    }
  } catch (err) {
    throw pgFault(err, loc);
  } finally {
    await target?.close().catch(() => undefined);
    await source.close();
  }
}

/**
 * PostgreSQL refusing a copied row (a data exception, a broken constraint: SQLSTATE classes 22
 * and 23), told as what it is: the source holds something the target cannot; any other failure
 * as it came.
 */
function refusedRow(err: unknown, table: Table, from: string): unknown {
  const e = err as { code?: unknown; message?: string; where?: string };
  if (typeof e.code !== 'string' || !/^2[23]/.test(e.code)) return err;
  const where = e.where ? ` (${printable(e.where.split('\n')[0]!.slice(0, 200))})` : '';
  return new UserError(`db copy: PostgreSQL refused a row of ${table} from ${from}: ${printable(e.message ?? e.code)}${where}; nothing was copied`);
}

function sortKeys(o: Record<string, Record<string, number>>): [string, [string, number][]][] {
  return Object.keys(o)
    .sort()
    .map((k) => [k, Object.entries(o[k]!).sort(([a], [b]) => a.localeCompare(b))]);
}


/**
 * Import into PostgreSQL: rows are staged with COPY and moved into `recipients` a chunk at a
 * time, in one transaction, while the file goes on being read.
 *
 * Why chunks: the work splits between this process (reading and parsing the file) and the
 * server (indexes, WAL). Staging the whole file first and moving it after made the import their
 * sum (1,000,000 rows: 24 s of COPY bound by parsing, then one 52 s INSERT). With a chunk being
 * moved while the next one is parsed, it takes about the longer of the two: here the server's.
 *
 * Why COPY into a staging table rather than a chunk as one JSON parameter (json_to_recordset,
 * one statement instead of three): measured alternated, 1,000,000 rows took 34.8-35.4 s this
 * way against 37.7-39.3 s that way; the server's JSON parsing costs more than COPY's.
 *
 * Why one transaction: an import is all or nothing, as on SQLite. The moved rows are invisible
 * to runners until it commits; the campaign's status-count rows are locked from the first chunk
 * on, so a runner claiming in the same campaign waits for the commit (as it waited for the one
 * final INSERT before: 52 s of one 78 s import of 1,000,000 rows).
 */
import type { Sql } from 'postgres';
import type { Writable } from 'node:stream';
import { setImmediate } from 'node:timers/promises';
import type { ImportCounts, ImportSession, StagedRecipient } from '../store.js';
import { isConnectionLoss } from './postgres-pipeline.js';

/** Rows per chunk: big enough that a chunk's fixed costs vanish, small enough that its sort fits in memory. */
export const IMPORT_CHUNK_ROWS = 20_000;
/** A chunk also moves once this long has passed since the last one (a file read from a slow pipe). */
const FLUSH_AFTER_MS = 2_000;
/** How long the import's session may sit idle in its transaction before the server ends it. */
const IDLE_LIMIT_S = 60;

/** A value in COPY's text format: backslash, tab and line breaks escaped (db copy writes its rows with it too). */
export function copyText(value: string): string {
  return value.replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r'));
}

function writeAll(stream: Writable, chunk: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    stream.once('error', reject);
    stream.write(chunk);
    stream.end(() => {
      stream.off('error', reject);
      resolve();
    });
  });
}

/** A client of one connection for the import; `onclose` is called when that connection closes. */
export type ImportClient = (options: { onclose: () => void }) => Sql;

/**
 * Opens an import session into `campaignId` on a client of its own. `fault` turns a driver
 * error into the store's message (the password hidden).
 */
export async function beginPgImport(open: ImportClient, campaignId: number, fault: (err: unknown) => Error): Promise<ImportSession> {
  // A client of its own rather than a connection reserved from the store's pool: when the
  // server ends the session, postgres.js 3.4.9 writes a reserved connection's next statement to
  // a socket that is gone (an uncaught TypeError, or a promise that never settles). Here the
  // close is seen (`onclose`) and nothing more is sent. Were a statement to reach a new session
  // all the same, it would find no `import_stage` (TEMP: one session's) and fail: rows never
  // land outside the import's transaction.
  let lost = false;
  const conn = open({ onclose: () => (lost = true) });
  const lostConnection = () => fault(Object.assign(new Error('connection closed during the import'), { code: 'CONNECTION_CLOSED' }));
  const failed = (err: unknown) => {
    const code = (err as { code?: unknown } | null)?.code;
    if (isConnectionLoss(err) || code === '42P01') lost = true; // 42P01: a new session, without the stage
    return lost ? lostConnection() : fault(err);
  };
  /** Each statement of the session: none once its connection is gone. */
  const live = () => {
    if (lost) throw lostConnection();
    return conn;
  };
  let released = false;
  const release = async (outcome: 'COMMIT' | 'ROLLBACK') => {
    if (released) return;
    released = true;
    if (!lost && outcome === 'ROLLBACK') await conn.unsafe('ROLLBACK').catch(() => undefined);
    await conn.end({ timeout: lost ? 0 : 5 }).catch(() => undefined);
  };
  try {
    // No key on the stage: it holds one chunk, sorted by line in memory (work_mem) when moved.
    // Created inside the transaction and dropped at its end, whichever end.
    await live().unsafe('BEGIN');
    await live()`CREATE TEMP TABLE import_stage (line bigint NOT NULL, email text NOT NULL, fields jsonb NOT NULL) ON COMMIT DROP`;
    await live().unsafe(`SET LOCAL work_mem = '64MB'`);
    // Between two chunks the session is idle in its transaction for as long as the next one
    // takes to read; the store's 5 s limit (meant for runners' short transactions) would end an
    // import read from a slow pipe. A chunk also moves after FLUSH_AFTER_MS, whatever its size.
    await live().unsafe(`SET LOCAL idle_in_transaction_session_timeout = '${IDLE_LIMIT_S}s'`);
  } catch (err) {
    const error = failed(err);
    await release('ROLLBACK');
    throw error;
  }

  let staged = 0;
  let imported = 0;
  let suppressed = 0;
  let text = '';
  let rowsInText = 0;
  let flushedAt = Date.now();
  // The chunk being moved, if any; its failure is reported by the next add() or commit().
  let moving: Promise<void> = Promise.resolve();

  const move = (chunk: string) => moveChunk(chunk).catch((err) => Promise.reject(failed(err)));
  const moveChunk = async (chunk: string) => {
    const copy = (await live()`COPY import_stage (line, email, fields) FROM STDIN`.writable()) as Writable;
    await writeAll(copy, chunk);
    // Chunks move in file order and rows within one by line, so the first occurrence of an
    // address wins: a later one meets it in the unique index and is skipped (DO NOTHING).
    const [counted] = await live()`
      WITH moved AS (
        INSERT INTO recipients (campaign_id, email, status, fields)
        SELECT ${campaignId}, s.email,
          CASE WHEN EXISTS (SELECT 1 FROM suppressions x WHERE lower(x.email) = lower(s.email)) THEN 'suppressed' ELSE 'pending' END,
          s.fields
        FROM import_stage s
        ORDER BY s.line
        ON CONFLICT (lower(email), campaign_id) DO NOTHING
        RETURNING status)
      SELECT count(*) FILTER (WHERE status = 'pending')::int AS pending, count(*) FILTER (WHERE status = 'suppressed')::int AS suppressed FROM moved`;
    imported += counted!.pending as number;
    suppressed += counted!.suppressed as number;
    await live()`TRUNCATE import_stage`;
  };

  const flush = async () => {
    const chunk = text;
    text = '';
    rowsInText = 0;
    flushedAt = Date.now();
    const previous = moving;
    moving = previous.then(() => move(chunk));
    // Not awaited here: the caller goes on parsing. A failure is kept for the next await.
    moving.catch(() => undefined);
    await previous;
  };

  return {
    add: async (rows: StagedRecipient[]) => {
      try {
        for (const r of rows) text += `${r.line}\t${copyText(r.email)}\t${copyText(JSON.stringify(r.fields))}\n`;
        rowsInText += rows.length;
        staged += rows.length;
        // At most one chunk on its way while the next is built.
        if (rowsInText >= IMPORT_CHUNK_ROWS || (rowsInText > 0 && Date.now() - flushedAt >= FLUSH_AFTER_MS)) await flush();
        // The file's rows come through promises alone while its data is buffered: without a
        // turn of the event loop the moving chunk's statements wait to be sent and their
        // answers to be read (measured: 350-400 ms per 20,000-row chunk, a third of its move).
        else await setImmediate();
      } catch (err) {
        throw fault(err);
      }
    },
    commit: async (): Promise<ImportCounts> => {
      try {
        if (rowsInText > 0) await flush();
        await moving;
        await live().unsafe('COMMIT');
      } catch (err) {
        const error = failed(err);
        await moving.catch(() => undefined);
        await release('ROLLBACK');
        throw error;
      }
      // Fresh statistics for the planner at once: right after a large import, until autovacuum
      // gets to it, claims planned on the old ones scan (measured at 50,000 recipients: 23 ms per
      // engine step before, 5 ms after). Sampled, so cheap at any size.
      if (imported + suppressed > 0 && !lost) await conn`ANALYZE recipients`.catch(() => undefined);
      await release('COMMIT');
      return { imported, suppressed, duplicates: staged - imported - suppressed };
    },
    abort: async () => {
      await moving.catch(() => undefined);
      await release('ROLLBACK');
    },
  };
}

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
 * Why most rows skip ON CONFLICT: its check costs about a fifth of the move (540 → 430 ms per
 * chunk). Imports into one campaign take turns (a transaction-level advisory lock), so when the
 * campaign had no recipients at the start, an address can only meet one from earlier in this
 * same file, which the import has seen itself (SeenAddresses). Rows that may have been seen go
 * through the checked INSERT; all of them do when the campaign already had recipients.
 *
 * Why one transaction: an import is all or nothing, as on SQLite. The moved rows are invisible
 * to runners until it commits; the campaign's status-count rows are locked from the first chunk
 * on, so a runner claiming in the same campaign waits for the commit (as it waited for the one
 * final INSERT before: 52 s of one 78 s import of 1,000,000 rows).
 */
import type { Sql } from 'postgres';
import { setImmediate } from 'node:timers/promises';
import type { ImportCounts, ImportSession, ImportSessionOptions, StagedRecipient } from '../store.js';
import { copyIn, copyText } from './postgres-copy.js';
import { isConnectionLoss } from './postgres-pipeline.js';
import { SeenAddresses } from './seen-addresses.js';

/** Rows per chunk: big enough that a chunk's fixed costs vanish, small enough that its sort fits in memory. */
export const IMPORT_CHUNK_ROWS = 20_000;
/** A chunk also moves once this long has passed since the last one (a file read from a slow pipe). */
const FLUSH_AFTER_MS = 2_000;
/** How long the import's session may sit idle in its transaction before the server ends it. */
const IDLE_LIMIT_S = 60;

/** Rows in COPY's text format, how many, and how many of them fresh. */
interface Chunk {
  text: string;
  rows: number;
  fresh: number;
}

/** A client of one connection for the import; `onclose` is called when that connection closes. */
export type ImportClient = (options: { onclose: () => void }) => Sql;

/**
 * Opens an import session into `campaignId` on a client of its own. `fault` turns a driver
 * error into the store's message (the password hidden).
 */
export async function beginPgImport(
  open: ImportClient,
  campaignId: number,
  fault: (err: unknown) => Error,
  options: ImportSessionOptions = {},
): Promise<ImportSession> {
  // A client of its own rather than a connection reserved from the store's pool: when the
  // server ends the session, postgres.js 3.4.9 writes a reserved connection's next statement to
  // a socket that is gone (an uncaught TypeError, or a promise that never settles). Here the
  // close is seen (`onclose`) and nothing more is sent. Were a statement to reach a new session
  // all the same, it would find no `import_stage` (TEMP: one session's) and fail: rows never
  // land outside the import's transaction.
  let lost = false;
  /** Set when the campaign had no recipients: rows it calls new are inserted unchecked. */
  let seen: SeenAddresses | null = null;
  /** Cleared when there were no suppressions at the start: rows go in pending, and commit() looks again. */
  let checkSuppressions = true;
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
    // `fresh`: an address this import has certainly not met before (and the campaign was empty).
    await live()`CREATE TEMP TABLE import_stage (line bigint NOT NULL, email text COLLATE "C" NOT NULL, fields jsonb NOT NULL, fresh boolean NOT NULL) ON COMMIT DROP`;
    await live().unsafe(`SET LOCAL work_mem = '64MB'`);
    // Between two chunks the session is idle in its transaction for as long as the next one
    // takes to read; the store's 5 s limit (meant for runners' short transactions) would end an
    // import read from a slow pipe. A chunk also moves after FLUSH_AFTER_MS, whatever its size.
    await live().unsafe(`SET LOCAL idle_in_transaction_session_timeout = '${IDLE_LIMIT_S}s'`);
    // Imports into this campaign take turns, so that whether it was empty stays true to the end.
    // (An advisory lock rather than the campaign's row: runners lock that row at every step,
    // and pause or cancel would wait for the import.)
    const lockKey = live()`hashtextextended(current_schema() || '.import.' || ${campaignId}::bigint, 0)`;
    const [turn] = await live()`SELECT pg_try_advisory_xact_lock(${lockKey}) AS ours`;
    if (!turn!.ours) {
      options.onWait?.();
      await live()`SELECT pg_advisory_xact_lock(${lockKey})`;
    }
    const [existing] = await live()`SELECT EXISTS (SELECT 1 FROM recipients WHERE campaign_id = ${campaignId}) AS recipients,
      EXISTS (SELECT 1 FROM suppressions) AS suppressions`;
    if (!existing!.recipients) seen = new SeenAddresses();
    checkSuppressions = existing!.suppressions as boolean;
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
  let freshInText = 0;
  let flushedAt = Date.now();
  // The chunk being moved, if any; its failure is reported by the next add() or commit().
  let moving: Promise<void> = Promise.resolve();

  const move = (chunk: Chunk) => moveChunk(chunk).catch((err) => Promise.reject(failed(err)));
  /** Inserts the staged rows (`fresh` or not) in line order; counts what went in. */
  const insertStaged = async (fresh: boolean) => {
    // Chunks move in file order and rows within one by line, so the first occurrence of an
    // address wins: a later one meets it in the unique index and is skipped (DO NOTHING). A
    // fresh row is the first of its address in the whole campaign, and the rows that are not
    // go in after the chunk's fresh ones: none of them can be an earlier occurrence of a fresh
    // one, since SeenAddresses would then have marked that one not fresh.
    const [counted] = await live()`
      WITH moved AS (
        INSERT INTO recipients (campaign_id, email, status, fields)
        SELECT ${campaignId}, s.email,
          ${checkSuppressions ? live()`CASE WHEN EXISTS (SELECT 1 FROM suppressions x WHERE lower(x.email) = lower(s.email)) THEN 'suppressed' ELSE 'pending' END` : live()`'pending'`},
          s.fields
        FROM import_stage s
        WHERE s.fresh = ${fresh}
        ORDER BY s.line
        ${fresh ? live()`` : live()`ON CONFLICT (lower(email), campaign_id) DO NOTHING`}
        RETURNING status)
      SELECT count(*) FILTER (WHERE status = 'pending')::int AS pending, count(*) FILTER (WHERE status = 'suppressed')::int AS suppressed FROM moved`;
    imported += counted!.pending as number;
    suppressed += counted!.suppressed as number;
  };
  const moveChunk = async (chunk: Chunk) => {
    const copy = await copyIn(live()`COPY import_stage (line, email, fields, fresh) FROM STDIN`);
    await copy.write(chunk.text);
    await copy.end();
    if (chunk.fresh > 0) await insertStaged(true);
    if (chunk.fresh < chunk.rows) await insertStaged(false);
    await live()`TRUNCATE import_stage`;
  };

  /**
   * Suppressions added while the rows went in unchecked (there were none at the start): a new
   * suppression marks the pending recipients it finds, and these were not committed yet. (When
   * there were some at the start, each chunk is checked as it moves; rows moved before a
   * suppression added meanwhile escape it, as they did before this path existed.)
   */
  const suppressLate = async () => {
    const [any] = await live()`SELECT EXISTS (SELECT 1 FROM suppressions) AS any`;
    if (!any!.any) return;
    const late = await live()`
      UPDATE recipients r SET status = 'suppressed'
      WHERE r.campaign_id = ${campaignId} AND r.status = 'pending'
        AND EXISTS (SELECT 1 FROM suppressions x WHERE lower(x.email) = lower(r.email))`;
    imported -= late.count;
    suppressed += late.count;
  };

  const flush = async () => {
    const chunk = { text, rows: rowsInText, fresh: freshInText };
    text = '';
    rowsInText = 0;
    freshInText = 0;
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
        for (const r of rows) {
          const fresh = seen !== null && !seen.check(r.email);
          if (fresh) freshInText++;
          text += `${r.line}\t${copyText(r.email)}\t${copyText(JSON.stringify(r.fields))}\t${fresh ? 't' : 'f'}\n`;
        }
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
        if (!checkSuppressions) await suppressLate();
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

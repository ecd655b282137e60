/**
 * A write transaction on PostgreSQL whose last statements go out with its COMMIT. postgres.js's
 * `sql.begin` sends COMMIT once the function has resolved; the rules resolve without awaiting
 * the writes whose answers are not needed before the commit (the attempt rows; a step's claim,
 * whose rows its caller reads later), so these and COMMIT travel in one pipeline: a round trip
 * less per transaction, which on a machine where each costs 0.5–1 ms is a good part of an engine
 * step.
 *
 * PostgreSQL fails every statement after one that failed and answers COMMIT with a rollback,
 * which postgres.js reports as a successful COMMIT: the commit is reported here only once every
 * statement issued (IssuedStatements) has succeeded, so a failure is never taken for a commit.
 *
 * BEGIN could go out with the first statements too, on a connection of our own from
 * `sql.reserve()` with BEGIN/COMMIT sent by hand. Tried and measured: the bench's engine ÷ plain
 * on PostgreSQL was 0.50–0.58 that way against 0.52–0.53 this way (alternated runs), no
 * difference beyond the noise; and postgres.js 3.4.9's `reserve()` never resolves when it has
 * to open the connection with `fetch_types` off (porsager/postgres#751, #1219), so it also
 * needed the type catalog read on every connection. Not worth it: the connection stays
 * postgres.js's to handle, through `sql.begin`.
 */
import type { Sql, TransactionSql } from 'postgres';
import { PgTx } from './postgres-tx.js';
import { IssuedStatements, type Tx } from './tx.js';

export async function pipelinedWrite<T>(sql: Sql, fn: (t: Tx) => Promise<T>): Promise<T> {
  let statements: IssuedStatements | null = null;
  const value = await begin(sql, '', (tx) => {
    statements = new IssuedStatements(new PgTx(tx as unknown as Sql));
    return fn(statements.tx);
  });
  await statements!.settled();
  return value;
}

/** The connection under a failed statement is gone: postgres.js's codes, the socket's, the server's (57P0x, 08xxx). */
export function isConnectionLoss(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return false;
  return ['CONNECTION_CLOSED', 'CONNECTION_ENDED', 'CONNECTION_DESTROYED', 'ECONNRESET', 'EPIPE'].includes(code) || /^57P0[123]$/.test(code) || /^08/.test(code);
}

/**
 * `sql.begin`, minus two faults of postgres.js 3.4.9 after the server ends a session
 * (`pg_terminate_backend`, a restart, idle_in_transaction_session_timeout), both measured here
 * with concurrent writes (upstream: porsager/postgres#1155, #1199, #1223):
 * - When `fn` fails because its connection is gone, sql.begin sends ROLLBACK through that
 *   connection's object all the same: with its socket gone, the write is scheduled on null (a
 *   TypeError nobody can catch, which ends the process), or it runs on the session the pool has
 *   opened there since, outside any transaction. The server rolls back a transaction whose
 *   session ended: so `fn` failing that way never settles here, sql.begin sends nothing more, and
 *   it rejects by itself on the connection's close. That closes this path only: the same
 *   TypeError was still seen under bursts of concurrent writes just after a session ended, from a
 *   path inside postgres.js.
 * - The ended session's error (57P01) is kept by the connection object and handed to the first
 *   statement of its next session: a BEGIN that in fact succeeded is reported as failed. Nothing
 *   of `fn` ran then, so it is tried once more. (That BEGIN's session is left idle in a
 *   transaction that holds nothing; the next BEGIN on it joins it, or the server's idle timeout
 *   ends it.)
 */
export async function begin<T>(sql: Sql, mode: string, fn: (tx: TransactionSql) => Promise<T>): Promise<T> {
  let started = false;
  const attempt = () =>
    sql.begin(mode, (tx) => {
      started = true;
      return fn(tx).catch((err: unknown) => (isConnectionLoss(err) ? new Promise<never>(() => undefined) : Promise.reject(err)));
    }) as Promise<T>;
  try {
    return await attempt();
  } catch (err) {
    if (started || !isConnectionLoss(err)) throw err;
    return attempt();
  }
}

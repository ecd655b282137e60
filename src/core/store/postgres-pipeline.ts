/**
 * A write transaction on PostgreSQL whose last statements go out with its COMMIT. postgres.js's
 * `sql.begin` sends COMMIT once the function has resolved; the rules resolve without awaiting
 * the writes whose answers nothing needs (the attempt rows, the batch counter), so these and
 * COMMIT travel in one pipeline: a round trip less per transaction, which on a machine where
 * each costs 0.5–1 ms is a good part of an engine step.
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
import type { Sql } from 'postgres';
import { PgTx } from './postgres-tx.js';
import { IssuedStatements, type Tx } from './tx.js';

export async function pipelinedWrite<T>(sql: Sql, fn: (t: Tx) => Promise<T>): Promise<T> {
  let statements: IssuedStatements | null = null;
  const value = (await sql.begin((tx) => {
    statements = new IssuedStatements(new PgTx(tx as unknown as Sql));
    return fn(statements.tx);
  })) as T;
  await statements!.settled();
  return value;
}

/**
 * `COPY … FROM STDIN` through postgres.js, settled however it ends.
 *
 * postgres.js 3.4.9 resolves a COPY's query with its writable stream, and calls the stream's
 * final callback only when the server completes the COPY. When the server refuses the data after
 * its end (a row that breaks a unique index or a check, text PostgreSQL cannot hold) or the
 * connection is lost then, the error goes to the query, whose promise is already settled: it is
 * lost, and whoever waits for the stream waits forever — or, with nothing else holding the event
 * loop, the process exits 0 having done nothing (porsager/postgres#1173; the fix proposed
 * upstream, #1183, is not released). Measured here: `db copy` of a database PostgreSQL's unique
 * index refused exited 0, silently, with nothing copied.
 *
 * So the query's own reject is watched too: `write` and `end` reject with the server's error.
 */
import type { Writable } from 'node:stream';
import type { PendingQuery, Row } from 'postgres';

export interface CopyIn {
  /** Resolves once the chunk is handed to the socket (back-pressure: await each). */
  write(chunk: string): Promise<void>;
  /** Ends the data; resolves when the server has taken every row, rejects with why it did not. */
  end(): Promise<void>;
}

/** Starts `query` (a COPY … FROM STDIN on a reserved connection or in a transaction). */
export async function copyIn(query: PendingQuery<Row[]>): Promise<CopyIn> {
  let refuse!: (err: unknown) => void;
  const refused = new Promise<never>((_, reject) => (refuse = reject));
  refused.catch(() => undefined); // observed through write() and end()
  // postgres.js's Query keeps its promise's reject as an own property and calls it on every
  // failure, including those that come after the stream was handed over.
  const q = query as unknown as { reject: (err: unknown) => void };
  const reject = q.reject;
  q.reject = (err) => {
    refuse(err);
    reject(err);
  };
  const stream = (await query.writable()) as Writable;
  stream.once('error', refuse);
  return {
    write: (chunk) => Promise.race([refused, new Promise<void>((resolve, fail) => stream.write(chunk, (err) => (err ? fail(err) : resolve())))]),
    end: () =>
      Promise.race([
        refused,
        new Promise<void>((resolve) => {
          stream.once('finish', resolve);
          stream.end();
        }),
      ]),
  };
}

/** A value in COPY's text format: backslash, tab and line breaks escaped. */
export function copyText(value: string): string {
  return value.replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r'));
}

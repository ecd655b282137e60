// Preload for an instrumented (untimed) run: counts the write commits a process makes through
// better-sqlite3, without touching src/. Use:
//   NODE_OPTIONS="--import=<abs path>/bench/count-commits.mjs" BENCH_COMMITS_OUT=<file> node dist/cli/main.js …
// A commit is counted when a top-level transaction — db.transaction(fn)[.immediate…](), or BEGIN …
// COMMIT run as statements (the store does that) — changed something (SQLite's total_changes()
// moved), or when a write statement ran outside any transaction (autocommit). Read-only
// transactions are counted apart. It also sums the time the
// main thread spends blocked in write transactions, and in their COMMIT (WAL write + fsync).
// Node runs --import preloads in worker threads too, so a store on a worker thread is counted as
// well: each thread writes its own figures, to BENCH_COMMITS_OUT.<threadId> (0: the main thread).
import { writeFileSync } from 'node:fs';
import { threadId } from 'node:worker_threads';
import Database from 'better-sqlite3';

const counts = { writeTransactions: 0, readTransactions: 0, autocommitWrites: 0, execOutsideTransaction: 0, writeTransactionMs: 0, commitMs: 0, autocommitMs: 0 };
const ms = (t0) => Number(process.hrtime.bigint() - t0) / 1e6;
const Stmt = Object.getPrototypeOf(new Database(':memory:').prepare('SELECT 1'));
const changesOf = new WeakMap();
// The connection's own prepare: the shipped bundle has its own copy of better-sqlite3's
// JavaScript (dist/bundle/better-sqlite3.cjs), whose Database is not the one imported here; the
// native Statement class, patched below, is shared by both.
const totalChanges = (db) => {
  let s = changesOf.get(db);
  if (!s) changesOf.set(db, (s = db.prepare('SELECT total_changes() AS n')));
  return origGet.call(s).n;
};
const origGet = Stmt.get;
const origRun = Stmt.run;
// better-sqlite3 runs BEGIN/COMMIT/SAVEPOINT… of db.transaction() as statements too: not writes.
const CONTROL = /^\s*(BEGIN|COMMIT|END|ROLLBACK|SAVEPOINT|RELEASE)\b/i;
/** db.transaction() wrappers at work (their own BEGIN/COMMIT are statements too: not counted twice). */
let inWrapper = 0;
/** Per connection: an explicit BEGIN's start time and total_changes(). */
const explicit = new WeakMap();
Stmt.run = function (...a) {
  const t0 = process.hrtime.bigint();
  const control = CONTROL.test(this.source);
  const autocommit = !this.database.inTransaction && !this.reader && !control;
  const begins = control && inWrapper === 0 && /^\s*BEGIN/i.test(this.source);
  const ends = control && /^\s*(COMMIT|END)/i.test(this.source);
  if (begins) explicit.set(this.database, { t0, changes: totalChanges(this.database) });
  const r = origRun.apply(this, a);
  if (autocommit) {
    counts.autocommitWrites++;
    counts.autocommitMs += ms(t0);
  } else if (ends) {
    counts.commitMs += ms(t0);
    const open = inWrapper === 0 && explicit.get(this.database);
    if (open) {
      explicit.delete(this.database);
      if (totalChanges(this.database) !== open.changes) {
        counts.writeTransactions++;
        counts.writeTransactionMs += ms(open.t0);
        if (threadId !== 0) save();
      } else counts.readTransactions++;
    }
  }
  return r;
};
const origExec = Database.prototype.exec;
Database.prototype.exec = function (...a) {
  if (!this.inTransaction) counts.execOutsideTransaction++;
  return origExec.apply(this, a);
};
const origTransaction = Database.prototype.transaction;
Database.prototype.transaction = function (fn) {
  const db = this;
  const t = origTransaction.call(this, fn);
  const wrap = (f) =>
    function (...a) {
      if (db.inTransaction) return f.apply(this, a); // nested: a savepoint inside the outer commit
      const before = totalChanges(db);
      const t0 = process.hrtime.bigint();
      inWrapper++;
      let r;
      try {
        r = f.apply(this, a);
      } finally {
        inWrapper--;
      }
      const took = ms(t0);
      if (totalChanges(db) !== before) {
        counts.writeTransactions++;
        counts.writeTransactionMs += took;
      } else counts.readTransactions++;
      return r;
    };
  const w = wrap(t);
  for (const k of ['deferred', 'immediate', 'exclusive']) w[k] = wrap(t[k]);
  w.default = w;
  return w;
};
function save() {
  if (process.env.BENCH_COMMITS_OUT) writeFileSync(`${process.env.BENCH_COMMITS_OUT}.${threadId}`, JSON.stringify({ threadId, ...counts }));
}
// A worker thread that is terminated does not get 'exit': save after every write transaction
// there (cheap next to a commit), and at exit everywhere.
if (threadId !== 0) {
  const wrapped = Database.prototype.transaction;
  Database.prototype.transaction = function (fn) {
    const t = wrapped.call(this, fn);
    const after = (f) => function (...a) {
      const r = f.apply(this, a);
      save();
      return r;
    };
    const w = after(t);
    for (const k of ['deferred', 'immediate', 'exclusive']) w[k] = after(t[k]);
    w.default = w;
    return w;
  };
}
process.on('exit', save);

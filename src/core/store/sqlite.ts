/**
 * The SQLite backend (better-sqlite3, WAL, every commit flushed before it counts — see WalFlush):
 * the embedded default, one file.
 *
 * better-sqlite3 is synchronous. A store method runs one rule of rules.ts inside
 * BEGIN IMMEDIATE … COMMIT; the rule awaits the row primitives, which resolve at once, and the
 * calls of a thread are queued so that no other call's statements ever run inside another's
 * transaction (see threadQueue).
 */
import Database from 'better-sqlite3';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, statSync } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { ImportCounts, ImportSession, StagedRecipient } from '../store.js';
import type { Recipient, RecipientStatus } from '../types.js';
import { UserError } from '../types.js';
import { type Row, toCounts, toRecipient } from './rows.js';
import { type Backend, SqlStore } from './sql-store.js';
import { APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION } from './sqlite-schema.js';
import { SqliteTx } from './sqlite-tx.js';
import { IssuedStatements, type Tx } from './tx.js';

/** Page cache sizes, as `PRAGMA cache_size` takes them: negative is KiB. */
const CACHE_KIB = { everyday: -2000, import: -16000 } as const;

export interface SqliteOpenOptions {
  /** Open an existing file only (read commands): never create one. */
  mustExist?: boolean;
  busyTimeoutMs?: number;
}

/** Why SQLite could not do its work, in one line an operator can act on. */
export function sqliteFault(err: unknown, file: string): Error {
  if (err instanceof UserError) return err;
  const e = err as { code?: string; message?: string };
  const code = e.code ?? '';
  const cause =
    code === 'SQLITE_FULL'
      ? 'no space left on device'
      : code === 'SQLITE_READONLY' || code.startsWith('SQLITE_READONLY_')
        ? 'the file (or its folder) is read-only'
        : code === 'SQLITE_CANTOPEN'
          ? 'cannot open the file (missing folder or no permission)'
          : code === 'SQLITE_IOERR' || code.startsWith('SQLITE_IOERR_')
            ? `input/output error (${code})`
            : code === 'SQLITE_CORRUPT' || code === 'SQLITE_NOTADB'
              ? 'the file is damaged or not a database'
              : code === 'SQLITE_BUSY'
                ? 'the database stayed locked by another process for too long'
                : null;
  if (!cause) return err as Error;
  return new UserError(`database ${file}: ${cause}`);
}

/** Opens (creating if needed) and migrates an aremko-mail database file. */
export function openSqliteStore(path: string, options: SqliteOpenOptions = {}): SqliteStore {
  const file = resolve(path);
  let isNew = !existsSync(file);
  if (!isNew && statSync(file).isDirectory())
    throw new UserError(`--db: ${file} is a folder; name a database file inside it (e.g. ${file}/aremko-mail.db)`, 2);
  if (isNew) {
    if (options.mustExist) throw new UserError(`database ${file} does not exist (create a campaign first, or set --db)`);
    try {
      mkdirSync(dirname(file), { recursive: true });
      // Create the file ourselves so it is 0600 from the first byte; SQLite gives -wal/-shm the
      // database file's mode.
      closeSync(openSync(file, 'a', 0o600));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const why = code === 'ENOSPC' ? 'no space left on device' : code === 'EROFS' || code === 'EACCES' ? 'the folder is read-only or not writable' : code;
      throw new UserError(`cannot create database ${file}: ${why}`, code === 'ENOTDIR' ? 2 : 1);
    }
    isNew = true;
  }
  let db: Database.Database;
  try {
    db = new Database(file, { timeout: options.busyTimeoutMs ?? 10_000 });
  } catch (err) {
    throw new UserError(`cannot open database ${file}: ${(sqliteFault(err, file) as Error).message}`);
  }
  try {
    checkIdentity(db, file);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    migrate(db);
    // From here on every write transaction is flushed by WalFlush (see there), off this thread.
    db.pragma('synchronous = NORMAL');
    // better-sqlite3 builds SQLite with a 16 MB page cache. A runner's working set is the front
    // of the due index and the rows in flight, so over a long campaign that cache fills with pages
    // of recipients already sent: ~10 MB of a runner's resident memory for nothing (bench,
    // "Memory while sending"). SQLite's own default is 2 MB; an import session raises it (see
    // beginImport).
    db.pragma(`cache_size = ${CACHE_KIB.everyday}`);
  } catch (err) {
    db.close();
    throw sqliteFault(err, file);
  }
  for (const suffix of ['-wal', '-shm']) {
    try {
      if (existsSync(file + suffix)) chmodSync(file + suffix, 0o600);
    } catch {
      // a read-only filesystem: the files keep the mode they have
    }
  }
  return new SqliteStore(db, file);
}

function checkIdentity(db: Database.Database, file: string): void {
  let appId: number;
  let version: number;
  let tables: number;
  try {
    appId = db.pragma('application_id', { simple: true }) as number;
    version = db.pragma('user_version', { simple: true }) as number;
    tables = (db.prepare(`SELECT count(*) AS n FROM sqlite_master`).get() as Row).n;
  } catch (err) {
    const code = (err as { code?: string }).code ?? '';
    if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT')
      throw new UserError(`${file} is not an aremko-mail database (${(err as Error).message}); it was left untouched`);
    throw sqliteFault(err, file);
  }
  if (appId === 0 && tables === 0) return; // empty: new database
  if (appId !== APPLICATION_ID)
    throw new UserError(`${file} is not an aremko-mail database (another application's SQLite file); it was left untouched`);
  if (version > SCHEMA_VERSION)
    throw new UserError(
      `${file} was written by a newer aremko-mail (schema ${version}, this one knows up to ${SCHEMA_VERSION}); upgrade aremko-mail. The file was left untouched`,
    );
}

function migrate(db: Database.Database): void {
  if ((db.pragma('user_version', { simple: true }) as number) >= SCHEMA_VERSION) return;
  // The version is read again under the write lock: processes opening a new file at the same
  // moment migrate it once, one after the other, not each from version 0.
  db.transaction(() => {
    const version = db.pragma('user_version', { simple: true }) as number;
    for (let v = version; v < SCHEMA_VERSION; v++) db.exec(MIGRATIONS[v]!);
    db.pragma(`application_id = ${APPLICATION_ID}`);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  }).immediate();
}

/**
 * Every SQLite call of this thread, whatever its connection, runs after the previous one ended.
 * A rule awaits between statements; were another connection's transaction let in meanwhile, its
 * BEGIN IMMEDIATE would wait — synchronously, in this very thread — for a lock only this thread
 * can release. (Other threads and processes just wait their turn: SQLite's busy timeout.)
 */
let threadQueue: Promise<unknown> = Promise.resolve();

/**
 * Durability without holding the thread. A commit runs with synchronous=NORMAL — its WAL frames
 * written to the operating system, not yet flushed — and then the WAL file is flushed with
 * fdatasync on libuv's thread pool before the write's promise resolves. So a write is on disk
 * before anyone acts on it, exactly as with synchronous=FULL, but the event loop keeps talking
 * SMTP during the flush, and commits that land together share one flush (group commit). NORMAL
 * keeps the file consistent by itself: SQLite flushes the WAL before every checkpoint.
 * (fsync on any descriptor of a file flushes the file: ours is a read-only one.)
 */
class WalFlush {
  private handle: Promise<FileHandle | null> | null = null;
  private running: Promise<void> | null = null;
  private next: Promise<void> | null = null;

  constructor(private readonly wal: string) {}

  /** Resolves once every commit made before the call is on disk. */
  flush(): Promise<void> {
    if (!this.running) {
      this.running = this.sync().finally(() => (this.running = null));
      return this.running;
    }
    // A flush already under way may have started before the commit we must cover: one more after it.
    this.next ??= this.running.then(() => {
      this.next = null;
      return this.flush();
    });
    return this.next;
  }

  private async sync(): Promise<void> {
    this.handle ??= open(this.wal, 'r').catch(() => null);
    const h = await this.handle;
    // No WAL file: everything is in the database file, which SQLite flushed at its checkpoint.
    if (h) await h.datasync();
  }

  async close(): Promise<void> {
    await this.running?.catch(() => undefined);
    const h = await this.handle;
    this.handle = null;
    await h?.close().catch(() => undefined);
  }
}

class SqliteBackend implements Backend {
  readonly kind = 'sqlite' as const;
  private readonly tx: SqliteTx;
  private readonly wal: WalFlush;
  private readonly begin: { read: Database.Statement; write: Database.Statement };
  private readonly commit: Database.Statement;
  private readonly rollback: Database.Statement;

  constructor(
    readonly db: Database.Database,
    readonly file: string,
  ) {
    this.tx = new SqliteTx(db);
    this.wal = new WalFlush(file + '-wal');
    this.begin = { read: db.prepare('BEGIN'), write: db.prepare('BEGIN IMMEDIATE') };
    this.commit = db.prepare('COMMIT');
    this.rollback = db.prepare('ROLLBACK');
  }

  get display(): string {
    return this.file;
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = threadQueue.then(fn);
    threadQueue = run.catch(() => undefined);
    return run;
  }

  private transaction<T>(mode: 'read' | 'write', fn: (t: Tx) => Promise<T>): Promise<T> {
    return this.serial(async () => {
      if (!this.db.open) throw new Error('store closed');
      try {
        this.begin[mode].run();
        const statements = new IssuedStatements(this.tx);
        const value = await fn(statements.tx);
        await statements.settled(); // one the rules did not await may have failed
        this.commit.run();
        return value;
      } catch (err) {
        if (this.db.inTransaction) this.rollback.run();
        throw sqliteFault(err, this.file);
      }
    });
  }

  read<T>(fn: (t: Tx) => Promise<T>): Promise<T> {
    return this.transaction('read', fn);
  }

  async write<T>(fn: (t: Tx) => Promise<T>): Promise<T> {
    const { value, durable } = await this.writeEarly(fn);
    await durable;
    return value;
  }

  async writeEarly<T>(fn: (t: Tx) => Promise<T>): Promise<{ value: T; durable: Promise<void> }> {
    const value = await this.transaction('write', fn);
    // The flush runs outside the queue: the next transaction may run meanwhile.
    const durable = this.wal.flush().catch((err: NodeJS.ErrnoException) => {
      throw sqliteFault(Object.assign(err, { code: err.code === 'ENOSPC' ? 'SQLITE_FULL' : 'SQLITE_IOERR' }), this.file);
    });
    // The caller awaits it later (the engine first starts its sends, and may log a batch's
    // start meanwhile): a flush that fails before then must not count as an unhandled rejection,
    // which would end the process. Whoever awaits it still gets the error.
    durable.catch(() => undefined);
    return { value, durable };
  }

  async beginImport(campaignId: number): Promise<ImportSession> {
    const db = this.db;
    const file = this.file;
    await this.serial(async () => {
      // An import's rows go into the unique (campaign_id, email) index in address order, i.e.
      // all over it: the cache better-sqlite3 would give it while it lasts. (Measured on 1,000,000
      // rows: 31.8 s with 2 MB against 28.0–29.8 s with 16 MB in one comparison; within the
      // noise of the machine in another.) Back to the everyday one when the session ends.
      db.pragma(`cache_size = ${CACHE_KIB.import}`);
      // TEMP tables live in this connection only: staging takes no lock a runner would wait on.
      db.exec(`DROP TABLE IF EXISTS temp.import_stage;
        CREATE TEMP TABLE import_stage (line INTEGER PRIMARY KEY, email TEXT NOT NULL, fields TEXT NOT NULL)`);
    });
    const stage = db.prepare(`INSERT INTO temp.import_stage (line, email, fields) VALUES (?, ?, ?)`);
    const stageMany = db.transaction((rows: StagedRecipient[]) => {
      for (const r of rows) stage.run(r.line, r.email, JSON.stringify(r.fields));
    });
    const counts = db.prepare(`SELECT status, n FROM campaign_counts WHERE campaign_id = ?`);
    // Line order: the first occurrence of an address in the file wins; later ones and addresses
    // already in the campaign hit the unique key and are counted duplicates.
    const move = db.prepare(
      `INSERT INTO recipients (campaign_id, email, status, fields)
       SELECT ?, s.email,
         CASE WHEN EXISTS (SELECT 1 FROM suppressions x WHERE x.email = s.email) THEN 'suppressed' ELSE 'pending' END,
         s.fields
       FROM temp.import_stage s WHERE true ORDER BY s.line
       ON CONFLICT (campaign_id, email) DO NOTHING`,
    );
    let staged = 0;
    const drop = () =>
      this.serial(async () => {
        db.pragma(`cache_size = ${CACHE_KIB.everyday}`);
        db.exec(`DROP TABLE IF EXISTS temp.import_stage`);
      });
    const guard = <T>(fn: () => T) =>
      this.serial(async () => {
        try {
          return fn();
        } catch (err) {
          throw sqliteFault(err, file);
        }
      });
    return {
      add: async (rows) => {
        await guard(() => stageMany(rows));
        staged += rows.length;
      },
      commit: async (): Promise<ImportCounts> => {
        try {
          const moved = await guard(() =>
            db
              .transaction(() => {
                const before = toCounts(counts.all(campaignId) as Row[]);
                move.run(campaignId);
                const after = toCounts(counts.all(campaignId) as Row[]);
                const imported = after.pending - before.pending;
                const suppressed = after.suppressed - before.suppressed;
                return { imported, suppressed, duplicates: staged - imported - suppressed };
              })
              .immediate(),
          );
          await this.wal.flush();
          return moved;
        } finally {
          await drop().catch(() => undefined);
        }
      },
      abort: async () => {
        await drop().catch(() => undefined);
      },
    };
  }

  async *iterateRecipients(campaignId: number, status?: RecipientStatus): AsyncIterable<Recipient> {
    // Keyset pages over the rowid range the campaign spans: no statement stays open across
    // awaits, memory stays flat, and each page is a range read already in id order. (The unary
    // `+` keeps SQLite off the (campaign_id, …) indexes, with which it sorted the whole campaign
    // for every page: minutes for 1M rows.) Rows added after the start are not visited.
    const db = this.db;
    const span = await this.serial(async () => db.prepare(`SELECT min(id) AS lo, max(id) AS hi FROM recipients WHERE campaign_id = ?`).get(campaignId) as Row);
    if (span.lo === null) return;
    const page = status
      ? db.prepare(`SELECT * FROM recipients WHERE id > ? AND id <= ? AND +campaign_id = ? AND +status = ? ORDER BY id LIMIT 1000`)
      : db.prepare(`SELECT * FROM recipients WHERE id > ? AND id <= ? AND +campaign_id = ? ORDER BY id LIMIT 1000`);
    let after = span.lo - 1;
    for (;;) {
      const rows = await this.serial(
        async () => (status ? page.all(after, span.hi, campaignId, status) : page.all(after, span.hi, campaignId)) as Row[],
      );
      if (rows.length === 0) return;
      for (const r of rows) yield toRecipient(r);
      after = rows[rows.length - 1]!.id;
    }
  }

  async changeMarker(): Promise<number> {
    // data_version changes when another connection (another process) has committed.
    return this.serial(async () => this.db.pragma('data_version', { simple: true }) as number);
  }

  async close(): Promise<void> {
    await this.wal.close();
    await this.serial(async () => {
      if (this.db.open) this.db.close();
    });
  }
}

export class SqliteStore extends SqlStore {
  private readonly sqlite: SqliteBackend;

  constructor(db: Database.Database, file: string) {
    const backend = new SqliteBackend(db, file);
    super(backend);
    this.sqlite = backend;
  }

  /** The database file (a worker thread opens its own connection to it). */
  get location(): string {
    return this.sqlite.file;
  }

  /** The underlying connection, for benchmarks and tests that inspect the file. */
  get raw(): Database.Database {
    return this.sqlite.db;
  }
}

/**
 * The PostgreSQL backend (postgres.js): campaign state that outlives any one machine, shared by
 * runners on many hosts. Chosen over `pg` on measured facts: it loads in ~20 ms instead of ~50 ms
 * over bare Node (start-up is most of what `status` costs) and has COPY built in.
 *
 * The URL is parsed by us, not by the client (postgres-url.ts), so that what `sslmode` means is
 * ours and explicit (postgres-tls.ts).
 */
import postgres, { type Sql } from 'postgres';
import type { ImportSession, ImportSessionOptions } from '../store.js';
import type { Recipient, RecipientStatus } from '../types.js';
import { UserError } from '../types.js';
import type { OpenStoreOptions } from './open.js';
import { APPLICATION, PG_MIGRATIONS, PG_SCHEMA_VERSION } from './postgres-schema.js';
import { beginPgImport } from './postgres-import.js';
import { begin, isConnectionLoss, pipelinedWrite } from './postgres-pipeline.js';
import { serverOffersTls, sslOption, tlsRequired } from './postgres-tls.js';
import { PgTx } from './postgres-tx.js';
import { parsePostgresUrl, type PgLocation, pgFault } from './postgres-url.js';
import { type Row, toRecipient } from './rows.js';
import { type Backend, SqlStore, type TxOptions } from './sql-store.js';
import type { Tx } from './tx.js';

/** Numbers in, numbers out: bigint columns (times, ids, counts) parse as JS numbers. */
const BIGINT_AS_NUMBER = { to: 20, from: [20], serialize: (x: number) => String(x), parse: (x: string) => Number(x) };

export function connect(loc: PgLocation, options: { max?: number; idleTimeout?: number; onclose?: () => void } = {}): Sql {
  return postgres({
    host: loc.host,
    port: loc.port,
    ...(loc.socket ? { path: loc.socket } : {}),
    database: loc.database,
    username: loc.user,
    password: loc.password,
    ssl: sslOption(loc),
    max: options.max ?? 4,
    connect_timeout: loc.connectTimeoutS,
    idle_timeout: options.idleTimeout ?? 60,
    fetch_types: false,
    ...(options.onclose ? { onclose: options.onclose } : {}),
    onnotice: () => undefined,
    types: { bigint: BIGINT_AS_NUMBER } as never,
    transform: { undefined: null },
    connection: {
      application_name: loc.applicationName,
      search_path: loc.schema,
      // A runner whose network dies in the middle of a transaction must not keep the campaign's
      // row locked (and every other runner waiting) until TCP gives up: the server ends it.
      idle_in_transaction_session_timeout: 5_000, // ms
      // That timeout covers a session waiting between statements only. One whose link was cut in
      // the middle of a pipeline — a statement executed, the Sync after it never arrived — stays
      // `active`, waiting for the client, with every lock it took (seen in the multi-host test:
      // the campaign row held 90 s and more, the other runners' steps queued behind it). The
      // server's own keepalives end such a session once its client stops answering them:
      // silent 5 s, then 3 probes 2 s apart (about 11 s); and data it sent that stays
      // unacknowledged 10 s ends it too. (Both are ignored on a Unix socket, where no link can be cut.)
      tcp_keepalives_idle: 5, // s
      tcp_keepalives_interval: 2, // s
      tcp_keepalives_count: 3,
      tcp_user_timeout: 10_000, // ms
    },
  }) as unknown as Sql;
}

/** Creates the schema on first use and brings it to this version; refuses a newer or foreign one untouched. */
async function migrate(sql: Sql, loc: PgLocation): Promise<void> {
  await begin(sql, '', async (tx) => {
    // One migrator at a time per schema (runners starting together on a new database).
    await tx`SELECT pg_advisory_xact_lock(hashtext(${`aremko-mail:${loc.schema}`}))`;
    const [exists] = await tx`SELECT 1 AS ok FROM pg_namespace WHERE nspname = ${loc.schema}`;
    let version = 0;
    if (exists) {
      const tables = await tx`SELECT table_name FROM information_schema.tables WHERE table_schema = ${loc.schema}`;
      if (tables.length > 0) {
        if (!tables.some((t) => t.table_name === 'meta'))
          throw new UserError(`database ${loc.display}: schema "${loc.schema}" holds tables that are not aremko-mail's; it was left untouched (choose another with ?schema=)`);
        const meta = await tx`SELECT key, value FROM meta`;
        const app = meta.find((m) => m.key === 'application')?.value;
        if (app !== APPLICATION)
          throw new UserError(`database ${loc.display}: schema "${loc.schema}" belongs to another application; it was left untouched (choose another with ?schema=)`);
        version = Number(meta.find((m) => m.key === 'schema_version')?.value ?? 0);
        if (version > PG_SCHEMA_VERSION)
          throw new UserError(
            `database ${loc.display}: schema "${loc.schema}" was written by a newer aremko-mail (version ${version}, this one knows up to ${PG_SCHEMA_VERSION}); upgrade aremko-mail. It was left untouched`,
          );
      }
    } else {
      await tx.unsafe(`CREATE SCHEMA "${loc.schema}"`);
    }
    for (let v = version; v < PG_SCHEMA_VERSION; v++) {
      await tx.unsafe(PG_MIGRATIONS[v]!);
      await tx`INSERT INTO meta (key, value) VALUES ('application', ${APPLICATION}), ('schema_version', ${String(v + 1)})
               ON CONFLICT (key) DO UPDATE SET value = excluded.value`;
    }
  });
}

/**
 * How long an engine call may take before the connections are dropped and made anew. Its
 * transactions take milliseconds, or up to the server's idle_in_transaction_session_timeout
 * when another runner's network died holding the campaign's lock; a call that hangs longer is
 * waiting on a connection nobody will ever answer (no RST came through a cut link).
 */
const WATCHDOG_MS = 20_000;

class PostgresBackend implements Backend {
  readonly kind = 'postgres' as const;
  private listening: Promise<void> | null = null;
  private marker = 0;

  constructor(
    public sql: Sql,
    readonly loc: PgLocation,
  ) {}

  /** Runs `fn`; with a watchdog, gives up after WATCHDOG_MS and replaces every connection. */
  private guarded<T>(fn: () => Promise<T>, options: TxOptions): Promise<T> {
    if (!options.watchdog) return fn();
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        const dead = this.sql;
        this.sql = connect(this.loc);
        this.listening = null;
        void dead.end({ timeout: 0 }).catch(() => undefined);
        reject(new UserError(`database ${this.loc.display}: no answer in ${WATCHDOG_MS / 1000} s (the network or the server is gone); reconnecting`));
      }, WATCHDOG_MS);
      timer.unref();
      fn().then(
        (v) => (clearTimeout(timer), resolve(v)),
        (e) => (clearTimeout(timer), reject(e)),
      );
    });
  }

  get display(): string {
    return this.loc.display;
  }

  private fault = (err: unknown) => pgFault(err, this.loc);

  async read<T>(fn: (t: Tx) => Promise<T>, options: TxOptions = {}): Promise<T> {
    try {
      const sql = this.sql;
      return await this.guarded(() => begin(sql, 'isolation level repeatable read read only', (tx) => fn(new PgTx(tx as unknown as Sql))), options);
    } catch (err) {
      throw this.fault(err);
    }
  }

  async write<T>(fn: (t: Tx) => Promise<T>, options: TxOptions = {}): Promise<T> {
    try {
      const sql = this.sql;
      return await this.guarded(() => pipelinedWrite(sql, fn), options);
    } catch (err) {
      throw this.fault(err);
    }
  }

  /**
   * Answered as soon as `fn` has its value, while COMMIT is still on its way: a PostgreSQL commit
   * is durable when the server answers it (synchronous_commit), and that answer, a round trip
   * and a WAL flush away, is what `durable` waits for. The engine sends the SMTP envelope
   * meanwhile. `durable` rejects when the transaction did not commit (a statement failed, the
   * connection was lost): then none of it happened.
   */
  async writeEarly<T>(fn: (t: Tx) => Promise<T>, options: TxOptions = {}): Promise<{ value: T; durable: Promise<void> }> {
    let early!: (value: T) => void;
    const answered = new Promise<T>((resolve) => (early = resolve));
    const committed = this.write(async (t) => {
      const value = await fn(t);
      early(value);
      return value;
    }, options);
    // Awaited by the caller later; a failure before then is not an unhandled rejection.
    const durable = committed.then(() => undefined);
    durable.catch(() => undefined);
    // `fn` failing rejects `committed` and never answers: the race reports it.
    return { value: await Promise.race([answered, committed]), durable };
  }

  beginImport(campaignId: number, options: ImportSessionOptions = {}): Promise<ImportSession> {
    // No idle timeout: the session must outlive the pauses of a file read from a slow pipe.
    return beginPgImport(({ onclose }) => connect(this.loc, { max: 1, idleTimeout: 0, onclose }), campaignId, this.fault, options);
  }

  async *iterateRecipients(campaignId: number, status?: RecipientStatus): AsyncIterable<Recipient> {
    let after = 0;
    for (;;) {
      let rows: Row[];
      try {
        rows = status
          ? await this.sql`SELECT * FROM recipients WHERE campaign_id = ${campaignId} AND id > ${after} AND status = ${status} ORDER BY id LIMIT 1000`
          : await this.sql`SELECT * FROM recipients WHERE campaign_id = ${campaignId} AND id > ${after} ORDER BY id LIMIT 1000`;
      } catch (err) {
        throw this.fault(err);
      }
      if (rows.length === 0) return;
      for (const r of rows) yield toRecipient(r);
      after = rows[rows.length - 1]!.id;
    }
  }

  /** Counts change notifications (LISTEN), started by the first caller: a watcher's cheap poll. */
  async changeMarker(): Promise<number> {
    this.listening ??= this.sql
      .listen('aremko_mail_changes', (schema) => {
        if (schema === this.loc.schema) this.marker++;
      })
      .then(() => undefined)
      .catch((err) => {
        this.listening = null;
        throw this.fault(err);
      });
    await this.listening;
    return this.marker;
  }

  async close(): Promise<void> {
    await this.sql.end({ timeout: 5 });
  }
}

export class PostgresStore extends SqlStore {
  private readonly pg: PostgresBackend;

  constructor(sql: Sql, readonly loc: PgLocation) {
    const backend = new PostgresBackend(sql, loc);
    super(backend);
    this.pg = backend;
  }

  /** The client's connections (db copy works on them directly). */
  get sql(): Sql {
    return this.pg.sql;
  }

  /** The database's own URL (a worker or a copy opens its own connection to it). */
  get schema(): string {
    return this.loc.schema;
  }
}

export async function openPostgresStore(url: string, options: OpenStoreOptions = {}): Promise<PostgresStore> {
  const loc = parsePostgresUrl(url);
  const sql = connect(loc);
  try {
    if (options.mustExist) {
      const [exists] = await sql`SELECT 1 AS ok FROM information_schema.tables WHERE table_schema = ${loc.schema} AND table_name = 'meta'`;
      if (!exists) throw new UserError(`database ${loc.display} has no aremko-mail schema "${loc.schema}" yet (create a campaign first, or check ?schema=)`);
    }
    await migrate(sql, loc);
  } catch (err) {
    await sql.end({ timeout: 1 }).catch(() => undefined);
    throw await noTls(err, loc) ?? pgFault(err, loc);
  }
  return new PostgresStore(sql, loc);
}

/**
 * A first connection that TLS was required for and that the server hung up on: it may be a
 * server without TLS (postgres.js then reports only the hang-up). Asked, not guessed.
 */
async function noTls(err: unknown, loc: PgLocation): Promise<UserError | null> {
  if (!tlsRequired(loc) || !isConnectionLoss(err)) return null;
  if ((await serverOffersTls(loc.host, loc.port)) !== false) return null;
  const why = loc.sslmode === 'prefer' ? 'a client certificate (sslcert) requires' : `sslmode=${loc.sslmode} requires`;
  const otherwise = loc.sslmode === 'prefer' ? '' : ', or on a private network use sslmode=prefer';
  return new UserError(`database ${loc.display}: the server at ${loc.host}:${loc.port} does not offer TLS, which ${why} (turn ssl on in its postgresql.conf${otherwise})`);
}

/**
 * The store backends a test runs against: SQLite always; PostgreSQL when the global set-up found
 * (or was given) a server. Each test gets a fresh database of its own: a temp file, or a schema
 * of its own on the shared server (dropped afterwards).
 */
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { afterAll } from 'vitest';
import type { Store } from '../../src/core/store.js';
import type { PostgresStore } from '../../src/core/store/postgres.js';
import { openStore } from '../../src/core/store/open.js';
import { tempDir } from './cli.js';

export type BackendName = 'sqlite' | 'postgres';

export interface TestDatabase {
  backend: BackendName;
  /** What --db / AREMKO_MAIL_DB takes. */
  location: string;
  /** A temp folder for the test's other files (outbox, CSVs). */
  dir: string;
  /** Another connection to the same database: what another process would do. */
  open(): Promise<Store>;
  cleanup(): Promise<void>;
}

export const pgUrl = (): string | undefined => process.env.AREMKO_TEST_PG_URL;
/** The folder of that server's Unix socket (its local logins are trusted: no password there). */
export const pgSocketDir = (): string | undefined => process.env.AREMKO_TEST_PG_SOCKET_DIR;

/**
 * For a describe block that opens PostgreSQL stores itself (URLs of its own making): every store
 * pushed to `stores` is closed after the block, and every schema pushed to `schemas` dropped.
 */
export function closedAfterAll(): { stores: PostgresStore[]; schemas: string[] } {
  const opened = { stores: [] as PostgresStore[], schemas: [] as string[] };
  afterAll(async () => {
    const [admin] = opened.stores;
    for (const schema of opened.schemas) await admin?.sql.unsafe(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    for (const store of opened.stores) await store.close();
  });
  return opened;
}

/** The backends to run against; PostgreSQL only when a server is there (CI always has one). */
export function backends(): BackendName[] {
  return pgUrl() ? ['sqlite', 'postgres'] : ['sqlite'];
}

/**
 * `locale` (PostgreSQL): a database of its own created with this locale, instead of a schema in
 * the shared one (whose server was made with the C locale): for what a server set up in another
 * locale, as most are, must do alike.
 */
export async function createTestDatabase(backend: BackendName, options: { locale?: string } = {}): Promise<TestDatabase> {
  const t = tempDir();
  const opened: Store[] = [];
  const open = async () => {
    const s = await openStore(location);
    opened.push(s);
    return s;
  };
  let location = t.db;
  let drop = async () => undefined as void;
  if (backend === 'postgres') {
    const base = pgUrl();
    if (!base) throw new Error('no PostgreSQL server for the tests (AREMKO_TEST_PG_URL)');
    const name = `t_${randomBytes(6).toString('hex')}`;
    const admin = async (statement: string) => {
      const sql = postgres(base.replace(/\?.*$/, ''), { onnotice: () => undefined, max: 1 });
      try {
        await sql.unsafe(statement);
      } finally {
        await sql.end({ timeout: 5 });
      }
    };
    if (options.locale) {
      await admin(`CREATE DATABASE "${name}" TEMPLATE template0 ENCODING 'UTF8' LOCALE '${options.locale}'`);
      const url = new URL(base);
      url.pathname = `/${name}`;
      location = url.toString();
      drop = () => admin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    } else {
      location = `${base}${base.includes('?') ? '&' : '?'}schema=${name}`;
      drop = () => admin(`DROP SCHEMA IF EXISTS "${name}" CASCADE`);
    }
  }
  return {
    backend,
    location,
    dir: t.dir,
    open,
    cleanup: async () => {
      for (const s of opened.splice(0)) await s.close().catch(() => undefined);
      await drop();
      t.cleanup();
    },
  };
}

/** Every row of a table, read past the store (to check what it really wrote). */
export async function rawRows(db: TestDatabase, table: 'events' | 'campaigns' | 'recipients' | 'runners'): Promise<Record<string, unknown>[]> {
  if (db.backend === 'sqlite') {
    const { default: Database } = await import('better-sqlite3');
    const raw = new Database(db.location, { readonly: true });
    try {
      return raw.prepare(`SELECT * FROM ${table}`).all() as Record<string, unknown>[];
    } finally {
      raw.close();
    }
  }
  const url = new URL(db.location);
  const schema = url.searchParams.get('schema') ?? 'aremko_mail'; // a database of its own: the default schema
  const sql = postgres(db.location.replace(/\?.*$/, ''), { onnotice: () => undefined, max: 1 });
  try {
    return [...(await sql.unsafe(`SELECT * FROM "${schema}"."${table}"`))];
  } finally {
    await sql.end({ timeout: 5 });
  }
}

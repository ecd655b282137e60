/**
 * Opens the store a location names: a `postgres://` / `postgresql://` URL is PostgreSQL, anything
 * else a SQLite file. The PostgreSQL client loads only when a URL asks for it.
 */
import { isPostgresUrl } from '../config.js';
import type { Store } from '../store.js';

export interface OpenStoreOptions {
  /** Open an existing database only (read commands): never create one. */
  mustExist?: boolean;
}

export async function openStore(location: string, options: OpenStoreOptions = {}): Promise<Store> {
  if (isPostgresUrl(location)) {
    const { openPostgresStore } = await import('./postgres.js');
    return openPostgresStore(location, options);
  }
  const { openSqliteStore } = await import('./sqlite.js');
  return openSqliteStore(location, options);
}

/** The location fit to show: a URL's password replaced by ***. */
export function displayLocation(location: string): string {
  if (!isPostgresUrl(location)) return location;
  try {
    const u = new URL(location);
    if (u.password) u.password = '***';
    return u.toString().replace('%2A%2A%2A', '***');
  } catch {
    return location.replace(/\/\/([^:/@]*):[^@]*@/, '//$1:***@');
  }
}

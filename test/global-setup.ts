/**
 * vitest's global set-up: one real PostgreSQL server for the whole run (each test file works in
 * schemas of its own), unless AREMKO_TEST_PG_URL names one already. Its URL reaches the tests —
 * and the CLI processes they start — as AREMKO_TEST_PG_URL.
 */
import { findPgBin, startPgServer, type PgServer } from './helpers/postgres-server.js';

let server: PgServer | null = null;

export async function setup(): Promise<void> {
  if (process.env.AREMKO_TEST_PG_URL) return;
  if (!findPgBin()) {
    if (process.env.CI === 'true') throw new Error('CI=true and no PostgreSQL server found: install Debian\'s postgresql package (.ci/run does)');
    process.stderr.write('\n[aremko-mail tests] PostgreSQL not installed: the PostgreSQL half of the suite is skipped (apt-get install postgresql)\n\n');
    return;
  }
  server = await startPgServer();
  process.env.AREMKO_TEST_PG_URL = server.url;
}

export async function teardown(): Promise<void> {
  server?.stop();
  server = null;
}

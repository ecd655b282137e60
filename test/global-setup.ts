/**
 * vitest's global set-up: one real PostgreSQL server for the whole run (each test file works in
 * schemas of its own), unless AREMKO_TEST_PG_URL names one already. Its URL reaches the tests —
 * and the CLI processes they start — as AREMKO_TEST_PG_URL, and the folder of its Unix socket as
 * AREMKO_TEST_PG_SOCKET_DIR (or set both by hand).
 */
import { canMakeNetwork, createNetwork, type TestNetwork } from './helpers/netns.js';
import { findPgBin, startPgServer, type PgServer } from './helpers/postgres-server.js';

let server: PgServer | null = null;
let network: TestNetwork | null = null;

export async function setup(): Promise<void> {
  nonLoopbackHost();
  if (process.env.AREMKO_TEST_PG_URL) return;
  if (!findPgBin()) {
    if (process.env.CI === 'true') throw new Error('CI=true and no PostgreSQL server found: install Debian\'s postgresql package (.ci/run does)');
    process.stderr.write('\n[aremko-mail tests] PostgreSQL not installed: the PostgreSQL half of the suite is skipped (apt-get install postgresql)\n\n');
    return;
  }
  server = await startPgServer();
  process.env.AREMKO_TEST_PG_URL = server.url;
  process.env.AREMKO_TEST_PG_SOCKET_DIR = server.dir;
}

export async function teardown(): Promise<void> {
  server?.stop();
  server = null;
  network?.destroy();
  network = null;
}

/**
 * An address of this machine that is not loopback, for the transport's rule "nothing before TLS
 * to any host but loopback": the root side of a bridge to a test host (a network namespace). It
 * reaches no other machine. AREMKO_TEST_NONLOOPBACK_HOST set by hand wins.
 */
function nonLoopbackHost(): void {
  if (process.env.AREMKO_TEST_NONLOOPBACK_HOST) return;
  if (!canMakeNetwork()) {
    if (process.env.CI === 'true') throw new Error('CI=true and no network namespaces (root and iproute2 needed): the non-loopback tests cannot run');
    process.stderr.write('[aremko-mail tests] cannot make a test network (needs root and iproute2): the non-loopback and multi-host tests are skipped\n');
    return;
  }
  network = createNetwork(['peer']);
  process.env.AREMKO_TEST_NONLOOPBACK_HOST = network.gateway;
}

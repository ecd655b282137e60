/**
 * A real PostgreSQL server for the tests, started in a temporary folder: Debian's server binaries
 * (`initdb`, `pg_ctl`), run as the `postgres` user when we are root (initdb refuses root), on
 * 127.0.0.1 and a free port. Used by vitest's global set-up and by the benchmarks.
 *
 * Under CI=true a machine without PostgreSQL fails the run; elsewhere the PostgreSQL half of
 * the suite is skipped with a message saying how to get it.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface PgServer {
  /** postgres://postgres:<password>@127.0.0.1:<port>/postgres?sslmode=disable */
  url: string;
  password: string;
  port: number;
  dir: string;
  stop(): void;
}

/** The folder with initdb/pg_ctl, or null when PostgreSQL's server is not installed. */
export function findPgBin(): string | null {
  const fromConfig = spawnSync('pg_config', ['--bindir'], { encoding: 'utf8' });
  const candidates: string[] = [];
  if (fromConfig.status === 0) candidates.push(fromConfig.stdout.trim());
  if (existsSync('/usr/lib/postgresql')) {
    for (const v of readdirSync('/usr/lib/postgresql').sort((a, b) => Number(b) - Number(a))) candidates.push(`/usr/lib/postgresql/${v}/bin`);
  }
  return candidates.find((d) => existsSync(join(d, 'initdb')) && existsSync(join(d, 'pg_ctl'))) ?? null;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** TLS for a test server: its certificate and key (PEM); `ca` and `certLogins` let those users log in by client certificate (from loopback). */
export interface ServerTls {
  cert: string;
  key: string;
  ca?: string;
  certLogins?: string[];
}

/**
 * Starts a server. `durable` keeps PostgreSQL's own fsync and synchronous commits (benchmarks);
 * tests turn them off, since they never crash the database itself.
 */
export async function startPgServer(
  options: { durable?: boolean; bin?: string; listen?: string[]; allow?: string[]; tls?: ServerTls } = {},
): Promise<PgServer> {
  const bin = options.bin ?? findPgBin();
  if (!bin) throw new Error('PostgreSQL server binaries not found (Debian: apt-get install postgresql)');
  const dir = mkdtempSync(join(tmpdir(), 'aremko-pg-'));
  const data = join(dir, 'data');
  const asRoot = process.getuid?.() === 0;
  const run = (cmd: string, args: string[]) => {
    const full = asRoot ? ['runuser', ['-u', 'postgres', '--', join(bin, cmd), ...args]] : [join(bin, cmd), args];
    return execFileSync(full[0] as string, full[1] as string[], { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  };
  // As root the server runs as postgres, which must own its folder and the files it reads.
  const postgresUser = asRoot
    ? { uid: Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' })), gid: Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' })) }
    : null;
  const ownedByServer = (path: string) => postgresUser && chownSync(path, postgresUser.uid, postgresUser.gid);
  ownedByServer(dir);
  chmodSync(dir, 0o700);
  // TCP logins need the password (so tests can see a wrong one refused); the local socket, used
  // only to set it, trusts the postgres user.
  const password = `pw-${randomBytes(8).toString('hex')}`;
  const pwfile = join(dir, 'pw');
  writeFileSync(pwfile, password + '\n', { mode: 0o600 });
  ownedByServer(pwfile);
  run('initdb', ['-D', data, '--auth-local=trust', '--auth-host=scram-sha-256', '-U', 'postgres', `--pwfile=${pwfile}`, '--no-sync', '-E', 'UTF8', '--locale=C']);
  rmSync(pwfile);
  // Logins from other test hosts (network namespaces), with the password like loopback ones.
  if (options.allow?.length) {
    const hba = join(data, 'pg_hba.conf');
    appendFileSync(hba, options.allow.map((cidr) => `host all all ${cidr} scram-sha-256\n`).join(''));
  }
  // TLS (ssl = on) with the given certificate and key (PEM), copied into the data folder: the
  // server refuses a key file that others can read, or that is not its own.
  const tls = options.tls;
  if (tls) {
    for (const [name, pem] of [['server.crt', tls.cert], ['server.key', tls.key], ['root.crt', tls.ca]] as const) {
      if (!pem) continue;
      const file = join(data, name);
      writeFileSync(file, pem, { mode: 0o600 });
      ownedByServer(file);
    }
    // pg_hba.conf takes the first line that matches: these go before initdb's password lines.
    if (tls.certLogins?.length) {
      const hba = join(data, 'pg_hba.conf');
      const lines = tls.certLogins.map((user) => `hostssl all ${user} 127.0.0.1/32 cert\n`).join('');
      writeFileSync(hba, lines + readFileSync(hba, 'utf8'));
    }
  }
  const port = await freePort();
  const settings = [
    `-p ${port}`,
    `-k ${dir}`,
    `-c listen_addresses=${(options.listen ?? ['127.0.0.1']).join(',')}`,
    `-c max_connections=200`,
    ...(tls ? ['-c ssl=on', ...(tls.ca ? ['-c ssl_ca_file=root.crt'] : [])] : []),
    ...(options.durable ? [] : ['-c fsync=off', '-c synchronous_commit=off', '-c full_page_writes=off']),
  ].join(' ');
  run('pg_ctl', ['-D', data, '-o', settings, '-l', join(dir, 'server.log'), '-w', '-t', '60', 'start']);
  let stopped = false;
  return {
    url: `postgres://postgres:${password}@127.0.0.1:${port}/postgres?sslmode=disable`,
    password,
    port,
    dir,
    stop() {
      if (stopped) return;
      stopped = true;
      try {
        run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
      } catch {
        // already gone
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

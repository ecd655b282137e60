/**
 * TLS to the database, against real servers: one started here with a certificate from a test CA
 * (made with openssl, for `localhost` only), and the suite's shared one, which offers no TLS.
 * What each `sslmode` does is ours to say (postgres.js and pg read `require` differently): this
 * pins it, session by session, from the server's own view (`pg_stat_ssl`).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPostgresStore, type PostgresStore } from '../../src/core/store/postgres.js';
import { UserError } from '../../src/core/types.js';
import { pgUrl } from '../helpers/backends.js';
import { tempDir } from '../helpers/cli.js';
import { findPgBin, startPgServer, type PgServer } from '../helpers/postgres-server.js';

/** A CA, and a server certificate it signed for the name `localhost` (no IP address in it). */
function makeCertificates(dir: string): { caFile: string; cert: string; key: string } {
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  openssl('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=aremko-mail test CA');
  openssl('req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost');
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName = DNS:localhost\n');
  openssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '2', '-extfile', 'san.ext');
  return { caFile: join(dir, 'ca.crt'), cert: readFileSync(join(dir, 'server.crt'), 'utf8'), key: readFileSync(join(dir, 'server.key'), 'utf8') };
}

/** Whether the store's own session to the server is encrypted, as the server sees it. */
async function encrypted(store: PostgresStore): Promise<boolean> {
  const [row] = await store.sql`SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()`;
  return row!.ssl as boolean;
}

describe.skipIf(!findPgBin() && process.env.CI !== 'true')('TLS to PostgreSQL', () => {
  let server: PgServer;
  let caFile: string;
  const url = (host: string, query: string) => `postgres://postgres:${server.password}@${host}:${server.port}/postgres${query}`;
  const opened: PostgresStore[] = [];
  const open = async (location: string) => {
    const store = await openPostgresStore(location);
    opened.push(store);
    return store;
  };
  /** The one-line error an operator sees, checked to hide the password. */
  const refusal = async (location: string, password: string) => {
    const err = await openPostgresStore(location).then(
      (s) => (opened.push(s), new Error('opened')),
      (e: unknown) => e as Error,
    );
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).not.toContain(password);
    expect(err.message).not.toContain('\n');
    return err.message;
  };

  let certs: ReturnType<typeof tempDir>;
  beforeAll(async () => {
    certs = tempDir();
    const made = makeCertificates(certs.dir);
    caFile = made.caFile;
    server = await startPgServer({ tls: { cert: made.cert, key: made.key } });
  }, 60_000);
  afterAll(async () => {
    for (const s of opened) await s.close().catch(() => undefined);
    server?.stop();
    certs?.cleanup();
  });

  it('sslmode=require encrypts without checking the certificate; prefer (the default) encrypts when offered; disable does not', async () => {
    expect(await encrypted(await open(url('127.0.0.1', '?sslmode=require')))).toBe(true);
    expect(await encrypted(await open(url('127.0.0.1', '')))).toBe(true);
    expect(await encrypted(await open(url('127.0.0.1', '?sslmode=prefer&schema=other')))).toBe(true);
    expect(await encrypted(await open(url('127.0.0.1', '?sslmode=disable')))).toBe(false);
  });

  it('sslmode=verify-full checks the certificate against sslrootcert and the host name against it', async () => {
    const store = await open(url('localhost', `?sslmode=verify-full&sslrootcert=${encodeURIComponent(caFile)}`));
    expect(await encrypted(store)).toBe(true);

    // no CA given: the system's CAs do not know the test CA
    expect(await refusal(url('localhost', '?sslmode=verify-full'), server.password)).toMatch(
      /TLS certificate could not be verified \(\w+\); with sslmode=verify-full give its CA as sslrootcert=<file>/,
    );
    // the right CA, but the certificate names localhost, not 127.0.0.1; and an IP address is
    // checked as one, not sent as a TLS server name (which Node warns about on stderr)
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    process.on('warning', onWarning);
    try {
      expect(await refusal(url('127.0.0.1', `?sslmode=verify-full&sslrootcert=${encodeURIComponent(caFile)}`), server.password)).toMatch(
        /the database's TLS certificate is not for 127\.0\.0\.1 \(it names DNS:localhost\): connect by a name it holds/,
      );
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings).toEqual([]);
  });

  it.skipIf(!pgUrl() && process.env.CI !== 'true')('a server without TLS: require and verify-full say so; prefer goes on in plain text', async () => {
    const plain = new URL(pgUrl()!);
    const password = decodeURIComponent(plain.password);
    for (const mode of ['require', 'verify-full']) {
      plain.searchParams.set('sslmode', mode);
      expect(await refusal(plain.toString(), password)).toMatch(
        new RegExp(`the server at 127\\.0\\.0\\.1:${plain.port} does not offer TLS, which sslmode=${mode} requires`),
      );
    }
    plain.searchParams.set('sslmode', 'prefer');
    plain.searchParams.set('schema', `t_tls_${process.pid}`); // the shared server: a schema of its own
    const store = await open(plain.toString());
    try {
      expect(await encrypted(store)).toBe(false);
    } finally {
      await store.sql.unsafe(`DROP SCHEMA ${plain.searchParams.get('schema')} CASCADE`);
    }
  });
});

/**
 * TLS to the database, against real servers: one started here with a certificate from a test CA
 * (made with openssl, for `localhost` only), and the suite's shared one, which offers no TLS.
 * What each `sslmode` does is ours to say (postgres.js and pg read `require` differently): this
 * pins it, session by session, from the server's own view (`pg_stat_ssl`).
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPostgresStore, type PostgresStore } from '../../src/core/store/postgres.js';
import { parsePostgresUrl } from '../../src/core/store/postgres-url.js';
import { ConfigError, UserError } from '../../src/core/types.js';
import { pgUrl } from '../helpers/backends.js';
import { tempDir } from '../helpers/cli.js';
import { findPgBin, startPgServer, type PgServer } from '../helpers/postgres-server.js';

/**
 * A CA; a server certificate it signed for the name `localhost` (no IP address in it); a client
 * certificate for the user `clerk`; and a second CA that signed neither.
 */
function makeCertificates(dir: string) {
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  for (const ca of ['ca', 'other-ca']) openssl('req', '-x509', ...ec, '-keyout', `${ca}.key`, '-out', `${ca}.crt`, '-days', '2', '-subj', `/CN=aremko-mail test ${ca}`);
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName = DNS:localhost\n');
  for (const [name, cn, ext] of [['server', 'localhost', ['-extfile', 'san.ext']], ['client', 'clerk', []]] as const) {
    openssl('req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`);
    openssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.crt`, '-days', '2', ...ext);
  }
  const file = (name: string) => join(dir, name);
  return { file, read: (name: string) => readFileSync(file(name), 'utf8') };
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
  let files: ReturnType<typeof makeCertificates>;
  /** A URL option naming one of the test's files. */
  const opt = (key: string, name: string) => `${key}=${encodeURIComponent(files.file(name))}`;
  beforeAll(async () => {
    certs = tempDir();
    files = makeCertificates(certs.dir);
    server = await startPgServer({ tls: { cert: files.read('server.crt'), key: files.read('server.key'), ca: files.read('ca.crt'), certLogins: ['clerk'] } });
    const admin = await openPostgresStore(url('127.0.0.1', '?sslmode=disable&schema=admin'));
    await admin.sql.unsafe('CREATE ROLE clerk LOGIN; GRANT CREATE ON DATABASE postgres TO clerk');
    await admin.close();
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
    const store = await open(url('localhost', `?sslmode=verify-full&${opt('sslrootcert', 'ca.crt')}`));
    expect(await encrypted(store)).toBe(true);

    // no CA given: the system's CAs do not know the test CA; nor does another CA
    for (const query of ['?sslmode=verify-full', `?sslmode=verify-full&${opt('sslrootcert', 'other-ca.crt')}`]) {
      expect(await refusal(url('localhost', query), server.password)).toMatch(
        /the database's TLS certificate could not be verified \(\w+\): give the CA that signed it as sslrootcert=<file>/,
      );
    }
    // the right CA, but the certificate names localhost, not 127.0.0.1; and an IP address is
    // checked as one, not sent as a TLS server name (which Node warns about on stderr)
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    process.on('warning', onWarning);
    try {
      expect(await refusal(url('127.0.0.1', `?sslmode=verify-full&${opt('sslrootcert', 'ca.crt')}`), server.password)).toMatch(
        /the database's TLS certificate is not for 127\.0\.0\.1 \(it names DNS:localhost\): connect by a name it holds/,
      );
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings).toEqual([]);
  });

  it('sslmode=verify-ca checks the certificate but not the host name; require with sslrootcert does too (as in libpq)', async () => {
    for (const mode of ['verify-ca', 'require']) {
      const store = await open(url('127.0.0.1', `?sslmode=${mode}&${opt('sslrootcert', 'ca.crt')}&schema=${mode.replace('-', '_')}`));
      expect(await encrypted(store)).toBe(true);
      expect(await refusal(url('127.0.0.1', `?sslmode=${mode}&${opt('sslrootcert', 'other-ca.crt')}`), server.password)).toMatch(
        /TLS certificate could not be verified/,
      );
    }
    expect(await refusal(url('127.0.0.1', '?sslmode=verify-ca'), server.password)).toMatch(/TLS certificate could not be verified/);
  });

  it('a client certificate (sslcert, sslkey) logs in a user the server knows by certificate; without it the login is refused', async () => {
    const byCertificate = (query: string) => `postgres://clerk@127.0.0.1:${server.port}/postgres?schema=clerk&${query}`;
    const store = await open(byCertificate(`sslmode=verify-ca&${opt('sslrootcert', 'ca.crt')}&${opt('sslcert', 'client.crt')}&${opt('sslkey', 'client.key')}`));
    expect(await encrypted(store)).toBe(true);
    const [who] = await store.sql`SELECT current_user AS user, client_dn FROM pg_stat_ssl WHERE pid = pg_backend_pid()`;
    expect(who).toEqual({ user: 'clerk', client_dn: '/CN=clerk' });
    // prefer: a client certificate makes TLS required
    expect(await encrypted(await open(byCertificate(`${opt('sslcert', 'client.crt')}&${opt('sslkey', 'client.key')}&schema=clerk_2`)))).toBe(true);

    expect(await refusal(byCertificate('sslmode=require'), 'clerk-has-no-password')).toMatch(/refused the login of user clerk/);
    // Refused before any connection, naming the files and never what is in them: the key of
    // another certificate, a key file that is not there, a key that is not PEM, a CA file that
    // holds no certificate.
    const configError = async (query: string) => {
      const err = await openPostgresStore(byCertificate(query)).then(
        (s) => (opened.push(s), new Error('opened')),
        (e: unknown) => e as Error,
      );
      expect(err).toBeInstanceOf(ConfigError);
      for (const key of ['client.key', 'server.key']) expect(err.message).not.toContain(files.read(key).split('\n')[1]);
      return err.message;
    };
    const cert = opt('sslcert', 'client.crt');
    expect(await configError(`sslmode=require&${cert}&${opt('sslkey', 'server.key')}`)).toBe(
      `--db: sslcert ${files.file('client.crt')} and sslkey ${files.file('server.key')} cannot be used: key values mismatch`,
    );
    expect(await configError(`sslmode=require&${cert}&sslkey=/nonexistent/client.key`)).toBe('--db: cannot read sslkey /nonexistent/client.key: ENOENT');
    expect(await configError(`sslmode=require&${cert}&${opt('sslkey', 'san.ext')}`)).toBe(
      `--db: sslkey ${files.file('san.ext')} holds no private key (PEM: -----BEGIN PRIVATE KEY-----)`,
    );
    // a key others may read is refused as libpq refuses it (the one openssl wrote is 0600)
    for (const mode of [0o644, 0o640]) {
      copyFileSync(files.file('client.key'), files.file('open.key'));
      chmodSync(files.file('open.key'), mode);
      expect(await configError(`sslmode=require&${cert}&${opt('sslkey', 'open.key')}`)).toBe(
        `--db: sslkey ${files.file('open.key')} is open to other users (mode 0${mode.toString(8)}): chmod 600 it (libpq refuses such a key too)`,
      );
    }
    expect(await configError(`sslmode=verify-ca&${opt('sslrootcert', 'san.ext')}`)).toBe(
      `--db: sslrootcert ${files.file('san.ext')} holds no certificate (PEM: -----BEGIN CERTIFICATE-----)`,
    );
  });

  it('URL options: sslcert without sslkey, a certificate with sslmode=disable, channel_binding=require are refused before connecting', () => {
    const parse = (query: string) => {
      try {
        parsePostgresUrl(`postgres://u:s3cr3t@h/db?${query}`);
        return 'accepted';
      } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        expect((e as Error).message).not.toContain('s3cr3t');
        return (e as Error).message;
      }
    };
    expect(parse('sslcert=/c.crt')).toMatch(/sslcert and sslkey go together/);
    expect(parse('sslmode=disable&sslcert=/c.crt&sslkey=/c.key')).toMatch(/sslcert needs TLS, and sslmode=disable turns it off/);
    expect(parse('channel_binding=require')).toMatch(/channel_binding=require is not supported by this client; remove it or use channel_binding=prefer/);
    expect(parse('channel_binding=prefer&sslmode=verify-ca')).toBe('accepted');
    expect(parse('sslmode=verify-ca')).toBe('accepted');
  });

  it.skipIf(!pgUrl() && process.env.CI !== 'true')('a server without TLS: require and verify-full say so; prefer goes on in plain text', async () => {
    const plain = new URL(pgUrl()!);
    const password = decodeURIComponent(plain.password);
    for (const mode of ['require', 'verify-ca', 'verify-full']) {
      plain.searchParams.set('sslmode', mode);
      expect(await refusal(plain.toString(), password)).toMatch(
        new RegExp(`the server at 127\\.0\\.0\\.1:${plain.port} does not offer TLS, which sslmode=${mode} requires`),
      );
    }
    plain.searchParams.set('sslmode', 'prefer');
    const withCertificate = new URL(plain);
    withCertificate.searchParams.set('sslcert', files.file('client.crt'));
    withCertificate.searchParams.set('sslkey', files.file('client.key'));
    expect(await refusal(withCertificate.toString(), password)).toMatch(/does not offer TLS, which a client certificate \(sslcert\) requires/);
    plain.searchParams.set('schema', `t_tls_${process.pid}`); // the shared server: a schema of its own
    const store = await open(plain.toString());
    try {
      expect(await encrypted(store)).toBe(false);
    } finally {
      await store.sql.unsafe(`DROP SCHEMA ${plain.searchParams.get('schema')} CASCADE`);
    }
  });
});

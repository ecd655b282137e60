/**
 * PostgreSQL over a Unix socket, as libpq reads its URLs: the host is a folder, given in ?host=
 * (Cloud SQL's form for a container: postgresql://user:pw@/db?host=/cloudsql/project:region:instance)
 * or percent-encoded in the URL's host. Against the suite's real server, whose socket trusts
 * local logins; the server itself says whether a session came over the socket.
 */
import { randomBytes } from 'node:crypto';
import { userInfo } from 'node:os';
import { describe, expect, it } from 'vitest';
import { openPostgresStore } from '../../src/core/store/postgres.js';
import { parsePostgresUrl, pgFault } from '../../src/core/store/postgres-url.js';
import { ConfigError, UserError } from '../../src/core/types.js';
import { closedAfterAll, pgSocketDir, pgUrl } from '../helpers/backends.js';
import { withEnvironment } from '../helpers/environment.js';
import { addRecipients, settings } from '../helpers/store.js';

/** What parsing `url` threw (null when it did not). */
function parseError(url: string): Error | null {
  try {
    parsePostgresUrl(url);
  } catch (e) {
    return e as Error;
  }
  return null;
}

describe('a Unix socket in the URL', () => {
  it('is read where libpq reads it: ?host=, the host percent-encoded, with or without a user', () => {
    expect(parsePostgresUrl('postgresql://mailer:s3cr3t@/app?host=/cloudsql/proj:region:inst')).toMatchObject({
      host: '/cloudsql/proj:region:inst',
      port: 5432,
      socket: '/cloudsql/proj:region:inst/.s.PGSQL.5432',
      user: 'mailer',
      password: 's3cr3t',
      database: 'app',
    });
    expect(parsePostgresUrl('postgres://mailer@%2Fvar%2Frun%2Fpostgresql:6000/app')).toMatchObject({ socket: '/var/run/postgresql/.s.PGSQL.6000', user: 'mailer' });
    // no user anywhere: the operating system's, as libpq does
    withEnvironment({ PGUSER: undefined }, () =>
      expect(parsePostgresUrl('postgresql:///app?host=/tmp/&port=6543')).toMatchObject({ socket: '/tmp/.s.PGSQL.6543', user: userInfo().username }),
    );
    // ?host= wins over the URL's host, and a name is TCP as before
    expect(parsePostgresUrl('postgres://u:p@h:7000/db?host=db.internal')).toMatchObject({ host: 'db.internal', port: 7000, socket: null });
    // a user without a host and without ?host= (nor PGHOST), and no server socket in libpq's
    // default folders: localhost, as when no user is given
    withEnvironment({ PGHOST: undefined, PGPORT: undefined }, () =>
      expect(parsePostgresUrl('postgres://u:p@/db', ['/nonexistent/aremko'])).toMatchObject({ host: 'localhost', port: 5432, socket: null }),
    );
  });

  it('PGHOST and PGPORT give what the URL leaves out, as in libpq; what the URL says wins', () => {
    withEnvironment({ PGHOST: '/run/pg', PGPORT: '6000' }, () => {
      expect(parsePostgresUrl('postgres://u@/db')).toMatchObject({ host: '/run/pg', port: 6000, socket: '/run/pg/.s.PGSQL.6000' });
      expect(parsePostgresUrl('postgresql:///db')).toMatchObject({ socket: '/run/pg/.s.PGSQL.6000' });
      expect(parsePostgresUrl('postgres://u@h/db')).toMatchObject({ host: 'h', port: 6000, socket: null });
      expect(parsePostgresUrl('postgres://u@h:7000/db')).toMatchObject({ host: 'h', port: 7000 });
      expect(parsePostgresUrl('postgres://u@/db?host=x&port=7001')).toMatchObject({ host: 'x', port: 7001 });
    });
    withEnvironment({ PGHOST: 'db.internal', PGPORT: undefined }, () =>
      expect(parsePostgresUrl('postgres://u@/db')).toMatchObject({ host: 'db.internal', port: 5432, socket: null }),
    );
    for (const [vars, why] of [
      [{ PGHOST: undefined, PGPORT: '54x' }, /PGPORT must be a number from 1 to 65535 \(got "54x"\)/],
      [{ PGHOST: 'a,b', PGPORT: undefined }, /PGHOST must be one server's name or its socket folder \(got "a,b"\)/],
    ] as const) {
      const err = withEnvironment(vars, () => parseError('postgres://u:s3cr3t@/db'));
      expect(err).toBeInstanceOf(ConfigError);
      expect(err!.message).toMatch(why);
      expect(err!.message).not.toContain('s3cr3t');
    }
    // not read when the URL names the host and port
    withEnvironment({ PGHOST: 'a,b', PGPORT: '54x' }, () => expect(parsePostgresUrl('postgres://u@h:1/db')).toMatchObject({ host: 'h', port: 1 }));
  });

  it('PGUSER, PGPASSWORD and PGDATABASE give what the URL leaves out; what the URL says wins; the password never shows', () => {
    withEnvironment({ PGUSER: 'mailer', PGPASSWORD: 'env-s3cr3t', PGDATABASE: 'app' }, () => {
      const loc = parsePostgresUrl('postgres://db.internal/');
      expect(loc).toMatchObject({ user: 'mailer', password: 'env-s3cr3t', database: 'app' });
      expect(loc.display).not.toContain('env-s3cr3t');
      // a server's message that quotes it (an unknown error, passed on) has it hidden too
      expect(pgFault(new Error('FATAL near "env-s3cr3t"'), loc).message).toBe('FATAL near "***"');
      expect(parsePostgresUrl('postgres://u:p@db.internal/other')).toMatchObject({ user: 'u', password: 'p', database: 'other' });
    });
    withEnvironment({ PGUSER: undefined, PGPASSWORD: undefined, PGDATABASE: undefined }, () =>
      expect(parsePostgresUrl('postgres://db.internal/app')).toMatchObject({ user: userInfo().username, password: undefined }),
    );
  });

  it('a bad host or port, or a client certificate for a socket, is a configuration error that hides the password', () => {
    for (const [url, why] of [
      ['postgres://u:s3cr3t@/db?host=', /host must be one server's name or its socket folder \(got ""\)/],
      ['postgres://u:s3cr3t@/db?host=a,b', /host must be one server's name/],
      ['postgres://u:s3cr3t@/db?host=/run/pg&port=0', /port must be a number from 1 to 65535 \(got "0"\)/],
      ['postgres://u:s3cr3t@/db?host=/run/pg&port=54x', /port must be a number/],
      ['postgres://u:s3cr3t@/db?host=/run/pg&sslcert=/c.pem&sslkey=/k.pem', /sslcert is for TLS, which a Unix socket \(host=\/run\/pg\) does not use/],
    ] as const) {
      const err = parseError(url);
      expect(err, url).toBeInstanceOf(ConfigError);
      expect(err!.message).toMatch(why);
      expect(err!.message).not.toContain('s3cr3t');
      expect(err!.message).toContain('u:***@');
    }
  });
});

describe.skipIf(!pgUrl() && process.env.CI !== 'true')('PostgreSQL over its Unix socket', () => {
  const { stores, schemas } = closedAfterAll();

  /** The Cloud SQL form, against the suite's server: its socket folder and port in the query. */
  function socketUrl(extra = ''): string {
    const dir = pgSocketDir();
    if (!dir) throw new Error('AREMKO_TEST_PG_SOCKET_DIR is not set (the global set-up sets it when it starts the server)');
    const schema = `sock_${randomBytes(4).toString('hex')}`;
    schemas.push(schema);
    const port = new URL(pgUrl()!).port;
    return `postgresql://postgres:not-needed@/postgres?host=${encodeURIComponent(dir)}&port=${port}&schema=${schema}${extra}`;
  }

  it('with no host anywhere, the first default folder that holds the server socket for the port, as psql', () => {
    const dir = pgSocketDir()!;
    const port = new URL(pgUrl()!).port;
    withEnvironment({ PGHOST: undefined, PGPORT: port }, () => {
      expect(parsePostgresUrl('postgresql:///app', ['/nonexistent/aremko', dir, '/tmp'])).toMatchObject({ host: dir, socket: `${dir}/.s.PGSQL.${port}` });
      expect(parsePostgresUrl(`postgresql:///app?port=${Number(port) + 1}`, ['/nonexistent/aremko', dir])).toMatchObject({ host: 'localhost', socket: null });
      // a host named anywhere is used as it is
      expect(parsePostgresUrl('postgresql://h/app', [dir])).toMatchObject({ host: 'h', socket: null });
    });
  });

  it('works the whole store over the socket, and the server sees a local session', async () => {
    const store = await openPostgresStore(socketUrl());
    stores.push(store);
    const c = await store.createCampaign(settings({ name: 'Por el socket' }), Date.now());
    await addRecipients(store, c.id, 3);
    const [summary] = await store.summaries([c.id]);
    expect(summary).toMatchObject({ campaign: { name: 'Por el socket' }, counts: { pending: 3 } });
    // inet_server_addr() is NULL for a session that came over a Unix socket
    const [row] = await store.sql`SELECT inet_server_addr() AS addr`;
    expect(row!.addr).toBeNull();
  });

  it('ignores sslmode there, as libpq does: the server offers no TLS on a socket, and verify-full still connects', async () => {
    const store = await openPostgresStore(socketUrl('&sslmode=verify-full'));
    stores.push(store);
    const [row] = await store.sql`SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()`;
    expect(row!.ssl).toBe(false);
  });

  it('a socket that is not there is one line naming it, not a wait for the connect timeout', async () => {
    const started = Date.now();
    const err = await openPostgresStore('postgresql://postgres:s3cr3t@/postgres?host=/nonexistent/aremko&port=5999').catch((e) => e);
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toBe(
      'database postgresql://postgres:***@/postgres?host=/nonexistent/aremko&port=5999: cannot reach the database: no server socket at /nonexistent/aremko/.s.PGSQL.5999 (is the server running, with this port and socket folder?)',
    );
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});

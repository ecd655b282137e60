/**
 * libpq's `connect_timeout` and `application_name`, in the URL or from PGCONNECT_TIMEOUT and
 * PGAPPNAME: a platform's DATABASE_URL often carries them, and an operator who sets them expects
 * them kept. The name is checked where the server shows it (pg_stat_activity); the timeout against
 * a server that accepts the connection and never answers.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { openPostgresStore, type PostgresStore } from '../../src/core/store/postgres.js';
import { parsePostgresUrl } from '../../src/core/store/postgres-url.js';
import { ConfigError, UserError } from '../../src/core/types.js';
import { closedAfterAll, pgUrl } from '../helpers/backends.js';
import { withEnvironment } from '../helpers/environment.js';

const NONE = { PGCONNECT_TIMEOUT: undefined, PGAPPNAME: undefined };

describe('connect_timeout and application_name, read as libpq reads them', () => {
  it('come from the URL, else from PGCONNECT_TIMEOUT and PGAPPNAME, else our defaults', () => {
    withEnvironment(NONE, () => {
      expect(parsePostgresUrl('postgres://u@h/db')).toMatchObject({ connectTimeoutS: 15, applicationName: 'aremko-mail' });
      expect(parsePostgresUrl('postgres://u@h/db?connect_timeout=7&application_name=spa%20mailer')).toMatchObject({
        connectTimeoutS: 7,
        applicationName: 'spa mailer',
      });
    });
    withEnvironment({ PGCONNECT_TIMEOUT: '40', PGAPPNAME: 'cron' }, () => {
      expect(parsePostgresUrl('postgres://u@h/db')).toMatchObject({ connectTimeoutS: 40, applicationName: 'cron' });
      // what the URL says wins
      expect(parsePostgresUrl('postgres://u@h/db?connect_timeout=3&application_name=web')).toMatchObject({ connectTimeoutS: 3, applicationName: 'web' });
    });
  });

  it('a timeout of zero or less waits as long as TCP does, and 1 s is 2, as in libpq', () => {
    withEnvironment(NONE, () => {
      for (const [value, seconds] of [['0', 0], ['-5', 0], ['1', 2], ['2', 2], [' 10 ', 10]] as const)
        expect(parsePostgresUrl(`postgres://u@h/db?connect_timeout=${encodeURIComponent(value)}`).connectTimeoutS, value).toBe(seconds);
    });
  });

  it('a bad value is a configuration error naming the option or variable, the password hidden', () => {
    const cases = [
      ['postgres://u:s3cr3t@h/db?connect_timeout=10s', {}, /connect_timeout must be a whole number of seconds \(got "10s"\)/],
      ['postgres://u:s3cr3t@h/db?connect_timeout=', {}, /connect_timeout must be a whole number of seconds \(got ""\)/],
      ['postgres://u:s3cr3t@h/db', { PGCONNECT_TIMEOUT: 'soon' }, /PGCONNECT_TIMEOUT must be a whole number of seconds \(got "soon"\)/],
      ['postgres://u:s3cr3t@h/db?application_name=a%0Ab', {}, /application_name must not hold control characters/],
      ['postgres://u:s3cr3t@h/db', { PGAPPNAME: 'tab\there' }, /PGAPPNAME must not hold control characters/],
      ['postgres://u:s3cr3t@h/db?options=-c%20x%3D1', {}, /unknown option "options" \(known: .*connect_timeout, application_name/],
    ] as const;
    for (const [url, env, why] of cases) {
      const err = withEnvironment({ ...NONE, ...env }, () => {
        try {
          parsePostgresUrl(url);
          return null;
        } catch (e) {
          return e as Error;
        }
      });
      expect(err, url).toBeInstanceOf(ConfigError);
      expect(err!.message).toMatch(why);
      expect(err!.message).not.toContain('s3cr3t');
    }
  });

  it('a server that accepts the connection and never answers fails after connect_timeout, in one line saying so', async () => {
    const silent = net.createServer(() => undefined); // accepts, reads nothing, answers nothing
    const held: net.Socket[] = [];
    silent.on('connection', (s) => held.push(s));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as net.AddressInfo;
    try {
      const started = Date.now();
      const url = `postgres://mailer:s3cr3t@127.0.0.1:${port}/app?sslmode=disable&connect_timeout=2`;
      const err = await withEnvironment(NONE, () => openPostgresStore(url)).catch((e: unknown) => e);
      const waited = Date.now() - started;
      expect(err).toBeInstanceOf(UserError);
      expect((err as Error).message).toBe(
        `database postgres://mailer:***@127.0.0.1:${port}/app?sslmode=disable&connect_timeout=2: cannot reach the database at 127.0.0.1:${port}/app (no answer in 2 s; connect_timeout= in the URL or PGCONNECT_TIMEOUT waits longer)`,
      );
      // the timeout given, not our default of 15 s
      expect(waited).toBeGreaterThanOrEqual(1_900);
      expect(waited).toBeLessThan(12_000);
    } finally {
      for (const s of held) s.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });
});

describe.skipIf(!pgUrl() && process.env.CI !== 'true')('application_name on the suite server', () => {
  const { stores, schemas } = closedAfterAll();

  async function open(params: Record<string, string>, env: Record<string, string | undefined> = {}): Promise<PostgresStore> {
    const base = pgUrl();
    if (!base) throw new Error('AREMKO_TEST_PG_URL is not set (the global set-up sets it when it starts the server)');
    const url = new URL(base);
    const schema = `app_${randomBytes(4).toString('hex')}`;
    schemas.push(schema);
    url.searchParams.set('schema', schema);
    for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
    const store = await withEnvironment({ ...NONE, ...env }, () => openPostgresStore(url.toString()));
    stores.push(store);
    return store;
  }

  const nameSeen = async (store: PostgresStore) => (await store.sql`SELECT application_name FROM pg_stat_activity WHERE pid = pg_backend_pid()`)[0]!.application_name;

  it('is aremko-mail by default, and what the URL or PGAPPNAME names otherwise', async () => {
    expect(await nameSeen(await open({}))).toBe('aremko-mail');
    expect(await nameSeen(await open({ application_name: 'spa cron' }))).toBe('spa cron');
    expect(await nameSeen(await open({}, { PGAPPNAME: 'from the environment' }))).toBe('from the environment');
  });
});

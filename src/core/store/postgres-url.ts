/**
 * Where the database is and who logs in, read from a postgres:// URL as libpq reads it (the host,
 * port, user, password and database it leaves out from PGHOST, PGPORT, PGUSER, PGPASSWORD and
 * PGDATABASE, the password else from the password file; a Unix socket; the TLS options), and a
 * database failure worded for the operator with that location, the password never shown. No
 * connection is made here.
 */
import { existsSync } from 'node:fs';
import { userInfo } from 'node:os';
import { ConfigError, UserError } from '../types.js';
import { displayLocation } from './open.js';
import { lookUpPassword, type PassfileKey, passfilePath } from './postgres-passfile.js';
import { isConnectionLoss } from './postgres-pipeline.js';
import { SSL_MODES, type SslMode, tlsFault } from './postgres-tls.js';

const DEFAULT_SCHEMA = 'aremko_mail';

export interface PgLocation {
  host: string;
  port: number;
  database: string;
  user: string | undefined;
  password: string | undefined;
  /**
   * Where the password came from, said when a login is refused: PGPASSWORD, the password file
   * (or why that file was not read), or that none was given. Null when it is in the URL.
   */
  passwordNote: string | null;
  sslmode: SslMode;
  sslrootcert: string | null;
  /** A client certificate and its key (PEM files), for a server that logs in by certificate. */
  sslcert: string | null;
  sslkey: string | null;
  /**
   * The server's Unix socket (`<dir>/.s.PGSQL.<port>`) when the host is a folder, as libpq reads
   * it (`?host=/cloudsql/project:region:instance`, Cloud SQL's way into a container); else null.
   */
  socket: string | null;
  schema: string;
  /** Seconds to wait for the server to answer a connection; 0 waits as long as TCP does (libpq's `connect_timeout`). */
  connectTimeoutS: number;
  /** How the server's views (pg_stat_activity, its log) name our sessions (libpq's `application_name`). */
  applicationName: string;
  /** The URL with its password as *** */
  display: string;
}

/**
 * libpq's URLs may leave the host out when the user is given — `postgresql://user:pw@/db?host=…`,
 * the form Cloud SQL documents for its socket — which WHATWG's URL refuses: parsed with a
 * stand-in host, which is then forgotten (the host comes from ?host=, PGHOST or the default
 * socket, as when no user is given).
 */
const HOSTLESS_WITH_USER = /^(postgres(?:ql)?:\/\/[^/?#]*@)(?=[/?#]|$)/i;
const STAND_IN_HOST = 'stand-in.invalid';

/** A host from ?host= or PGHOST: one server's name or socket folder (libpq's lists are not supported). */
function checkedHost(value: string, what: 'host' | 'PGHOST', display: string): string {
  if (!value || value.includes(',')) throw new ConfigError(`--db ${display}: ${what} must be one server's name or its socket folder (got "${value}")`);
  return value;
}

/** The operating system's name for the user running this, libpq's last default; undefined where it has none (a container's uid without a passwd entry). */
function osUser(): string | undefined {
  try {
    return userInfo().username || undefined;
  } catch {
    return undefined;
  }
}

/** A port from ?port= or PGPORT. */
function checkedPort(value: string, what: 'port' | 'PGPORT', display: string): number {
  const port = Number(value);
  if (!/^\d{1,5}$/.test(value) || port < 1 || port > 65535) throw new ConfigError(`--db ${display}: ${what} must be a number from 1 to 65535 (got "${value}")`);
  return port;
}

/** How long a connection may take when neither the URL nor PGCONNECT_TIMEOUT says: less than postgres.js's 30 s, so that a cron run reports an unreachable database well within its turn. */
const DEFAULT_CONNECT_TIMEOUT_S = 15;
const DEFAULT_APPLICATION_NAME = 'aremko-mail';

/**
 * libpq's `connect_timeout`: whole seconds; zero or less waits as long as TCP does; 1 is taken as
 * 2, libpq's least.
 */
function checkedConnectTimeout(value: string, what: 'connect_timeout' | 'PGCONNECT_TIMEOUT', display: string): number {
  if (!/^\s*[-+]?\d+\s*$/.test(value)) throw new ConfigError(`--db ${display}: ${what} must be a whole number of seconds (got "${value}")`);
  const seconds = Number(value);
  return seconds <= 0 ? 0 : Math.max(2, Math.min(seconds, 2_147_483));
}

/**
 * libpq's `application_name`: sent to the server as it is (the server keeps its first 63 bytes
 * and shows other than printable ASCII as `?`); a control character is refused here rather than
 * sent into the server's log.
 */
function checkedApplicationName(value: string, what: 'application_name' | 'PGAPPNAME', display: string): string {
  if (/[\u0000-\u001f\u007f]/.test(value)) throw new ConfigError(`--db ${display}: ${what} must not hold control characters`);
  return value;
}

/**
 * Where libpq looks for the server's socket when nothing names a host: its compiled-in folder,
 * /var/run/postgresql in Debian's, Ubuntu's and Fedora's builds, /tmp in PostgreSQL's own. The
 * first that holds the socket is used, as psql on that machine would; with neither, localhost
 * over TCP (a container with no server in it).
 */
export const DEFAULT_SOCKET_FOLDERS: readonly string[] = ['/var/run/postgresql', '/tmp'];

/** Parses a postgres:// URL; a ConfigError (exit 2) names what is wrong, never the password. */
export function parsePostgresUrl(url: string, socketFolders: readonly string[] = DEFAULT_SOCKET_FOLDERS): PgLocation {
  const display = displayLocation(url);
  let u: URL;
  try {
    u = new URL(url.replace(HOSTLESS_WITH_USER, `$1${STAND_IN_HOST}`));
  } catch {
    throw new ConfigError(
      `--db ${display} is not a valid URL: use postgres://user:password@host:5432/dbname (special characters in the password percent-encoded)`,
    );
  }
  const decode = (v: string, what: string) => {
    try {
      return decodeURIComponent(v);
    } catch {
      throw new ConfigError(`--db ${display}: the ${what} is not valid percent-encoding`);
    }
  };
  // What the URL leaves out, libpq takes from PGUSER, PGPASSWORD and PGDATABASE, the user from
  // the operating system last. Made explicit here (postgres.js would read PGUSERNAME first) so the
  // errors name the user who was refused and never show a password that came from the environment.
  const { PGUSER, PGPASSWORD, PGDATABASE } = process.env;
  const user = u.username ? decode(u.username, 'user name') : PGUSER || osUser();
  const database = decode(u.pathname.replace(/^\//, ''), 'database name') || PGDATABASE || '';
  if (!database) throw new ConfigError(`--db ${display} names no database: postgres://user:password@host:5432/dbname (or set PGDATABASE)`);
  let sslmode: SslMode = 'prefer';
  const files: Record<'sslrootcert' | 'sslcert' | 'sslkey', string | null> = { sslrootcert: null, sslcert: null, sslkey: null };
  let schema = DEFAULT_SCHEMA;
  let hostOption: string | null = null;
  let portOption: number | null = null;
  let connectTimeoutOption: number | null = null;
  let applicationNameOption: string | null = null;
  for (const [key, value] of u.searchParams) {
    if (key === 'sslmode') {
      if (!(SSL_MODES as readonly string[]).includes(value))
        throw new ConfigError(`--db ${display}: sslmode must be one of ${SSL_MODES.join(', ')} (got "${value}")`);
      sslmode = value as SslMode;
    } else if (key === 'sslrootcert' || key === 'sslcert' || key === 'sslkey') files[key] = value;
    else if (key === 'host') hostOption = checkedHost(value, 'host', display);
    else if (key === 'port') portOption = checkedPort(value, 'port', display);
    else if (key === 'schema') {
      if (!/^[a-z_][a-z0-9_]{0,62}$/.test(value))
        throw new ConfigError(`--db ${display}: schema must be a lower-case name of letters, digits and _ (got "${value}")`);
      schema = value;
    } else if (key === 'channel_binding') {
      // libpq's: SCRAM bound to the TLS channel. postgres.js cannot bind; `prefer` (libpq's
      // default) then logs in unbound, as libpq does with a server that offers no binding.
      if (value === 'require')
        throw new ConfigError(
          `--db ${display}: channel_binding=require is not supported by this client; remove it or use channel_binding=prefer (sslmode=verify-full guards the login against a server in the middle)`,
        );
      if (value !== 'prefer' && value !== 'disable') throw new ConfigError(`--db ${display}: channel_binding must be disable, prefer or require (got "${value}")`);
    } else if (key === 'connect_timeout') connectTimeoutOption = checkedConnectTimeout(value, 'connect_timeout', display);
    else if (key === 'application_name') applicationNameOption = checkedApplicationName(value, 'application_name', display);
    else
      throw new ConfigError(
        `--db ${display}: unknown option "${key}" (known: sslmode, sslrootcert, sslcert, sslkey, schema, host, port, connect_timeout, application_name, channel_binding)`,
      );
  }
  if (!files.sslcert !== !files.sslkey) throw new ConfigError(`--db ${display}: sslcert and sslkey go together (a client certificate and its key)`);
  if (files.sslcert && sslmode === 'disable') throw new ConfigError(`--db ${display}: sslcert needs TLS, and sslmode=disable turns it off`);
  // As in libpq: ?host= wins over the URL's host, and what the URL leaves out PGHOST and PGPORT
  // give (read only then); a host that is a folder (written out, or percent-encoded in the URL's
  // host: %2Fvar%2Frun%2Fpostgresql) names a Unix socket in it.
  const { PGHOST, PGPORT } = process.env;
  const urlHost = u.hostname === STAND_IN_HOST ? '' : decode(u.hostname, 'host').replace(/^\[|\]$/g, '');
  const port = portOption ?? (u.port ? Number(u.port) : PGPORT ? checkedPort(PGPORT, 'PGPORT', display) : 5432);
  const host =
    hostOption ??
    (urlHost || (PGHOST ? checkedHost(PGHOST, 'PGHOST', display) : socketFolders.find((dir) => existsSync(`${dir}/.s.PGSQL.${port}`)) ?? 'localhost'));
  const socket = host.startsWith('/') ? `${host.replace(/\/+$/, '')}/.s.PGSQL.${port}` : null;
  if (socket && files.sslcert) throw new ConfigError(`--db ${display}: sslcert is for TLS, which a Unix socket (host=${host}) does not use`);
  const { password, passwordNote } = u.password
    ? { password: decode(u.password, 'password'), passwordNote: null }
    : PGPASSWORD
      ? { password: PGPASSWORD, passwordNote: 'password from PGPASSWORD' }
      : // libpq matches `localhost` in the file for its default socket folder, as for no host at all
        fromPasswordFile({ host: socket && socketFolders.includes(host) ? 'localhost' : host, port, database, user });
  // As the host and port: what the URL leaves out, libpq's variables give.
  const { PGCONNECT_TIMEOUT, PGAPPNAME } = process.env;
  const connectTimeoutS =
    connectTimeoutOption ?? (PGCONNECT_TIMEOUT ? checkedConnectTimeout(PGCONNECT_TIMEOUT, 'PGCONNECT_TIMEOUT', display) : DEFAULT_CONNECT_TIMEOUT_S);
  const applicationName = applicationNameOption ?? (PGAPPNAME ? checkedApplicationName(PGAPPNAME, 'PGAPPNAME', display) : DEFAULT_APPLICATION_NAME);
  return {
    host,
    port,
    socket,
    database,
    user,
    password,
    passwordNote,
    sslmode,
    ...files,
    schema,
    connectTimeoutS,
    applicationName,
    display,
  };
}

/** The password file's password for this connection, and what to say of it if the login is refused. */
function fromPasswordFile(key: Omit<PassfileKey, 'user'> & { user: string | undefined }): Pick<PgLocation, 'password' | 'passwordNote'> {
  const file = passfilePath();
  const found = key.user ? lookUpPassword({ ...key, user: key.user }, file) : ({ kind: 'none' } as const);
  if (found.kind === 'found') return { password: found.password, passwordNote: `password from ${found.file}` };
  if (found.kind === 'ignored') return { password: undefined, passwordNote: `no password: ${found.file} was not read, ${found.why}` };
  return { password: undefined, passwordNote: `no password given: none in the URL, PGPASSWORD or ${file}` };
}

/** A database failure in one line, naming where (password hidden) and why. */
export function pgFault(
  err: unknown,
  loc: Pick<PgLocation, 'display' | 'host' | 'port' | 'socket' | 'user' | 'database' | 'password' | 'passwordNote' | 'connectTimeoutS'>,
): Error {
  if (err instanceof UserError) return err;
  const e = err as { code?: string; message?: string };
  const hide = (s: string) => (loc.password ? s.split(loc.password).join('***') : s);
  const cause = faultCause(err, loc, hide);
  if (!cause) return new Error(hide(e.message ?? String(err)));
  return new UserError(`database ${loc.display}: ${cause}`);
}

/** What went wrong, in the operator's words; null when the error is not one we know. */
function faultCause(err: unknown, loc: Parameters<typeof pgFault>[1], hide: (s: string) => string): string | null {
  const e = err as { code?: string; message?: string };
  const code = e.code ?? '';
  const server = loc.socket ?? `${loc.host}:${loc.port}`;
  const where = loc.socket ? `${loc.socket} (database ${loc.database})` : `${server}/${loc.database}`;
  if (code === 'ECONNREFUSED') return `cannot reach the database at ${where} (connection refused)`;
  if (loc.socket && code === 'ENOENT') return `cannot reach the database: no server socket at ${loc.socket} (is the server running, with this port and socket folder?)`;
  if (loc.socket && code === 'EACCES') return `cannot reach the database: no permission to open the socket ${loc.socket}`;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `cannot reach the database: host ${loc.host} not found`;
  // postgres.js's own timer, which runs only with a timeout (connect_timeout > 0); ETIMEDOUT is TCP's.
  if (code === 'CONNECT_TIMEOUT')
    return `cannot reach the database at ${where} (no answer in ${loc.connectTimeoutS} s; connect_timeout= in the URL or PGCONNECT_TIMEOUT waits longer)`;
  if (code === 'ETIMEDOUT') return `cannot reach the database at ${where} (timed out)`;
  if (isConnectionLoss(err))
    return /^57P0/.test(code) ? `the database at ${where} is shutting down or starting up` : `lost the connection to the database at ${where}`;
  if (code === '28P01' || code === '28000')
    return `the database at ${where} refused the login${loc.user ? ` of user ${loc.user}` : ''}${loc.passwordNote ? ` (${loc.passwordNote})` : ''}`;
  if (code === '3D000') return `database "${loc.database}" does not exist at ${server}`;
  if (code === '42501') return `the database user${loc.user ? ` ${loc.user}` : ''} lacks a privilege: ${hide(e.message ?? '')}`;
  if (code === '53100') return `the database at ${where} has no space left on its disk`;
  return tlsFault(err, loc.host);
}

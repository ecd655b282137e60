/**
 * The transport layer: turns a transport URL into something that sends one message and says
 * exactly what happened to it.
 *
 * SMTP is spoken with nodemailer's `SMTPConnection`, one per pool slot, and deliberately NOT with
 * nodemailer's pool transport: that pool re-queues a message whose connection closed mid-send
 * (`maxRequeues`), which mails a recipient twice, and reports every close as the same generic
 * error, so the phase of the loss is lost. Here each send tracks its own phase:
 *
 * - the message goes to `SMTPConnection#send` as a Readable; its 'end' event is the moment the
 *   last byte of the message has been handed to the DATA encoder. The encoder only produces the
 *   terminating `<CRLF>.<CRLF>` after that, and a server cannot accept a message before it has
 *   seen that terminator. So a connection lost before 'end' is safely `retry`, and after it
 *   `in_doubt` (the server may have accepted the message and we never heard).
 * - `SMTPConnection` reports a lost connection ONLY through its 'error' (then 'end') events: the
 *   send/login callback is never called in that case (`close()` drops the pending response
 *   actions). Replies (4xx/5xx) come through the callback. A send on an already destroyed
 *   connection calls back synchronously with code ECONNECTION. `runOp` below races the three
 *   and settles exactly once.
 * - After a failed transaction the connection is reset with RSET (nodemailer does not do this by
 *   itself; after a successful one no RSET is needed: the 250 to the data ends the transaction
 *   and the next MAIL FROM starts a new one).
 */
import { randomBytes } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { access, mkdir, open, rename, rm } from 'node:fs/promises';
import { join, resolve as resolvePath } from 'node:path';
import { Readable } from 'node:stream';
import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import addressparser from 'nodemailer/lib/addressparser/index.js';
import SMTPConnection from 'nodemailer/lib/smtp-connection/index.js';
import { ConfigError } from './types.js';

export interface TransportConfig {
  kind: 'smtp' | 'smtps' | 'outbox';
  host: string;
  port: number;
  user: string | null;
  pass: string | null;
  /** `?insecure=1`: plaintext allowed to any host, and certificates are not verified. */
  insecure: boolean;
  pool: number;
  /** outbox only: absolute folder the .eml files go to. */
  dir: string | null;
  /** the URL with the password replaced by *** */
  display: string;
}

export interface OutgoingEnvelope {
  from: string;
  to: string;
  raw: Buffer;
  messageId: string;
}

export type SendOutcome =
  /** the server answered 2xx to the data */
  | { kind: 'sent'; response: string }
  /** 4xx, or the connection dropped/failed before the message data went out */
  | { kind: 'retry'; error: string }
  /** 5xx; `error` keeps the server's reply; `unknownMailbox` for an enhanced code 5.1.1 */
  | { kind: 'failed'; error: string; unknownMailbox: boolean }
  /** connection lost after the message data went out, before the server's reply */
  | { kind: 'in_doubt'; error: string }
  /** cannot reach/connect/log in (or the server refuses the sender): stop the campaign, exit 75 */
  | { kind: 'unavailable'; error: string };

export interface Transport {
  readonly config: TransportConfig;
  /** at most this many sends run at once; a send beyond that waits for a free connection */
  readonly pool: number;
  /** Never throws for SMTP problems: it classifies. */
  send(message: OutgoingEnvelope): Promise<SendOutcome>;
  /** Connects and logs in once, to fail fast: null when fine, else the (`unavailable`) outcome. */
  verify(): Promise<SendOutcome | null>;
  /**
   * Closes every connection now. A send still in flight resolves by its phase (`retry`, or
   * `in_doubt` when its data went out); a send still waiting for a connection resolves `retry`.
   */
  close(): Promise<void>;
}

export interface TransportOptions {
  /** connect + greeting + DNS, each; default 30 s */
  connectionTimeoutMs?: number;
  /** inactivity while waiting for the server; default 5 min */
  socketTimeoutMs?: number;
  /** a pooled connection unused for this long is replaced before use (0: never reuse); default 30 s */
  idleReconnectMs?: number;
  /** merged over the TLS options this module chooses (e.g. `{ ca }` for a private CA) */
  tls?: TlsConnectionOptions;
  /** the name given in EHLO; default: this machine's FQDN, or [127.0.0.1] */
  hostname?: string;
}

const DEFAULT_CONNECTION_TIMEOUT_MS = 30_000;
const DEFAULT_SOCKET_TIMEOUT_MS = 5 * 60_000;
const DEFAULT_IDLE_RECONNECT_MS = 30_000;
const MAX_POOL = 100;
/** How long close() lets a server answer QUIT before cutting the connection. */
const QUIT_GRACE_MS = 1_000;

// ---------------------------------------------------------------------------------------------
// URLs

/** The URL with its password (if any) replaced by `***`. Works on URLs that do not parse, too. */
export function redactUrl(url: string): string {
  const scheme = /^([a-z][a-z0-9+.-]*:)\/\//i.exec(url);
  if (!scheme) return url;
  try {
    const u = new URL(url);
    if (u.protocol.toLowerCase() === scheme[1]!.toLowerCase() && u.host) {
      if (!u.password) return url;
      const path = u.pathname === '/' ? '' : u.pathname;
      return `${scheme[1]}//${u.username}:***@${u.host}${path}${u.search}${u.hash}`;
    }
  } catch {
    // fall through to the textual redaction
  }
  // Not parseable (e.g. an unencoded '/' or '#' in the password): redact everything between the
  // first ':' of the user info and the LAST '@'. Over-redacting a strange URL is fine.
  const start = scheme[0].length;
  const rest = url.slice(start);
  const at = rest.lastIndexOf('@');
  if (at < 0) return url;
  const userinfo = rest.slice(0, at);
  const colon = userinfo.indexOf(':');
  if (colon < 0) return url;
  return `${url.slice(0, start)}${userinfo.slice(0, colon)}:***${rest.slice(at)}`;
}

/** 127.0.0.0/8, ::1 (also IPv4-mapped), `localhost`. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  const v4 = h.startsWith('::ffff:') ? h.slice(7) : h;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4);
}

const URL_HELP = 'expected smtp://[user:pass@]host[:port], smtps://[user:pass@]host[:port] or outbox:<dir>';

function decodePart(value: string, what: string, shown: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    throw new ConfigError(`transport URL ${shown}: the ${what} is not valid percent-encoding`);
  }
}

/** Parses a transport URL. Throws ConfigError (exit 2) naming the problem; never echoes the password. */
export function parseTransportUrl(url: string): TransportConfig {
  const raw = (url ?? '').trim();
  const shown = JSON.stringify(redactUrl(raw));
  if (!raw) throw new ConfigError(`empty transport URL: ${URL_HELP}`);

  if (/^outbox:/i.test(raw)) {
    let dir = raw.slice('outbox:'.length);
    if (dir.startsWith('//')) dir = dir.slice(2);
    if (!dir) throw new ConfigError(`transport URL ${shown} names no folder: use outbox:<dir>, e.g. outbox:data/outbox`);
    return {
      kind: 'outbox',
      host: '',
      port: 0,
      user: null,
      pass: null,
      insecure: false,
      pool: 1,
      dir: resolvePath(dir),
      display: raw,
    };
  }

  const schemeMatch = /^([a-z][a-z0-9+.-]*):/i.exec(raw);
  const scheme = schemeMatch?.[1]?.toLowerCase();
  if (scheme !== 'smtp' && scheme !== 'smtps') {
    throw new ConfigError(
      schemeMatch ? `unsupported transport URL scheme "${schemeMatch[1]}:" in ${shown}: ${URL_HELP}` : `transport URL ${shown} has no scheme: ${URL_HELP}`,
    );
  }
  if (!/^[a-z]+:\/\//i.test(raw)) throw new ConfigError(`transport URL ${shown} must start with ${scheme}://`);

  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new ConfigError(
      `invalid transport URL ${shown}: ${URL_HELP}; the port must be a number from 1 to 65535, and ` +
        'special characters in the user name or password must be percent-encoded (/ as %2F, # as %23, ? as %3F, @ as %40)',
    );
  }

  const host = u.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (!host) throw new ConfigError(`transport URL ${shown} names no host: ${URL_HELP}`);
  if (u.pathname && u.pathname !== '/') throw new ConfigError(`transport URL ${shown} has a path ("${u.pathname}"); it takes none`);
  if (u.hash) throw new ConfigError(`transport URL ${shown} has a #fragment; it takes none`);

  let port = scheme === 'smtps' ? 465 : 587;
  if (u.port !== '') {
    port = Number(u.port);
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      throw new ConfigError(`transport URL ${shown}: the port must be a number from 1 to 65535`);
    }
  }

  const user = u.username ? decodePart(u.username, 'user name', shown) : null;
  const pass = u.password ? decodePart(u.password, 'password', shown) : null;
  if (user && !pass) throw new ConfigError(`transport URL ${shown} has a user name but no password (smtp://user:pass@host)`);
  if (!user && pass) throw new ConfigError(`transport URL ${shown} has a password but no user name (smtp://user:pass@host)`);

  let pool = 1;
  let insecure = false;
  for (const [key, value] of u.searchParams) {
    if (key === 'pool') {
      if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > MAX_POOL) {
        throw new ConfigError(`transport URL ${shown}: pool must be a whole number from 1 to ${MAX_POOL} (got "${value}")`);
      }
      pool = Number(value);
    } else if (key === 'insecure') {
      const v = value.toLowerCase();
      if (['1', 'true', 'yes'].includes(v)) insecure = true;
      else if (['0', 'false', 'no'].includes(v)) insecure = false;
      else throw new ConfigError(`transport URL ${shown}: insecure must be 1 or 0 (got "${value}")`);
    } else {
      throw new ConfigError(`transport URL ${shown}: unknown option "${key}" (known: pool, insecure)`);
    }
  }

  const display = redactUrl(raw);
  return { kind: scheme, host, port, user, pass, insecure, pool, dir: null, display };
}

// ---------------------------------------------------------------------------------------------
// Secrets

/** Every form in which the password could leak into an error string. */
function secretForms(user: string | null, pass: string | null): string[] {
  if (!pass) return [];
  const b64 = (s: string) => Buffer.from(s, 'utf-8').toString('base64');
  const forms = new Set<string>([pass, encodeURIComponent(pass), b64(pass), b64(`\u0000${user ?? ''}\u0000${pass}`), b64(`${user ?? ''}\u0000${user ?? ''}\u0000${pass}`)]);
  // base64 without padding, as it may appear cut off
  for (const f of [...forms]) if (f.endsWith('=')) forms.add(f.replace(/=+$/, ''));
  return [...forms].filter((f) => f.length > 0).sort((a, b) => b.length - a.length);
}

function makeScrubber(user: string | null, pass: string | null): (s: string) => string {
  const forms = secretForms(user, pass);
  return (s: string) => {
    let out = s.replace(/\r?\n/g, ' ').trim();
    for (const f of forms) out = out.split(f).join('***');
    return out;
  };
}

// ---------------------------------------------------------------------------------------------
// SMTP

type SmtpError = SMTPConnection.SMTPError;

/** The options given to each SMTPConnection. Exported for tests. */
export function smtpConnectionOptions(config: TransportConfig, options: TransportOptions = {}): SMTPConnection.Options {
  if (config.kind === 'outbox') throw new Error('smtpConnectionOptions: not an SMTP transport');
  const connectionTimeout = options.connectionTimeoutMs ?? DEFAULT_CONNECTION_TIMEOUT_MS;
  const loopback = isLoopbackHost(config.host);
  // Plaintext is acceptable to loopback or with ?insecure=1; there TLS is opportunistic, and an
  // unverified certificate is no worse than no TLS. Everywhere else TLS is required and verified.
  const mustEncrypt = config.kind === 'smtp' && !loopback && !config.insecure;
  const verify = !(loopback || config.insecure);
  const opts: SMTPConnection.Options = {
    host: config.host,
    port: config.port,
    secure: config.kind === 'smtps',
    requireTLS: mustEncrypt,
    opportunisticTLS: config.kind === 'smtp' && !mustEncrypt,
    ignoreTLS: false,
    connectionTimeout,
    greetingTimeout: connectionTimeout,
    dnsTimeout: connectionTimeout,
    socketTimeout: options.socketTimeoutMs ?? DEFAULT_SOCKET_TIMEOUT_MS,
    logger: false,
    debug: false,
    transactionLog: false,
    tls: { rejectUnauthorized: verify, ...options.tls },
  };
  if (options.hostname) opts.name = options.hostname;
  return opts;
}

interface Conn {
  smtp: SMTPConnection;
  dead: boolean;
  lastUsed: number;
  /** resolves when the connection emitted 'end' (fully closed) */
  ended: Promise<void>;
}

interface Slot {
  conn: Conn | null;
  busy: boolean;
}

type OpResult<T> =
  | { ok: true; value: T }
  /** `lost`: the connection failed/closed (an 'error'/'end' event, or the connection was already gone) */
  | { ok: false; error: SmtpError; lost: boolean };

/**
 * Runs one SMTPConnection operation and settles exactly once: on its callback (a reply), or on
 * the connection's 'error' or 'end' event (a lost connection; the callback is then never called).
 */
function runOp<T>(smtp: SMTPConnection, start: (cb: (err?: SmtpError | null, value?: T) => void) => void): Promise<OpResult<T>> {
  return new Promise((resolve) => {
    let settled = false;
    const finish = (r: OpResult<T>) => {
      if (settled) return;
      settled = true;
      smtp.off('error', onError);
      smtp.off('end', onEnd);
      resolve(r);
    };
    const onError = (error: SmtpError) => finish({ ok: false, error, lost: true });
    const onEnd = () => finish({ ok: false, error: Object.assign(new Error('Connection closed'), { code: 'ECONNECTION' }), lost: true });
    smtp.on('error', onError);
    smtp.on('end', onEnd);
    try {
      start((err, value) => {
        if (err) finish({ ok: false, error: err, lost: err.code === 'ECONNECTION' || err.code === 'ESOCKET' || err.code === 'ETIMEDOUT' });
        else finish({ ok: true, value: value as T });
      });
    } catch (err) {
      finish({ ok: false, error: err as SmtpError, lost: true });
    }
  });
}

/** The server's reply from an error, if the error came from one. */
function replyOf(err: SmtpError): string | null {
  const r = typeof err.response === 'string' ? err.response.trim() : '';
  return /^\d{3}/.test(r) ? r : null;
}

function replyCode(err: SmtpError): number | null {
  const r = replyOf(err);
  return r ? Number(r.slice(0, 3)) : null;
}

/** An enhanced status code 5.1.1 (bad destination mailbox) on any line of the reply. */
function isUnknownMailbox(reply: string): boolean {
  return /(^|\n)\s*5\d\d[ -]#?5\.1\.1\b/.test(reply);
}

/** The bare address of "Name <addr>" (SMTP envelopes take the address alone). */
function envelopeAddress(value: string): string {
  const trimmed = value.trim();
  try {
    const parsed = addressparser(trimmed, { flatten: true });
    const first = parsed.find((a) => a.address);
    if (first) return first.address;
  } catch {
    // fall back to the value as given
  }
  return trimmed;
}

class SmtpTransport implements Transport {
  readonly pool: number;
  private readonly slots: Slot[];
  private readonly waiters: Array<(slot: Slot | null) => void> = [];
  private readonly smtpOptions: SMTPConnection.Options;
  private readonly idleReconnectMs: number;
  private readonly scrub: (s: string) => string;
  private readonly mustEncrypt: boolean;
  /** every connection not yet ended, including ones still connecting */
  private readonly live = new Set<Conn>();
  private closed = false;

  constructor(
    readonly config: TransportConfig,
    options: TransportOptions,
  ) {
    this.pool = config.pool;
    this.slots = Array.from({ length: config.pool }, () => ({ conn: null, busy: false }));
    this.smtpOptions = smtpConnectionOptions(config, options);
    this.mustEncrypt = !!this.smtpOptions.requireTLS;
    this.idleReconnectMs = options.idleReconnectMs ?? DEFAULT_IDLE_RECONNECT_MS;
    this.scrub = makeScrubber(config.user, config.pass);
  }

  // -- pool ----------------------------------------------------------------------------------

  private acquire(): Promise<Slot | null> {
    if (this.closed) return Promise.resolve(null);
    const free = this.slots.filter((s) => !s.busy);
    const slot = free.find((s) => s.conn && !s.conn.dead) ?? free[0];
    if (slot) {
      slot.busy = true;
      return Promise.resolve(slot);
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private release(slot: Slot): void {
    const next = this.closed ? undefined : this.waiters.shift();
    if (next) next(slot);
    else slot.busy = false;
  }

  // -- connections ---------------------------------------------------------------------------

  /** Connects (and logs in): a Conn, or why the server cannot be used. */
  private async open(): Promise<Conn | { unavailable: string }> {
    const smtp = new SMTPConnection({ ...this.smtpOptions, tls: { ...this.smtpOptions.tls } });
    let markEnded!: () => void;
    const conn: Conn = { smtp, dead: false, lastUsed: Date.now(), ended: new Promise<void>((r) => (markEnded = r)) };
    // Permanent listeners: an idle connection that the server closes (421 and close, a timeout)
    // reports it as an 'error' event; without a listener that would crash the process.
    smtp.on('error', () => {
      conn.dead = true;
    });
    smtp.on('end', () => {
      conn.dead = true;
      this.live.delete(conn);
      markEnded();
    });
    this.live.add(conn);

    const where = this.config.display;
    const connected = await runOp<void>(smtp, (cb) => smtp.connect(cb));
    if (!connected.ok) {
      this.discard(conn);
      const e = connected.error;
      const reply = replyOf(e);
      // nodemailer's "Invalid greeting. response=421 …: 421 …" says the reply twice
      const detail = reply && /response=/.test(e.message) ? `${e.message.split(/\.? ?response=/)[0]}: ${reply}` : e.message;
      let why = `cannot connect to ${where}: ${this.scrub(detail)}`;
      if (this.mustEncrypt && (e.code === 'ETLS' || /STARTTLS/i.test(e.message))) {
        why += ' (TLS is required before anything is sent to a non-loopback host: the server must offer STARTTLS; add ?insecure=1 to allow plaintext)';
      }
      return { unavailable: why };
    }
    // Commands and the message go out in small writes, each waiting for its reply: without this,
    // Nagle's algorithm against the server's delayed ACK costs ~40 ms per message.
    (smtp as SMTPConnection & { _socket?: { setNoDelay?: (v: boolean) => void } })._socket?.setNoDelay?.(true);
    if (this.config.user && this.config.pass) {
      if (!(smtp as SMTPConnection & { allowsAuth?: boolean }).allowsAuth) {
        this.discard(conn);
        return { unavailable: `cannot log in to ${where}: the server does not offer AUTH` };
      }
      const loggedIn = await runOp<void>(smtp, (cb) => smtp.login({ credentials: { user: this.config.user!, pass: this.config.pass! } }, cb));
      if (!loggedIn.ok) {
        this.discard(conn);
        const reply = replyOf(loggedIn.error);
        return {
          unavailable: reply
            ? `login refused by ${where}: ${this.scrub(reply)}`
            : `cannot log in to ${where}: ${this.scrub(loggedIn.error.message)}`,
        };
      }
    }
    conn.lastUsed = Date.now();
    return conn;
  }

  /** Ends a connection without waiting: QUIT if it is alive, cut after a short grace. */
  private discard(conn: Conn | null): void {
    if (!conn) return;
    const wasDead = conn.dead;
    conn.dead = true;
    try {
      if (wasDead) conn.smtp.close();
      else {
        conn.smtp.quit();
        const t = setTimeout(() => conn.smtp.close(), QUIT_GRACE_MS);
        t.unref();
        void conn.ended.then(() => clearTimeout(t));
      }
    } catch {
      // already gone
    }
  }

  // -- API -----------------------------------------------------------------------------------

  async verify(): Promise<SendOutcome | null> {
    const slot = await this.acquire();
    if (!slot) return { kind: 'unavailable', error: 'transport closed' };
    try {
      if (slot.conn && !slot.conn.dead) return null;
      const conn = await this.open();
      if (this.closed) {
        if (!('unavailable' in conn)) this.discard(conn);
        return { kind: 'unavailable', error: 'transport closed' };
      }
      if ('unavailable' in conn) return { kind: 'unavailable', error: conn.unavailable };
      slot.conn = conn;
      return null;
    } finally {
      this.release(slot);
    }
  }

  async send(message: OutgoingEnvelope): Promise<SendOutcome> {
    const slot = await this.acquire();
    if (!slot) return { kind: 'retry', error: 'transport closed before the message was sent' };
    try {
      return await this.sendOnSlot(slot, message);
    } finally {
      this.release(slot);
    }
  }

  private async sendOnSlot(slot: Slot, message: OutgoingEnvelope): Promise<SendOutcome> {
    let reconnected = false;
    for (;;) {
      if (this.closed) return { kind: 'retry', error: 'transport closed before the message was sent' };
      let fresh = false;
      const current = slot.conn;
      if (!current || current.dead || Date.now() - current.lastUsed >= this.idleReconnectMs) {
        this.discard(current);
        slot.conn = null;
        const opened = await this.open();
        if (this.closed) {
          if (!('unavailable' in opened)) this.discard(opened);
          return { kind: 'retry', error: 'transport closed before the message was sent' };
        }
        if ('unavailable' in opened) return { kind: 'unavailable', error: opened.unavailable };
        slot.conn = opened;
        fresh = true;
      }
      const conn = slot.conn!;
      const result = await this.transact(conn, message);
      conn.lastUsed = Date.now();
      if (result.stale && !fresh && !reconnected && !this.closed) {
        // A reused connection that turned out to be gone (the server closed it while it sat
        // idle) before any message data went out: nothing can have been accepted. Once, on a
        // fresh connection.
        this.discard(conn);
        slot.conn = null;
        reconnected = true;
        continue;
      }
      if (conn.dead) slot.conn = null;
      return result.outcome;
    }
  }

  /** One SMTP transaction on a connected (and logged-in) connection. */
  private async transact(conn: Conn, message: OutgoingEnvelope): Promise<{ outcome: SendOutcome; stale: boolean }> {
    let dataOut = false;
    const body = new Readable({
      read() {
        this.push(message.raw);
        this.push(null);
      },
    });
    body.once('end', () => {
      dataOut = true;
    });
    const envelope: SMTPConnection.Envelope = {
      from: envelopeAddress(message.from),
      to: [envelopeAddress(message.to)],
      size: message.raw.length,
    };
    const r = await runOp<SMTPConnection.SentMessageInfo>(conn.smtp, (cb) => conn.smtp.send(envelope, body, (err, info) => cb(err, info)));
    if (r.ok) {
      const response = this.scrub(r.value.response || '250');
      if (/^2/.test(response)) return { outcome: { kind: 'sent', response }, stale: false };
      return { outcome: { kind: 'in_doubt', error: `unexpected reply to the data: ${response}` }, stale: false };
    }
    const err = r.error;
    // EENVELOPE: refused at MAIL FROM/RCPT TO/DATA, or locally before anything was sent; the
    // body may since have been drained into a sink by SMTPConnection, so `dataOut` says nothing then.
    const beforeData = err.code === 'EENVELOPE' || !dataOut;
    if (r.lost) {
      conn.dead = true;
      const what = this.scrub(err.message);
      if (!beforeData) {
        return {
          outcome: { kind: 'in_doubt', error: `connection lost after the message data went out, before the server's reply: ${what}` },
          stale: false,
        };
      }
      return { outcome: { kind: 'retry', error: `connection lost before the message data went out: ${what}` }, stale: true };
    }

    // A reply (or a local refusal) through the callback: the connection is still usable once
    // the half-done transaction is reset.
    await this.reset(conn);
    const reply = replyOf(err);
    const code = replyCode(err);
    if (reply && code !== null) {
      const text = this.scrub(reply);
      if (code >= 400 && code < 500) {
        // 421 to a command on a reused connection is the server closing a connection it had
        // kept for us; before the data went out that is a stale connection, not a refusal.
        return { outcome: { kind: 'retry', error: text }, stale: code === 421 && beforeData };
      }
      if (code >= 500) {
        if (code === 530 || err.command === 'MAIL FROM') {
          // A login required, or the sender refused: that holds for every recipient, so it is a
          // campaign-level stop, not a reason to mark this recipient (and then all the others)
          // failed.
          const why = code === 530 ? 'the server requires a login' : `the server refused the sender ${envelope.from}`;
          return { outcome: { kind: 'unavailable', error: `${why}: ${text}` }, stale: false };
        }
        return { outcome: { kind: 'failed', error: text, unknownMailbox: isUnknownMailbox(reply) }, stale: false };
      }
    }
    // No server reply: refused locally (invalid address, message over the server's SIZE).
    const text = this.scrub(err.message);
    if (/Invalid sender/i.test(text)) return { outcome: { kind: 'unavailable', error: text }, stale: false };
    if (err.code === 'ESTREAM') return { outcome: { kind: 'retry', error: text }, stale: false };
    return { outcome: { kind: 'failed', error: text, unknownMailbox: false }, stale: false };
  }

  private async reset(conn: Conn): Promise<void> {
    if (conn.dead) return;
    const r = await runOp<void>(conn.smtp, (cb) => conn.smtp.reset((err) => cb(err)));
    if (!r.ok) this.discard(conn);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const w of this.waiters.splice(0)) w(null);
    const idle = new Set<Conn>();
    for (const slot of this.slots) {
      if (slot.conn && !slot.busy) idle.add(slot.conn);
      slot.conn = null;
    }
    const ends: Promise<void>[] = [];
    for (const conn of this.live) {
      ends.push(conn.ended);
      if (idle.has(conn)) this.discard(conn);
      else {
        // In flight or still connecting: cut now; a send resolves by its phase.
        conn.dead = true;
        try {
          conn.smtp.close();
        } catch {
          // already gone
        }
      }
    }
    await Promise.all(ends);
  }
}

// ---------------------------------------------------------------------------------------------
// Outbox

/** A file-name-safe form of a Message-ID. */
function fileStem(messageId: string): string {
  const stem = messageId
    .trim()
    .replace(/^<|>$/g, '')
    .replace(/[^A-Za-z0-9._@+=-]/g, '_')
    .replace(/^\.+/, '_')
    .slice(0, 150);
  return stem || 'message';
}

class OutboxTransport implements Transport {
  readonly pool: number;
  private readonly dir: string;
  private ready: Promise<void> | null = null;
  private counter = 0;

  constructor(readonly config: TransportConfig) {
    this.pool = config.pool;
    this.dir = config.dir!;
  }

  private ensureDir(): Promise<void> {
    this.ready ??= mkdir(this.dir, { recursive: true }).then(
      () => undefined,
      (err) => {
        this.ready = null;
        throw err;
      },
    );
    return this.ready;
  }

  async verify(): Promise<SendOutcome | null> {
    try {
      await this.ensureDir();
      await access(this.dir, fsConstants.W_OK);
      return null;
    } catch (err) {
      return { kind: 'unavailable', error: `cannot write to the outbox ${this.dir}: ${(err as Error).message}` };
    }
  }

  async send(message: OutgoingEnvelope): Promise<SendOutcome> {
    const unique = `${Date.now().toString(36)}-${process.pid.toString(36)}-${(this.counter++).toString(36)}-${randomBytes(4).toString('hex')}`;
    const name = `${fileStem(message.messageId)}.${unique}.eml`;
    const final = join(this.dir, name);
    // a dot-file without the .eml extension until complete: a kill leaves no half .eml behind
    const temp = join(this.dir, `.${name}.tmp`);
    try {
      await this.ensureDir();
      const fh = await open(temp, 'wx', 0o644);
      try {
        await fh.writeFile(message.raw);
        await fh.datasync();
      } finally {
        await fh.close();
      }
      await rename(temp, final);
      return { kind: 'sent', response: `written to ${final}` };
    } catch (err) {
      await rm(temp, { force: true }).catch(() => undefined);
      return { kind: 'unavailable', error: `cannot write to the outbox ${this.dir}: ${(err as Error).message}` };
    }
  }

  async close(): Promise<void> {}
}

// ---------------------------------------------------------------------------------------------

export function createTransport(config: TransportConfig, options: TransportOptions = {}): Transport {
  if (config.kind === 'outbox') return new OutboxTransport(config);
  return new SmtpTransport(config, options);
}

/**
 * SMTP plumbing shared by the pool: the options each SMTPConnection gets, one operation raced
 * against the connection's own 'error'/'end' events, and reading replies.
 */
import SMTPConnection from 'nodemailer/lib/smtp-connection/index.js';
import type { TransportConfig, TransportOptions } from '../types.js';
import { isLoopbackHost } from '../url-common.js';

export const DEFAULT_CONNECTION_TIMEOUT_MS = 30_000;
export const DEFAULT_SOCKET_TIMEOUT_MS = 5 * 60_000;
export const DEFAULT_IDLE_RECONNECT_MS = 30_000;
/** How long close() lets a server answer QUIT before cutting the connection. */
export const QUIT_GRACE_MS = 1_000;

export type SmtpError = SMTPConnection.SMTPError;

/** The options given to each SMTPConnection. Exported for tests. */
export function smtpConnectionOptions(config: TransportConfig, options: TransportOptions = {}): SMTPConnection.Options {
  if (config.kind !== 'smtp' && config.kind !== 'smtps') throw new Error('smtpConnectionOptions: not an SMTP transport');
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

export interface Conn {
  smtp: SMTPConnection;
  dead: boolean;
  lastUsed: number;
  /** resolves when the connection emitted 'end' (fully closed) */
  ended: Promise<void>;
}

export interface Slot {
  conn: Conn | null;
  busy: boolean;
}

export type OpResult<T> =
  | { ok: true; value: T }
  /** `lost`: the connection failed/closed (an 'error'/'end' event, or the connection was already gone) */
  | { ok: false; error: SmtpError; lost: boolean };

/**
 * Runs one SMTPConnection operation and settles exactly once: on its callback (a reply), or on
 * the connection's 'error' or 'end' event (a lost connection; the callback is then never called).
 */
export function runOp<T>(smtp: SMTPConnection, start: (cb: (err?: SmtpError | null, value?: T) => void) => void): Promise<OpResult<T>> {
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
export function replyOf(err: SmtpError): string | null {
  const r = typeof err.response === 'string' ? err.response.trim() : '';
  return /^\d{3}/.test(r) ? r : null;
}

export function replyCode(err: SmtpError): number | null {
  const r = replyOf(err);
  return r ? Number(r.slice(0, 3)) : null;
}

/** An enhanced status code 5.1.1 (bad destination mailbox) on any line of the reply. */
export function isUnknownMailbox(reply: string): boolean {
  return /(^|\n)\s*5\d\d[ -]#?5\.1\.1\b/.test(reply);
}

/**
 * The transport contract: what the engine (and `send-test`) hands a transport, and what it gets
 * back. Every transport — SMTP, outbox, the HTTPS email APIs — speaks exactly this; the engine
 * never sees which one it has.
 */
import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls';

export type SmtpKind = 'smtp' | 'smtps';
export type ApiKind = 'resend' | 'postmark' | 'sendgrid' | 'mailgun' | 'ses';
export type TransportKind = SmtpKind | 'outbox' | ApiKind;

export const API_KINDS: readonly ApiKind[] = ['resend', 'postmark', 'sendgrid', 'mailgun', 'ses'];

/** What an HTTPS email API transport needs from its URL. */
export interface ApiConfig {
  /** API base URL without a trailing slash (the provider's own, or `?endpoint=`) */
  endpoint: string;
  /** The secret: API key, server token, or (SES) the secret access key. Never displayed. */
  key: string;
  /** SES: the access key id (shown, it is an identifier, not a secret) */
  keyId: string | null;
  /** Mailgun: the sending domain */
  domain: string | null;
  /** Mailgun: 'us' | 'eu'; SES: the AWS region, e.g. us-east-1 */
  region: string | null;
  /** Postmark: `?stream=` (the message stream), else null (Postmark's default, "outbound") */
  stream: string | null;
}

export interface TransportConfig {
  kind: TransportKind;
  /** SMTP only ('' otherwise) */
  host: string;
  /** SMTP only (0 otherwise) */
  port: number;
  user: string | null;
  pass: string | null;
  /** `?insecure=1` (SMTP): plaintext allowed to any host, and certificates are not verified. */
  insecure: boolean;
  /** `?pool=N`: at most N connections (SMTP) or requests (APIs) at once */
  pool: number;
  /** outbox only: absolute folder the .eml files go to. */
  dir: string | null;
  /** HTTPS APIs only */
  api: ApiConfig | null;
  /** The URL with every secret replaced by *** — the only form ever shown or stored. */
  display: string;
}

/**
 * The rendered message, for APIs that take JSON fields instead of MIME (Resend, Postmark,
 * SendGrid). `MessageBuilder` produces it as `OutgoingMessage.parts`.
 */
export interface MessageParts {
  /** The From header as the campaign gives it, e.g. `"Aremko Spa" <hola@aremko.cl>` */
  from: string;
  /** The To header's address (the form the recipient was rendered with) */
  to: string;
  replyTo: string | null;
  subject: string;
  text: string;
  html: string;
  /** Our extra headers, values ready to send (no CR/LF): List-Unsubscribe, List-Unsubscribe-Post */
  headers: Record<string, string>;
}

/** One message for one recipient. The engine builds it once per send; keep it one object. */
export interface OutgoingEnvelope {
  /** Envelope sender (MAIL FROM): a bare address; "Name <addr>" is tolerated */
  from: string;
  /** The recipient's address */
  to: string;
  /**
   * RFC 5322 bytes (DKIM-signed when configured): what SMTP, the outbox and raw-MIME APIs send.
   * null for a transport that `takes` parts: composing MIME is most of the CPU a message costs.
   */
  raw: Buffer | null;
  /** Our Message-ID, `<…>` */
  messageId: string;
  /**
   * The rendered parts, for JSON APIs. Optional in the type only until every caller passes it;
   * a JSON API transport given none answers `unavailable` (it cannot send, and nothing failed).
   */
  parts?: MessageParts;
  /**
   * Stable per campaign and recipient (see `idempotencyKeyFor` in message.ts): the same on every
   * attempt, run and host. Sent to providers that deduplicate by key (`idempotencyWindowMs`).
   */
  idempotencyKey?: string;
  /**
   * Epoch ms after which the provider no longer deduplicates `idempotencyKey`: the engine stores
   * `first claim + transport.idempotencyWindowMs` at the first claim and passes it on every
   * attempt. null/absent: no deduplication can be relied on (a lost answer is then `in_doubt`).
   */
  idempotentUntil?: number | null;
  /**
   * Resolves once this send's claim is on disk; rejects if it cannot be written. A transport
   * that `waitsForReady` may start its transaction before (the SMTP envelope) but lets no byte
   * of the message out until it resolves, and if it rejects abandons the send and answers
   * `retry` with `notSent`. To any other transport the engine hands a send only once it resolved.
   */
  ready?: Promise<void>;
}

export type SendOutcome =
  /** The server/API accepted it. `providerId`: the provider's id for the message (APIs only). */
  | { kind: 'sent'; response: string; providerId?: string }
  /**
   * Not accepted, try again later (4xx reply, 5xx from an API, a connection lost before the
   * message went out, an API answer lost while its idempotency key still protects it).
   * - `notSent: true`: nothing reached the provider (connect refused, request never written):
   *   the attempt should be refunded.
   * - `dedupeUntil` (epoch ms): the request MAY have reached the provider; a resend with the same
   *   idempotency key is safe only until then. After it, the recipient must become `in_doubt`.
   */
  | { kind: 'retry'; error: string; notSent?: true; dedupeUntil?: number }
  /** Permanent refusal; `error` keeps the reply; `unknownMailbox`: the address is dead (suppress it) */
  | { kind: 'failed'; error: string; unknownMailbox: boolean }
  /** The message may or may not have been accepted (answer lost, no usable idempotency key) */
  | { kind: 'in_doubt'; error: string }
  /** The service cannot be used at all (down, login/key refused, account disabled): stop, exit 75 */
  | { kind: 'unavailable'; error: string }
  /**
   * A rate limit (429 and the like): not a failed attempt but a campaign-level wait. Send nothing
   * through this transport before `until` (epoch ms, from retry-after / ratelimit-reset).
   */
  | { kind: 'throttled'; until: number; error: string };

export interface Transport {
  readonly config: TransportConfig;
  /** at most this many sends run at once; a send beyond that waits for a free slot */
  readonly pool: number;
  /**
   * How long the provider deduplicates an idempotency key (Resend: 24 h), or null when the
   * transport has no idempotency. The engine stores `first claim + this` as `idempotentUntil`.
   */
  readonly idempotencyWindowMs: number | null;
  /**
   * What it sends: the composed MIME message (`raw`: SMTP, the outbox, Mailgun, SES) or the
   * rendered parts (`parts`: Resend, Postmark, SendGrid). The engine builds only that.
   */
  readonly takes: 'mime' | 'parts';
  /** It honours `OutgoingEnvelope.ready` itself (SMTP: MAIL FROM and RCPT TO go out meanwhile). */
  readonly waitsForReady?: boolean;
  /** Never throws for delivery problems: it classifies. */
  send(message: OutgoingEnvelope): Promise<SendOutcome>;
  /**
   * Checks the transport can be used, to fail fast: null when fine, else the (`unavailable`)
   * outcome. SMTP connects and logs in; the outbox checks its folder; API transports make no
   * request (a key can only be checked by sending) and answer null.
   */
  verify(): Promise<SendOutcome | null>;
  /**
   * Stops now. A send still in flight resolves by its phase (`retry`, or `in_doubt` when its data
   * went out without a usable idempotency key); a send still waiting for a slot resolves `retry`.
   */
  close(): Promise<void>;
}

/** What a transport that `takes` MIME answers when it is given none (a caller's bug, not the recipient's). */
export const NO_MIME: SendOutcome = { kind: 'unavailable', error: 'no MIME message was composed for a transport that sends one (a bug in the caller)' };

export interface TransportOptions {
  /** connect (+ greeting, DNS for SMTP), each; default 30 s */
  connectionTimeoutMs?: number;
  /** SMTP: inactivity while waiting for the server; default 5 min */
  socketTimeoutMs?: number;
  /** SMTP: a pooled connection unused for this long is replaced before use (0: never reuse); default 30 s */
  idleReconnectMs?: number;
  /** merged over the TLS options chosen here (e.g. `{ ca }` for a private CA) */
  tls?: TlsConnectionOptions;
  /** SMTP: the name given in EHLO; default: this machine's FQDN, or [127.0.0.1] */
  hostname?: string;
  /** APIs: how long to wait for the answer once the request is written; default 60 s */
  requestTimeoutMs?: number;
  /** APIs: the waits between re-sends of a lost request under its idempotency key; default [250, 1000, 3000] ms */
  idempotentRetryDelaysMs?: number[];
  /** APIs: the clock (tests); default Date.now */
  now?: () => number;
}

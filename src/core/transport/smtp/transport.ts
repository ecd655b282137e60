/**
 * The SMTP transport (smtp:// and smtps://): a pool of connections, each send classified by the
 * phase it reached.
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
 * - Envelope addresses go in RFC 5321 form (see ../address.ts); an address that needs SMTPUTF8
 *   goes only to a server that offers it, with the extension; to any other server the recipient
 *   is `failed` (the sender: `unavailable`) with the reason, never a mangled address.
 */
import { Readable } from 'node:stream';
import SMTPConnection from 'nodemailer/lib/smtp-connection/index.js';
import { envelopeAddress } from '../address.js';
import { makeScrubber } from '../secrets.js';
import { AROUND, CLOSED_BEFORE_SENT } from '../../stored-errors.js';
import { NO_MIME, type OutgoingEnvelope, type SendOutcome, type Transport, type TransportConfig, type TransportOptions } from '../types.js';
import {
  type Conn,
  DEFAULT_IDLE_RECONNECT_MS,
  isUnknownMailbox,
  QUIT_GRACE_MS,
  replyCode,
  replyOf,
  runOp,
  type Slot,
  smtpConnectionOptions,
} from './connection.js';
import { pipelineEnvelopes } from './pipelining.js';

/** Does the server (per its EHLO) offer SMTPUTF8? nodemailer keeps the list without exposing it. */
function offersSmtpUtf8(smtp: SMTPConnection): boolean {
  const extensions = (smtp as SMTPConnection & { _supportedExtensions?: string[] })._supportedExtensions;
  return Array.isArray(extensions) && extensions.includes('SMTPUTF8');
}

export class SmtpTransport implements Transport {
  readonly pool: number;
  /** SMTP has no idempotency key: a lost reply after the data is `in_doubt`. */
  readonly idempotencyWindowMs = null;
  readonly takes = 'mime';
  readonly waitsForReady = true;
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
    this.scrub = makeScrubber([config.user, config.pass]);
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
    pipelineEnvelopes(smtp);
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
    if (!slot) return { kind: 'retry', error: CLOSED_BEFORE_SENT };
    try {
      return await this.sendOnSlot(slot, message);
    } finally {
      this.release(slot);
    }
  }

  private async sendOnSlot(slot: Slot, message: OutgoingEnvelope): Promise<SendOutcome> {
    let reconnected = false;
    for (;;) {
      if (this.closed) return { kind: 'retry', error: CLOSED_BEFORE_SENT };
      let fresh = false;
      const current = slot.conn;
      if (!current || current.dead || Date.now() - current.lastUsed >= this.idleReconnectMs) {
        this.discard(current);
        slot.conn = null;
        const opened = await this.open();
        if (this.closed) {
          if (!('unavailable' in opened)) this.discard(opened);
          return { kind: 'retry', error: CLOSED_BEFORE_SENT };
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
    const raw = message.raw;
    if (!raw) return { outcome: NO_MIME, stale: false };
    const from = envelopeAddress(message.from);
    if (!from.ok) return { outcome: { kind: 'unavailable', error: `invalid sender: ${from.error}` }, stale: false };
    const to = envelopeAddress(message.to);
    if (!to.ok) return { outcome: { kind: 'failed', error: to.error, unknownMailbox: false }, stale: false };
    if ((from.smtputf8 || to.smtputf8) && !offersSmtpUtf8(conn.smtp)) {
      // Decided before MAIL FROM: nothing of this transaction reached the server.
      const why = 'has a non-ASCII local part, which needs the SMTPUTF8 extension, and the server does not offer it';
      if (from.smtputf8) return { outcome: { kind: 'unavailable', error: `the sender ${from.address} ${why}` }, stale: false };
      return { outcome: { kind: 'failed', error: `the address ${to.address} ${why}`, unknownMailbox: false }, stale: false };
    }
    let dataOut = false;
    // Set when the claim could not be written (message.ready rejected): the send is abandoned
    // with no byte of the message sent, by closing the connection in the middle of DATA.
    let abandoned: Error | null = null;
    const ready = message.ready;
    let asked = false;
    const body = new Readable({
      read() {
        // Called once the server said 354 to DATA: MAIL FROM and RCPT TO went out while the
        // claim was being flushed; the message itself waits for the claim to be on disk.
        if (asked) return;
        asked = true;
        const go = () => {
          this.push(raw);
          this.push(null);
        };
        if (!ready) return go();
        ready.then(go, (err: unknown) => {
          abandoned = err instanceof Error ? err : new Error(String(err));
          conn.dead = true;
          conn.smtp.close();
        });
      },
    });
    body.once('end', () => {
      dataOut = true;
    });
    // nodemailer adds SMTPUTF8 to MAIL FROM itself when an address is not ASCII and the server offers it.
    const envelope: SMTPConnection.Envelope = { from: from.address, to: [to.address], size: raw.length };
    const r = await runOp<SMTPConnection.SentMessageInfo>(conn.smtp, (cb) => conn.smtp.send(envelope, body, (err, info) => cb(err, info)));
    if (abandoned) {
      conn.dead = true;
      return { outcome: { kind: 'retry', notSent: true, error: AROUND.not_sent(this.scrub((abandoned as Error).message)) }, stale: false };
    }
    if (r.ok) {
      const response = this.scrub(r.value.response || '250');
      if (/^2/.test(response)) return { outcome: { kind: 'sent', response }, stale: false };
      return { outcome: { kind: 'in_doubt', error: AROUND.unexpected_reply(response) }, stale: false };
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
          outcome: { kind: 'in_doubt', error: AROUND.lost_after_data(what) },
          stale: false,
        };
      }
      return { outcome: { kind: 'retry', error: AROUND.lost_before_data(what) }, stale: true };
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


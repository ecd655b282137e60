/**
 * What every HTTPS email API transport shares: the pool (`?pool=N` requests at once), one
 * keep-alive agent, secrets scrubbed from every string, and the exactly-once rules:
 *
 * - request never written (refused, DNS, TLS, cut mid-upload) → `retry` with `notSent`;
 * - request written, answer lost (reset, timeout):
 *   - with an idempotency key still inside the provider's window: the same request, same key,
 *     again at once (a few times, short waits) — the provider deduplicates, so the recipient
 *     ends `sent` or `failed`; still unresolved → `retry` with `dedupeUntil`;
 *   - without a key, or past its window → `in_doubt`.
 *
 * A provider module says how to build its request and how to read its answer; nothing else.
 */
import http from 'node:http';
import https from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import { envelopeAddress } from '../address.js';
import { makeScrubber } from '../secrets.js';
import { API, CLOSED_BEFORE_SENT, SAFE_UNTIL } from '../../stored-errors.js';
import type { ApiConfig, OutgoingEnvelope, SendOutcome, Transport, TransportConfig, TransportOptions } from '../types.js';
import { type Answer, toAnswer } from './answer.js';
import { type HttpRequest, httpRequest } from './request.js';

const DEFAULT_CONNECT_TIMEOUT_MS = 30_000;
const DEFAULT_RESPONSE_TIMEOUT_MS = 60_000;
const DEFAULT_RETRY_DELAYS_MS = [250, 1000, 3000];
/** A key is relied on only this long before its window ends: clocks differ, requests take time. */
export const IDEMPOTENCY_SAFETY_MARGIN_MS = 5 * 60_000;
/** Idle keep-alive sockets are dropped after this (or the server's Keep-Alive hint, less 1 s). */
const KEEPALIVE_IDLE_MS = 4_000;

/** How a provider reads an answer: an outcome, or `again` — repeat with the same key (the original is still in progress). */
export type Interpretation = SendOutcome | { kind: 'again'; error: string };

export interface Addresses {
  /** the sender, RFC 5321 form (IDN domain as punycode) */
  from: string;
  /** the recipient, RFC 5321 form */
  to: string;
}

export abstract class ApiTransport implements Transport {
  readonly pool: number;
  readonly idempotencyWindowMs: number | null = null;
  /** JSON APIs take the parts; the raw-MIME ones (Mailgun, SES) say so. */
  readonly takes: 'mime' | 'parts' = 'parts';
  protected readonly api: ApiConfig;
  protected readonly scrub: (s: string) => string;
  protected readonly now: () => number;
  /** The provider's name, for messages. */
  protected abstract readonly provider: string;
  /** Does the provider take an address whose local part is not ASCII (EAI)? */
  protected readonly acceptsUtf8LocalPart: boolean = false;

  private readonly agent: http.Agent;
  private readonly connectTimeoutMs: number;
  private readonly responseTimeoutMs: number;
  private readonly retryDelaysMs: number[];
  private readonly abort = new AbortController();
  private active = 0;
  private readonly waiters: Array<(ok: boolean) => void> = [];
  private closed = false;
  /** the sender is the same for a whole campaign: parsed once */
  private lastFrom: { input: string; result: ReturnType<typeof envelopeAddress> } | null = null;

  constructor(
    readonly config: TransportConfig,
    options: TransportOptions,
  ) {
    if (!config.api) throw new Error(`${config.kind}: not an API transport`);
    this.api = config.api;
    this.pool = config.pool;
    this.now = options.now ?? Date.now;
    this.connectTimeoutMs = options.connectionTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    this.responseTimeoutMs = options.requestTimeoutMs ?? DEFAULT_RESPONSE_TIMEOUT_MS;
    this.retryDelaysMs = options.idempotentRetryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS;
    const agentOptions = { keepAlive: true, maxSockets: config.pool, timeout: KEEPALIVE_IDLE_MS };
    this.agent = this.api.endpoint.startsWith('https:') ? new https.Agent({ ...agentOptions, ...options.tls }) : new http.Agent(agentOptions);
    this.scrub = makeScrubber([this.api.keyId, this.api.key], ['api', this.api.key]);
  }

  /** The request for one message, or an outcome when it cannot be made (e.g. no parts given). */
  protected abstract build(message: OutgoingEnvelope, addresses: Addresses): HttpRequest | SendOutcome | Promise<HttpRequest | SendOutcome>;
  /** What the provider's answer means. Strings in the result are scrubbed afterwards. */
  protected abstract interpret(answer: Answer, message: OutgoingEnvelope, addresses: Addresses): Interpretation;

  async verify(): Promise<SendOutcome | null> {
    return this.closed ? { kind: 'unavailable', error: 'transport closed' } : null;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const w of this.waiters.splice(0)) w(false);
    this.abort.abort();
    this.agent.destroy();
  }

  private acquire(): Promise<boolean> {
    if (this.closed) return Promise.resolve(false);
    if (this.active < this.pool) {
      this.active++;
      return Promise.resolve(true);
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private release(): void {
    const next = this.closed ? undefined : this.waiters.shift();
    if (next) next(true);
    else this.active--;
  }

  async send(message: OutgoingEnvelope): Promise<SendOutcome> {
    if (!(await this.acquire())) return { kind: 'retry', error: CLOSED_BEFORE_SENT, notSent: true };
    try {
      return this.clean(await this.sendOnce(message));
    } catch (err) {
      // A bug here must never be read as "not sent".
      return { kind: 'in_doubt', error: this.scrub(`${this.provider} transport error: ${(err as Error).message}`) };
    } finally {
      this.release();
    }
  }

  private clean(outcome: SendOutcome): SendOutcome {
    const error = 'error' in outcome ? this.scrub(outcome.error) : undefined;
    if (outcome.kind === 'sent') return { ...outcome, response: this.scrub(outcome.response) };
    return { ...outcome, error: error! } as SendOutcome;
  }

  /** The epoch ms until which a resend under this message's key is deduplicated, or null. */
  private dedupeUntil(message: OutgoingEnvelope): number | null {
    if (this.idempotencyWindowMs === null || !message.idempotencyKey) return null;
    if (typeof message.idempotentUntil !== 'number') return null;
    return message.idempotentUntil - IDEMPOTENCY_SAFETY_MARGIN_MS;
  }

  private keyHolds(message: OutgoingEnvelope): boolean {
    const until = this.dedupeUntil(message);
    return until !== null && this.now() < until;
  }

  private async sendOnce(message: OutgoingEnvelope): Promise<SendOutcome> {
    if (this.lastFrom?.input !== message.from) this.lastFrom = { input: message.from, result: envelopeAddress(message.from) };
    const from = this.lastFrom.result;
    if (!from.ok) return { kind: 'unavailable', error: `invalid sender: ${from.error}` };
    const to = envelopeAddress(message.to);
    if (!to.ok) return { kind: 'failed', error: to.error, unknownMailbox: false };
    if (!this.acceptsUtf8LocalPart && (from.smtputf8 || to.smtputf8)) {
      const why = `has a non-ASCII local part, which ${this.provider} does not accept`;
      if (from.smtputf8) return { kind: 'unavailable', error: `the sender ${from.address} ${why}` };
      return { kind: 'failed', error: `the address ${to.address} ${why}`, unknownMailbox: false };
    }
    const addresses = { from: from.address, to: to.address };
    const request = await this.build(message, addresses);
    if (!('url' in request)) return request;

    const where = `${this.provider} (${this.api.endpoint})`;
    /** why the last request's answer was lost, once one was */
    let lost: string | null = null;
    let lastError = '';
    for (let attempt = 0; ; attempt++) {
      const result = await httpRequest(request, {
        agent: this.agent,
        connectTimeoutMs: this.connectTimeoutMs,
        responseTimeoutMs: this.responseTimeoutMs,
        signal: this.abort.signal,
      });
      if (result.phase === 'not-written') {
        const error = API.unreachable(where, result.error);
        if (lost === null) return { kind: 'retry', error, notSent: true };
        lastError = error;
      } else if (result.phase === 'lost') {
        lost = result.error;
        lastError = API.answer_lost(result.error);
      } else if (result.status >= 500 && this.keyHolds(message)) {
        // A 5xx from a gateway may come after the provider accepted the request (a timeout behind
        // it): with a key, resending is free and settles it.
        lost = `${result.status} from ${this.provider}`;
        lastError = `${this.provider} answered ${result.status}`;
      } else {
        const meaning = this.interpret(toAnswer(result.status, result.headers, result.body), message, addresses);
        if (meaning.kind === 'again') lastError = meaning.error;
        else if (lost === null || meaning.kind === 'sent' || meaning.kind === 'failed' || meaning.kind === 'in_doubt') return meaning;
        // retry / throttled / unavailable after a lost answer: that earlier request may still
        // have been accepted, so this is not the simple case it would be on its own.
        else lastError = 'error' in meaning ? meaning.error : '';
      }

      const until = this.dedupeUntil(message);
      if (until === null || !this.keyHolds(message)) {
        if (lost !== null) {
          return { kind: 'in_doubt', error: (until === null ? API.lost_unkeyed : API.lost_window_passed)(where, lost) };
        }
        return { kind: 'retry', error: lastError };
      }
      if (attempt >= this.retryDelaysMs.length || this.closed) {
        return { kind: 'retry', error: `${lastError} ${SAFE_UNTIL(new Date(until).toISOString())}`, dedupeUntil: until };
      }
      await sleep(this.retryDelaysMs[attempt], undefined, { signal: this.abort.signal }).catch(() => undefined);
    }
  }
}

/**
 * The shared skeleton of the fake email APIs in this folder: a real HTTP server on 127.0.0.1 that
 * reads each request whole, asks the provider module what it means, and then answers — or
 * misbehaves the way networks do:
 *
 * - 'reset-after-body': the provider ACCEPTS the message (it is delivered), then the connection
 *   is cut before any answer — the lost-answer case exactly-once is about;
 * - 'slow': accepted, answered only after `slowMs` (longer than the client's timeout);
 * - 'rate-limit', 'server-error', 'invalid-recipient', 'inactive-recipient': the provider's own
 *   documented answer for each, built by the provider module.
 *
 * `deliveries` is what the provider accepted (what recipients would get): the count the
 * exactly-once tests assert on. Nothing here depends on timing except 'slow'.
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { EventEmitter } from 'node:events';

export type ProviderBehaviour =
  | 'accept'
  | 'rate-limit'
  | 'server-error'
  | 'invalid-recipient'
  | 'inactive-recipient'
  | 'reset-after-body'
  | 'slow';

export interface BehaviourContext {
  /** the recipient the request is for */
  to: string;
  /** requests seen for this recipient, 1 for the first */
  attempt: number;
}

export interface FakeApiOptions {
  behaviour?: (ctx: BehaviourContext) => ProviderBehaviour;
  /** 'slow' answers after this long; default 2 s */
  slowMs?: number;
}

export interface ProviderRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface Delivery {
  to: string;
  /** the provider's id for it */
  providerId: string;
  /** the Message-ID it carries (header or field), '' if none */
  messageId: string;
  /** what the provider module made of the request (JSON fields, or the MIME bytes) */
  message: Record<string, unknown>;
  request: ProviderRequest;
}

export interface Reply {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
}

/** What a provider module decides for one request. */
export type Decision =
  /** answer this now, nothing delivered */
  | { reply: Reply }
  /** accept: record a delivery and answer `reply` (subject to the behaviour's network faults) */
  | { deliver: Omit<Delivery, 'request'>; reply: Reply; onAnswered?: () => void };

export interface FakeApi {
  port: number;
  /** http://127.0.0.1:port — pass as ?endpoint= */
  endpoint: string;
  /** every request read in full, in order */
  requests: ProviderRequest[];
  /** every message the provider accepted, in order */
  deliveries: Delivery[];
  /** the most requests this server was working on at once */
  readonly maxInFlight: number;
  /** deliveries to this recipient (case-insensitive) */
  countFor(to: string): number;
  /** requests seen for this recipient */
  attemptsFor(to: string): number;
  /** resolves once `requests` holds n requests */
  whenRequests(n: number): Promise<void>;
  close(): Promise<void>;
}

export interface ProviderModule {
  /** the recipient of a request (for behaviours), or '' when the request cannot be read */
  recipientOf(request: ProviderRequest): Promise<string> | string;
  /** the provider's answer to `behaviour` when it is one of its documented refusals, or null */
  refusal(behaviour: ProviderBehaviour, request: ProviderRequest): Reply | null;
  /** authentication, validation, idempotency, acceptance */
  decide(request: ProviderRequest): Promise<Decision> | Decision;
}

function send(res: ServerResponse, reply: Reply): void {
  const body = reply.body === undefined ? '' : typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body);
  const headers: Record<string, string> = { ...(reply.headers ?? {}) };
  if (body && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) headers['content-type'] = 'application/json';
  res.writeHead(reply.status, headers);
  res.end(body);
}

export async function startFakeApi(provider: ProviderModule, options: FakeApiOptions = {}): Promise<FakeApi> {
  const behaviour = options.behaviour ?? (() => 'accept' as const);
  const slowMs = options.slowMs ?? 2000;
  const requests: ProviderRequest[] = [];
  const deliveries: Delivery[] = [];
  const attempts = new Map<string, number>();
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const load = { inFlight: 0, max: 0 };
  const events = new EventEmitter();

  const handle = async (req: IncomingMessage, res: ServerResponse, body: Buffer) => {
    const request: ProviderRequest = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body };
    requests.push(request);
    events.emit('request');
    const to = (await provider.recipientOf(request)).toLowerCase();
    const attempt = (attempts.get(to) ?? 0) + 1;
    attempts.set(to, attempt);
    const b = to ? behaviour({ to, attempt }) : 'accept';
    const refusal = provider.refusal(b, request);
    if (refusal) return send(res, refusal);
    const decision = await provider.decide(request);
    const answered = 'deliver' in decision ? decision.onAnswered : undefined;
    if ('deliver' in decision) deliveries.push({ ...decision.deliver, request });
    if (b === 'reset-after-body') {
      // the provider finished its work; only the answer is lost on the way
      answered?.();
      return req.socket.destroy();
    }
    if (b === 'slow') {
      const t = setTimeout(() => {
        timers.delete(t);
        answered?.();
        if (!res.destroyed) send(res, decision.reply);
      }, slowMs);
      timers.add(t);
      return;
    }
    answered?.();
    send(res, decision.reply);
  };

  const server = createServer((req, res) => {
    load.inFlight++;
    load.max = Math.max(load.max, load.inFlight);
    let counted = true;
    const done = () => {
      if (counted) load.inFlight--;
      counted = false;
    };
    res.on('close', done);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('error', () => undefined);
    req.on('end', () => {
      handle(req, res, Buffer.concat(chunks)).catch((err) => {
        if (!res.headersSent) send(res, { status: 599, body: { fake: `fake provider crashed: ${(err as Error).message}` } });
      });
    });
  });
  server.keepAliveTimeout = 5000;
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;

  return {
    port,
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    deliveries,
    get maxInFlight() {
      return load.max;
    },
    countFor: (to) => deliveries.filter((d) => d.to.toLowerCase() === to.toLowerCase()).length,
    attemptsFor: (to) => attempts.get(to.toLowerCase()) ?? 0,
    whenRequests: (n) =>
      new Promise<void>((resolve) => {
        const check = () => {
          if (requests.length < n) return;
          events.off('request', check);
          resolve();
        };
        events.on('request', check);
        check();
      }),
    close: () =>
      new Promise<void>((resolve) => {
        for (const t of timers) clearTimeout(t);
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

let counter = 0;
/** A fresh provider-style id. */
export function newId(prefix = ''): string {
  counter++;
  return `${prefix}${process.pid.toString(16)}-${Date.now().toString(16)}-${counter.toString(16).padStart(6, '0')}`;
}

/** The Message-ID header of MIME bytes ('' if none). */
export function mimeMessageId(raw: Buffer): string {
  const text = raw.toString('latin1');
  const end = text.search(/\r?\n\r?\n/);
  const head = (end < 0 ? text : text.slice(0, end)).replace(/\r?\n[ \t]+/g, ' ');
  return /^message-id:[ \t]*(.*)$/im.exec(head)?.[1]?.trim() ?? '';
}

/** A simple syntactic check, as providers do before accepting: one @, something on each side, a dot in the domain. */
export function looksLikeAddress(value: string): boolean {
  return /^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(value) || /^"[^"]+"@[^@\s]+\.[^@\s]+$/.test(value);
}

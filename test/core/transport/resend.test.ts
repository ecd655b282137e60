/** The Resend transport against a local fake that behaves as Resend's documentation says. */
import { createServer } from 'node:http';
import { describe, expect, it } from 'vitest';
import { createTransport, parseTransportUrl, type Transport, type TransportOptions } from '../../../src/core/transport/index.js';
import { type FakeApiOptions } from '../../helpers/providers/fake-api.js';
import { type FakeResend, startFakeResend } from '../../helpers/providers/resend.js';
import { apiMessage, closedPort, text, useCleanups, withKey } from './fixtures.js';

const cleanup = useCleanups();
const KEY = 're_live_SECRET_0123456789';
/** short waits so the tests run fast; the logic is the same */
const FAST: TransportOptions = { idempotentRetryDelaysMs: [20, 50, 100], requestTimeoutMs: 300 };

async function fake(options: FakeApiOptions & { apiKey?: string; retryAfterSeconds?: number } = {}): Promise<FakeResend> {
  const f = await startFakeResend({ apiKey: KEY, ...options });
  cleanup(() => f.close());
  return f;
}

function resend(endpoint: string, options: TransportOptions = FAST, key = KEY, query = ''): Transport {
  const t = createTransport(parseTransportUrl(`resend://${key}?endpoint=${endpoint}${query}`), options);
  cleanup(() => t.close());
  return t;
}

describe('Resend transport', () => {
  it('sends the documented request and keeps the id Resend gives', async () => {
    const api = await fake();
    const t = resend(api.endpoint);
    expect(t.idempotencyWindowMs).toBe(24 * 3600_000);
    const m = apiMessage('ana@example.test', withKey('aremko/1/41'));
    const outcome = await t.send(m);
    expect(outcome).toEqual({ kind: 'sent', response: expect.stringMatching(/^200 accepted by Resend, id re-/), providerId: api.deliveries[0]!.providerId });
    expect(api.deliveries).toHaveLength(1);
    const req = api.requests[0]!;
    expect(req.method).toBe('POST');
    expect(req.path).toBe('/emails');
    expect(req.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(req.headers['idempotency-key']).toBe('aremko/1/41');
    expect(req.headers['content-type']).toBe('application/json');
    expect(JSON.parse(req.body.toString())).toEqual({
      from: 'Aremko Spa <news@example.test>',
      to: ['ana@example.test'],
      subject: 'Una tarde de tinajas, Ana',
      html: '<p>Hola Ana.</p>',
      text: 'Hola Ana.',
      reply_to: ['reservas@example.test'],
      headers: { 'List-Unsubscribe': '<https://example.test/baja?e=ana>', 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click', 'Message-ID': m.messageId },
    });
  });

  it('429: throttled until the time retry-after says, not a failed attempt', async () => {
    const api = await fake({ behaviour: () => 'rate-limit', retryAfterSeconds: 7 });
    const now = Date.UTC(2026, 0, 1, 12, 0, 0);
    const outcome = await resend(api.endpoint, { ...FAST, now: () => now }).send(apiMessage('ana@example.test'));
    expect(outcome).toEqual({ kind: 'throttled', until: now + 7000, error: expect.stringMatching(/^rate limited by Resend: 429 rate_limit_exceeded/) });
    expect(api.deliveries).toHaveLength(0);
  });

  it('500 without a key: retry (one request); with a key: re-asked under the key, then retry with dedupeUntil', async () => {
    const api = await fake({ behaviour: () => 'server-error' });
    const t = resend(api.endpoint);
    expect(await t.send(apiMessage('ana@example.test'))).toEqual({ kind: 'retry', error: expect.stringMatching(/^Resend: 500 application_error/) });
    expect(api.attemptsFor('ana@example.test')).toBe(1);
    const now = Date.now();
    const outcome = await t.send(apiMessage('bob@example.test', withKey('k-bob', now)));
    expect(outcome).toMatchObject({ kind: 'retry', dedupeUntil: now + 24 * 3600_000 - 5 * 60_000 });
    expect(api.attemptsFor('bob@example.test')).toBe(4);
    expect(api.deliveries).toHaveLength(0);
  });

  it('a bad or missing key: unavailable, and the key appears nowhere', async () => {
    const api = await fake();
    const wrong = await resend(api.endpoint, FAST, 're_live_WRONG_SECRET').send(apiMessage('ana@example.test'));
    expect(wrong).toEqual({ kind: 'unavailable', error: expect.stringMatching(/403 invalid_api_key/) });
    expect(text(wrong)).not.toContain('WRONG_SECRET');
    expect(api.deliveries).toHaveLength(0);
  });

  it('scrubs the key even from an answer that echoes it', async () => {
    const echo = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(403, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ statusCode: 403, name: 'invalid_api_key', message: `bad key ${req.headers.authorization}` }));
      });
    });
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
    cleanup(() => new Promise<void>((r) => echo.close(() => r())));
    const outcome = await resend(`http://127.0.0.1:${(echo.address() as { port: number }).port}`).send(apiMessage('ana@example.test'));
    expect(outcome.kind).toBe('unavailable');
    expect(text(outcome)).not.toContain('SECRET');
    expect(text(outcome)).toContain('Bearer ***');
  });

  it('an invalid recipient: failed (the address is not dead: no suppression)', async () => {
    const api = await fake({ behaviour: () => 'invalid-recipient' });
    expect(await resend(api.endpoint).send(apiMessage('ana@example.test'))).toEqual({
      kind: 'failed',
      error: expect.stringMatching(/^Resend: 422 validation_error: Invalid `to` field/),
      unknownMailbox: false,
    });
  });

  it('connection refused: retry with notSent (nothing reached Resend)', async () => {
    const port = await closedPort();
    const outcome = await resend(`http://127.0.0.1:${port}`).send(apiMessage('ana@example.test', withKey('k')));
    expect(outcome).toEqual({ kind: 'retry', error: expect.stringMatching(/cannot reach Resend .*ECONNREFUSED/), notSent: true });
  });

  it('no parts given (an engine that passes only MIME): unavailable, nothing sent', async () => {
    const api = await fake();
    const { parts: _, ...bare } = apiMessage('ana@example.test');
    expect(await resend(api.endpoint).send(bare)).toMatchObject({ kind: 'unavailable' });
    expect(api.requests).toHaveLength(0);
  });
});

describe('Resend: exactly once', () => {
  it('answer lost after Resend accepted (reset): resent at once under the same key; Resend answers the original; one delivery, sent', async () => {
    const api = await fake({ behaviour: ({ attempt }) => (attempt === 1 ? 'reset-after-body' : 'accept') });
    const outcome = await resend(api.endpoint).send(apiMessage('ana@example.test', withKey('aremko/1/7')));
    expect(outcome).toEqual({ kind: 'sent', response: expect.any(String), providerId: api.deliveries[0]!.providerId });
    expect(api.deliveries).toHaveLength(1);
    expect(api.requests).toHaveLength(2);
    expect(api.replayed).toBe(1);
  });

  it('answer slower than the timeout: the resend meets "still in progress" (409), waits, then gets the original: one delivery', async () => {
    const api = await fake({ behaviour: ({ attempt }) => (attempt === 1 ? 'slow' : 'accept'), slowMs: 250 });
    const outcome = await resend(api.endpoint, { idempotentRetryDelaysMs: [50, 150, 400], requestTimeoutMs: 100 }).send(apiMessage('ana@example.test', withKey('aremko/1/8')));
    expect(outcome).toMatchObject({ kind: 'sent', providerId: api.deliveries[0]!.providerId });
    expect(api.deliveries).toHaveLength(1);
    expect(api.requests.length).toBeGreaterThanOrEqual(2);
  });

  it('a key repeated by a later run (a new send) gets the original answer and sends nothing twice', async () => {
    const api = await fake();
    const t = resend(api.endpoint);
    const m = apiMessage('ana@example.test', withKey('aremko/1/9'));
    const first = await t.send(m);
    const again = await resend(api.endpoint).send(m);
    expect(again).toEqual(first);
    expect(api.deliveries).toHaveLength(1);
    expect(api.replayed).toBe(1);
  });

  it('answer lost and no key: in_doubt at once (no second request)', async () => {
    const api = await fake({ behaviour: () => 'reset-after-body' });
    const outcome = await resend(api.endpoint).send(apiMessage('ana@example.test'));
    expect(outcome).toEqual({ kind: 'in_doubt', error: expect.stringMatching(/answer was lost.*no idempotency key/) });
    expect(api.requests).toHaveLength(1);
    expect(api.deliveries).toHaveLength(1);
  });

  it("answer lost with a key past Resend's window: in_doubt, no resend", async () => {
    const api = await fake({ behaviour: () => 'reset-after-body' });
    const now = Date.now();
    const outcome = await resend(api.endpoint).send(apiMessage('ana@example.test', { idempotencyKey: 'old', idempotentUntil: now + 60_000 }));
    expect(outcome).toEqual({ kind: 'in_doubt', error: expect.stringMatching(/idempotency window has passed/) });
    expect(api.requests).toHaveLength(1);
  });

  it('answers lost every time: a few resends under the key, then retry with dedupeUntil; still one delivery', async () => {
    const api = await fake({ behaviour: () => 'reset-after-body' });
    const now = Date.now();
    const outcome = await resend(api.endpoint).send(apiMessage('ana@example.test', withKey('aremko/1/10', now)));
    expect(outcome).toMatchObject({ kind: 'retry', dedupeUntil: now + 24 * 3600_000 - 5 * 60_000 });
    expect(outcome).not.toHaveProperty('notSent');
    expect(api.requests).toHaveLength(4);
    expect(api.deliveries).toHaveLength(1);
  });

  it('pool=3: 12 sends, never more than 3 requests at Resend at once, each delivered once', async () => {
    const api = await fake({ behaviour: () => 'slow', slowMs: 30 });
    const t = resend(api.endpoint, { ...FAST, requestTimeoutMs: 2000 }, KEY, '&pool=3');
    const outcomes = await Promise.all(Array.from({ length: 12 }, (_, i) => t.send(apiMessage(`r${i}@example.test`, withKey(`k${i}`)))));
    expect(outcomes.every((o) => o.kind === 'sent')).toBe(true);
    expect(api.deliveries).toHaveLength(12);
    expect(api.maxInFlight).toBeLessThanOrEqual(3);
    expect(api.maxInFlight).toBeGreaterThan(1);
  });

  it('close(): a send waiting for a slot resolves retry/notSent; nothing more reaches Resend', async () => {
    const api = await fake({ behaviour: () => 'slow', slowMs: 200 });
    const t = createTransport(parseTransportUrl(`resend://${KEY}?endpoint=${api.endpoint}`), { ...FAST, requestTimeoutMs: 5000 });
    const first = t.send(apiMessage('a@example.test'));
    const second = t.send(apiMessage('b@example.test'));
    await api.whenRequests(1);
    await t.close();
    expect(await second).toMatchObject({ kind: 'retry', notSent: true });
    expect(await first).toMatchObject({ kind: 'in_doubt' });
    expect(api.attemptsFor('b@example.test')).toBe(0);
  });
});

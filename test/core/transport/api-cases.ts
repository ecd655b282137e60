/**
 * The cases every HTTPS API transport must pass against its fake provider (each provider's test
 * file calls this, then adds the checks of its own request shape). For providers without
 * idempotency keys: a lost answer is in_doubt at once, even when the engine passes a key.
 */
import { describe, expect, it } from 'vitest';
import { createTransport, type OutgoingEnvelope, parseTransportUrl, type SendOutcome, type Transport, type TransportOptions } from '../../../src/core/transport/index.js';
import type { FakeApi, FakeApiOptions } from '../../helpers/providers/fake-api.js';
import { apiMessage, closedPort, text, useCleanups, withKey } from './fixtures.js';

export interface ApiCase {
  name: string;
  /** the secret that must never appear in an outcome */
  secret: string;
  start(options: FakeApiOptions): Promise<FakeApi>;
  /** the transport URL for an endpoint, with a good key (or a bad one) and extra query */
  url(endpoint: string, opts?: { badKey?: boolean; query?: string }): string;
  /** the epoch ms a 429 from the fake should wait until, given the time of the request */
  throttledUntil(now: number): number | 'any';
  errorPatterns: { rateLimit: RegExp; serverError: RegExp; badKey: RegExp; invalidRecipient: RegExp };
  /** is there a documented "this address is dead" answer (inactive-recipient)? */
  inactive?: RegExp;
}

const FAST: TransportOptions = { idempotentRetryDelaysMs: [20, 50, 100], requestTimeoutMs: 300 };

export function describeApiTransport(c: ApiCase): void {
  const cleanup = useCleanups();
  const start = async (options: FakeApiOptions = {}) => {
    const f = await c.start(options);
    cleanup(() => f.close());
    return f;
  };
  const transport = (url: string, options: TransportOptions = FAST): Transport => {
    const t = createTransport(parseTransportUrl(url), options);
    cleanup(() => t.close());
    return t;
  };
  const noSecret = (o: SendOutcome | null) => expect(text(o)).not.toContain(c.secret);

  describe(`${c.name} transport: the common cases`, () => {
    it('has no idempotency window', async () => {
      const api = await start();
      expect(transport(c.url(api.endpoint)).idempotencyWindowMs).toBeNull();
    });

    it('sent: one delivery, the provider id kept', async () => {
      const api = await start();
      const outcome = await transport(c.url(api.endpoint)).send(apiMessage('ana@example.test'));
      expect(outcome).toEqual({ kind: 'sent', response: expect.any(String), providerId: api.deliveries[0]!.providerId });
      expect(api.countFor('ana@example.test')).toBe(1);
      noSecret(outcome);
    });

    it('429: throttled until the provider says, nothing delivered', async () => {
      const api = await start({ behaviour: () => 'rate-limit' });
      const now = Date.now();
      const outcome = await transport(c.url(api.endpoint), { ...FAST, now: () => now }).send(apiMessage('ana@example.test'));
      expect(outcome).toMatchObject({ kind: 'throttled', error: expect.stringMatching(c.errorPatterns.rateLimit) });
      const until = c.throttledUntil(now);
      if (until !== 'any') expect((outcome as { until: number }).until).toBe(until);
      else expect((outcome as { until: number }).until).toBeGreaterThan(now);
      expect(api.deliveries).toHaveLength(0);
    });

    it('500: retry (counted as an attempt), one request', async () => {
      const api = await start({ behaviour: () => 'server-error' });
      const outcome = await transport(c.url(api.endpoint)).send(apiMessage('ana@example.test'));
      expect(outcome).toEqual({ kind: 'retry', error: expect.stringMatching(c.errorPatterns.serverError) });
      expect(api.requests).toHaveLength(1);
    });

    it('a bad key: unavailable, and the key is nowhere in it', async () => {
      const api = await start();
      const outcome = await transport(c.url(api.endpoint, { badKey: true })).send(apiMessage('ana@example.test'));
      expect(outcome).toEqual({ kind: 'unavailable', error: expect.stringMatching(c.errorPatterns.badKey) });
      noSecret(outcome);
      expect(api.deliveries).toHaveLength(0);
    });

    it('an invalid recipient: failed, not suppressed', async () => {
      const api = await start({ behaviour: () => 'invalid-recipient' });
      const outcome = await transport(c.url(api.endpoint)).send(apiMessage('ana@example.test'));
      expect(outcome).toEqual({ kind: 'failed', error: expect.stringMatching(c.errorPatterns.invalidRecipient), unknownMailbox: false });
    });

    if (c.inactive) {
      it('an inactive (dead) recipient: failed and marked unknownMailbox, so it is suppressed', async () => {
        const api = await start({ behaviour: () => 'inactive-recipient' });
        const outcome = await transport(c.url(api.endpoint)).send(apiMessage('ana@example.test'));
        expect(outcome).toEqual({ kind: 'failed', error: expect.stringMatching(c.inactive!), unknownMailbox: true });
      });
    }

    it('the answer lost after the provider accepted (reset): in_doubt at once — no key to resend under — and one delivery', async () => {
      const api = await start({ behaviour: () => 'reset-after-body' });
      const m: OutgoingEnvelope = apiMessage('ana@example.test', withKey('k-ana'));
      const outcome = await transport(c.url(api.endpoint)).send(m);
      expect(outcome).toEqual({ kind: 'in_doubt', error: expect.stringMatching(/answer was lost.*no idempotency key/) });
      expect(api.requests).toHaveLength(1);
      expect(api.deliveries).toHaveLength(1);
    });

    it('an answer slower than the timeout: in_doubt, one request', async () => {
      const api = await start({ behaviour: () => 'slow', slowMs: 600 });
      const outcome = await transport(c.url(api.endpoint), { ...FAST, requestTimeoutMs: 100 }).send(apiMessage('ana@example.test'));
      expect(outcome).toEqual({ kind: 'in_doubt', error: expect.stringMatching(/no answer after 100 ms/) });
      expect(api.requests).toHaveLength(1);
    });

    it('connection refused: retry with notSent', async () => {
      const port = await closedPort();
      const outcome = await transport(c.url(`http://127.0.0.1:${port}`)).send(apiMessage('ana@example.test'));
      expect(outcome).toMatchObject({ kind: 'retry', notSent: true });
      noSecret(outcome);
    });

    it('pool=2: 8 sends, at most 2 requests at once, each delivered once', async () => {
      const api = await start({ behaviour: () => 'slow', slowMs: 30 });
      const t = transport(c.url(api.endpoint, { query: 'pool=2' }), { ...FAST, requestTimeoutMs: 3000 });
      expect(t.pool).toBe(2);
      const outcomes = await Promise.all(Array.from({ length: 8 }, (_, i) => t.send(apiMessage(`r${i}@example.test`))));
      expect(outcomes.map((o) => o.kind)).toEqual(Array(8).fill('sent'));
      expect(api.deliveries).toHaveLength(8);
      expect(api.maxInFlight).toBe(2);
    });
  });
}

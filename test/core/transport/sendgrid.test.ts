/** The SendGrid transport against a local fake that behaves as SendGrid's v3 OpenAPI says. */
import { describe, expect, it } from 'vitest';
import { createTransport, parseTransportUrl } from '../../../src/core/transport/index.js';
import { startFakeSendgrid } from '../../helpers/providers/sendgrid.js';
import { describeApiTransport } from './api-cases.js';
import { apiMessage, useCleanups } from './fixtures.js';

const KEY = 'SG.SECRET-abc.def_123';

describeApiTransport({
  name: 'SendGrid',
  secret: 'SECRET',
  start: (options) => startFakeSendgrid({ apiKey: KEY, resetInSeconds: 3, ...options }),
  url: (endpoint, o = {}) => `sendgrid://${o.badKey ? 'SG.bad.SECRET' : KEY}?endpoint=${endpoint}${o.query ? `&${o.query}` : ''}`,
  // X-RateLimit-Reset is whole epoch seconds
  throttledUntil: () => 'any',
  errorPatterns: {
    rateLimit: /^rate limited by SendGrid: 429: too many requests/,
    serverError: /^SendGrid: 500: internal server error/,
    badKey: /^SendGrid refused the request .*401: authorization required/,
    invalidRecipient: /^SendGrid: 400: personalizations\.0\.to\.0\.email: Does not contain a valid address/,
  },
});

describe('SendGrid request', () => {
  const cleanup = useCleanups();
  it('sends personalizations, from/reply_to objects, text before html, our headers; keeps X-Message-Id', async () => {
    const api = await startFakeSendgrid({ apiKey: KEY });
    cleanup(() => api.close());
    const t = createTransport(parseTransportUrl(`sendgrid://${KEY}?endpoint=${api.endpoint}`));
    cleanup(() => t.close());
    const m = apiMessage('ana@example.test');
    const outcome = await t.send(m);
    expect(outcome).toMatchObject({ kind: 'sent', providerId: api.deliveries[0]!.providerId, response: expect.stringMatching(/^202 accepted by SendGrid, X-Message-Id sg-/) });
    const req = api.requests[0]!;
    expect(req.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(JSON.parse(req.body.toString())).toEqual({
      personalizations: [{ to: [{ email: 'ana@example.test' }] }],
      from: { email: 'news@example.test', name: 'Aremko Spa' },
      reply_to: { email: 'reservas@example.test' },
      subject: 'Una tarde de tinajas, Ana',
      content: [
        { type: 'text/plain', value: 'Hola Ana.' },
        { type: 'text/html', value: '<p>Hola Ana.</p>' },
      ],
      headers: { 'List-Unsubscribe': '<https://example.test/baja?e=ana>', 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click', 'Message-ID': m.messageId },
    });
  });

  it('429: waits until X-RateLimit-Reset (epoch seconds)', async () => {
    const api = await startFakeSendgrid({ apiKey: KEY, resetInSeconds: 30, behaviour: () => 'rate-limit' });
    cleanup(() => api.close());
    const t = createTransport(parseTransportUrl(`sendgrid://${KEY}?endpoint=${api.endpoint}`));
    cleanup(() => t.close());
    const before = Date.now();
    const outcome = await t.send(apiMessage('ana@example.test'));
    expect(outcome.kind).toBe('throttled');
    const until = (outcome as { until: number }).until;
    expect(until % 1000).toBe(0);
    expect(until).toBeGreaterThan(before + 28_000);
    expect(until).toBeLessThanOrEqual(Date.now() + 31_000);
  });
});

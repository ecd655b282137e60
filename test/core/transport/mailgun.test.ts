/** The Mailgun transport (MIME endpoint) against a local fake that behaves as Mailgun documents. */
import { describe, expect, it } from 'vitest';
import { createTransport, parseTransportUrl } from '../../../src/core/transport/index.js';
import { startFakeMailgun } from '../../helpers/providers/mailgun.js';
import { describeApiTransport } from './api-cases.js';
import { apiMessage, useCleanups } from './fixtures.js';

const KEY = 'key-SECRET-0123456789abcdef';

describeApiTransport({
  name: 'Mailgun',
  secret: 'SECRET',
  start: (options) => startFakeMailgun({ apiKey: KEY, domain: 'mg.example.test', ...options }),
  url: (endpoint, o = {}) => `mailgun://${o.badKey ? 'key-bad-SECRET' : KEY}@mg.example.test?endpoint=${endpoint}${o.query ? `&${o.query}` : ''}`,
  throttledUntil: (now) => now + 2000,
  errorPatterns: {
    rateLimit: /^rate limited by Mailgun: 429: Too many requests/,
    serverError: /^Mailgun: 500: Internal Server Error/,
    badKey: /^Mailgun refused the API key: 401: Forbidden/,
    invalidRecipient: /^Mailgun: 400: to parameter is not a valid address/,
  },
});

describe('Mailgun request', () => {
  const cleanup = useCleanups();
  it('posts our own MIME bytes (headers, DKIM) with `to` as multipart form data, Basic auth api:<key>', async () => {
    const api = await startFakeMailgun({ apiKey: KEY, domain: 'mg.example.test' });
    cleanup(() => api.close());
    const t = createTransport(parseTransportUrl(`mailgun://${KEY}@mg.example.test?endpoint=${api.endpoint}`));
    cleanup(() => t.close());
    const m = apiMessage('ana@example.test');
    const outcome = await t.send(m);
    expect(outcome).toEqual({ kind: 'sent', response: expect.stringMatching(/^200 accepted by Mailgun: Queued\. Thank you\./), providerId: m.messageId });
    expect(api.requests[0]!.path).toBe('/v3/mg.example.test/messages.mime');
    expect(api.requests[0]!.headers.authorization).toBe(`Basic ${Buffer.from(`api:${KEY}`).toString('base64')}`);
    expect((api.deliveries[0]!.message.raw as Buffer).equals(m.raw)).toBe(true);
  });

  it('a domain Mailgun does not know (or the wrong region): unavailable, saying so', async () => {
    const api = await startFakeMailgun({ apiKey: KEY, domain: 'mg.example.test' });
    cleanup(() => api.close());
    const t = createTransport(parseTransportUrl(`mailgun://${KEY}@other.example.test?endpoint=${api.endpoint}`));
    cleanup(() => t.close());
    expect(await t.send(apiMessage('ana@example.test'))).toEqual({ kind: 'unavailable', error: expect.stringMatching(/does not know the domain other\.example\.test .*region/) });
  });

  it('takes a non-ASCII mailbox (Mailgun delivers EAI), the domain as punycode', async () => {
    const api = await startFakeMailgun({ apiKey: KEY, domain: 'mg.example.test' });
    cleanup(() => api.close());
    const t = createTransport(parseTransportUrl(`mailgun://${KEY}@mg.example.test?endpoint=${api.endpoint}`));
    cleanup(() => t.close());
    expect(await t.send(apiMessage('josé@ñandú.cl'))).toMatchObject({ kind: 'sent' });
    expect(api.deliveries[0]!.to).toBe('josé@xn--and-6ma2c.cl');
  });
});

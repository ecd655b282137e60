/** The Postmark transport against a local fake that behaves as Postmark's API overview says. */
import { describe, expect, it } from 'vitest';
import { createTransport, parseTransportUrl } from '../../../src/core/transport/index.js';
import { startFakePostmark } from '../../helpers/providers/postmark.js';
import { describeApiTransport } from './api-cases.js';
import { apiMessage, useCleanups } from './fixtures.js';

const TOKEN = '0f1e2d3c-SECRET-4b5a-9988-77665544';

describeApiTransport({
  name: 'Postmark',
  secret: 'SECRET',
  start: (options) => startFakePostmark({ token: TOKEN, ...options }),
  url: (endpoint, o = {}) => `postmark://${o.badKey ? 'bad-SECRET-token' : TOKEN}?endpoint=${endpoint}${o.query ? `&${o.query}` : ''}`,
  throttledUntil: (now) => now + 1000,
  errorPatterns: {
    rateLimit: /^rate limited by Postmark: 429/,
    serverError: /^Postmark: 500/,
    badKey: /^Postmark refused the server token: 401 ErrorCode 10/,
    invalidRecipient: /^Postmark: 422 ErrorCode 300: Invalid 'To' address/,
  },
  inactive: /^Postmark: inactive recipient .*Found inactive addresses: ana@example\.test/,
});

describe('Postmark request', () => {
  const cleanup = useCleanups();
  it('sends the documented JSON with the server token, the stream, our headers and Message-ID', async () => {
    const api = await startFakePostmark({ token: TOKEN });
    cleanup(() => api.close());
    const t = createTransport(parseTransportUrl(`postmark://${TOKEN}?stream=broadcast&endpoint=${api.endpoint}`));
    cleanup(() => t.close());
    const m = apiMessage('ana@example.test');
    expect(await t.send(m)).toMatchObject({ kind: 'sent', providerId: expect.stringMatching(/^pm-/), response: expect.stringMatching(/^200 accepted by Postmark, MessageID pm-/) });
    const req = api.requests[0]!;
    expect(req.headers['x-postmark-server-token']).toBe(TOKEN);
    expect(JSON.parse(req.body.toString())).toEqual({
      From: 'Aremko Spa <news@example.test>',
      To: 'ana@example.test',
      Subject: 'Una tarde de tinajas, Ana',
      HtmlBody: '<p>Hola Ana.</p>',
      TextBody: 'Hola Ana.',
      ReplyTo: 'reservas@example.test',
      MessageStream: 'broadcast',
      Headers: [
        { Name: 'List-Unsubscribe', Value: '<https://example.test/baja?e=ana>' },
        { Name: 'List-Unsubscribe-Post', Value: 'List-Unsubscribe=One-Click' },
        { Name: 'Message-ID', Value: m.messageId },
      ],
    });
  });
});

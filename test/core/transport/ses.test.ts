/** The Amazon SES v2 transport (raw MIME, SigV4) against a local fake that checks the signature. */
import { describe, expect, it } from 'vitest';
import { createTransport, parseTransportUrl } from '../../../src/core/transport/index.js';
import { startFakeSes } from '../../helpers/providers/ses.js';
import { describeApiTransport } from './api-cases.js';
import { apiMessage, useCleanups } from './fixtures.js';

const ID = 'AKIAIOSFODNN7EXAMPLE';
const SECRET = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY';

describeApiTransport({
  name: 'Amazon SES',
  secret: 'K7MDENG',
  start: (options) => startFakeSes({ accessKeyId: ID, secret: SECRET, region: 'eu-west-1', ...options }),
  url: (endpoint, o = {}) => `ses://${ID}:${o.badKey ? 'not/the+K7MDENG+secret' : SECRET}@eu-west-1?endpoint=${endpoint}${o.query ? `&${o.query}` : ''}`,
  throttledUntil: (now) => now + 1000,
  errorPatterns: {
    rateLimit: /^rate limited by Amazon SES: 429 TooManyRequestsException/,
    serverError: /^Amazon SES: 500 InternalFailure/,
    badKey: /^Amazon SES will not send for this account: 403 SignatureDoesNotMatch/,
    invalidRecipient: /^Amazon SES: 400 BadRequestException/,
  },
});

describe('Amazon SES request', () => {
  const cleanup = useCleanups();
  it('signs with SigV4 (checked by the fake) and sends our own MIME as Content.Raw', async () => {
    const api = await startFakeSes({ accessKeyId: ID, secret: SECRET, region: 'eu-west-1' });
    cleanup(() => api.close());
    const t = createTransport(parseTransportUrl(`ses://${ID}:${SECRET}@eu-west-1?endpoint=${api.endpoint}`));
    cleanup(() => t.close());
    const m = apiMessage('ana@ñandú.cl');
    expect(await t.send(m)).toMatchObject({ kind: 'sent', providerId: api.deliveries[0]!.providerId, response: expect.stringMatching(/^200 accepted by Amazon SES, MessageId /) });
    expect(api.signatureChecks).toBe(1);
    const d = api.deliveries[0]!;
    expect((d.message.raw as Buffer).equals(m.raw)).toBe(true);
    expect(d.message.from).toBe('news@example.test');
    expect(d.to).toBe('ana@xn--and-6ma2c.cl');
  });

  it('an unknown access key id: unavailable', async () => {
    const api = await startFakeSes({ accessKeyId: ID, secret: SECRET, region: 'eu-west-1' });
    cleanup(() => api.close());
    const t = createTransport(parseTransportUrl(`ses://AKIAOTHERKEY0000000:${SECRET}@eu-west-1?endpoint=${api.endpoint}`));
    cleanup(() => t.close());
    expect(await t.send(apiMessage('ana@example.test'))).toMatchObject({ kind: 'unavailable', error: expect.stringMatching(/UnrecognizedClientException/) });
  });

  it('refuses a non-ASCII mailbox itself (SES takes none): failed, nothing sent', async () => {
    const api = await startFakeSes({ accessKeyId: ID, secret: SECRET, region: 'eu-west-1' });
    cleanup(() => api.close());
    const t = createTransport(parseTransportUrl(`ses://${ID}:${SECRET}@eu-west-1?endpoint=${api.endpoint}`));
    cleanup(() => t.close());
    expect(await t.send(apiMessage('josé@example.test'))).toEqual({ kind: 'failed', error: expect.stringMatching(/non-ASCII local part, which Amazon SES does not accept/), unknownMailbox: false });
    expect(api.requests).toHaveLength(0);
  });
});

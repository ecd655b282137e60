/**
 * A fake SendGrid v3 (`POST /v3/mail/send`) as its OpenAPI describes it: Bearer key (401
 * `{"errors": [{"message": "authorization required"}]}`), JSON with personalizations, 202 with
 * an empty body and `X-Message-Id`, 400 for a bad recipient field, 429 with X-RateLimit-* (reset
 * in epoch seconds), 500.
 */
import { looksLikeAddress, newId, type ProviderModule, type ProviderRequest, type Reply, startFakeApi, type FakeApi, type FakeApiOptions } from './fake-api.js';

const errors = (status: number, message: string, field: string | null = null, headers?: Record<string, string>): Reply => ({
  status,
  headers,
  body: { errors: [{ message, field, help: null }] },
});

function json(request: ProviderRequest): Record<string, any> | null {
  try {
    const v = JSON.parse(request.body.toString('utf-8'));
    return v && typeof v === 'object' ? v : null;
  } catch {
    return null;
  }
}

export async function startFakeSendgrid(options: FakeApiOptions & { apiKey?: string; resetInSeconds?: number } = {}): Promise<FakeApi> {
  const apiKey = options.apiKey ?? 'SG.test.key';
  const provider: ProviderModule = {
    recipientOf: (request) => String(json(request)?.personalizations?.[0]?.to?.[0]?.email ?? ''),
    refusal(behaviour) {
      if (behaviour === 'rate-limit') {
        const reset = Math.floor(Date.now() / 1000) + (options.resetInSeconds ?? 3);
        return errors(429, 'too many requests', null, { 'x-ratelimit-limit': '600', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(reset) });
      }
      if (behaviour === 'server-error') return errors(500, 'internal server error');
      if (behaviour === 'invalid-recipient' || behaviour === 'inactive-recipient') {
        return errors(400, 'Does not contain a valid address.', 'personalizations.0.to.0.email');
      }
      return null;
    },
    decide(request) {
      if (request.method !== 'POST' || request.path !== '/v3/mail/send') return { reply: errors(404, 'not found') };
      if (request.headers.authorization !== `Bearer ${apiKey}`) return { reply: errors(401, 'authorization required') };
      const body = json(request);
      if (!body) return { reply: errors(400, 'Bad Request', null) };
      const to = String(body.personalizations?.[0]?.to?.[0]?.email ?? '');
      if (!looksLikeAddress(to)) return { reply: errors(400, 'Does not contain a valid address.', 'personalizations.0.to.0.email') };
      if (!body.from?.email) return { reply: errors(400, 'The from object must be provided for every email send.', 'from') };
      const content = Array.isArray(body.content) ? body.content : [];
      if (content[0]?.type !== 'text/plain' && content.length > 1) return { reply: errors(400, 'If present, text/plain content must be first.', 'content.0.type') };
      const id = newId('sg-');
      return {
        deliver: { to, providerId: id, messageId: String(body.headers?.['Message-ID'] ?? ''), message: body },
        reply: { status: 202, headers: { 'x-message-id': id } },
      };
    },
  };
  return startFakeApi(provider, options);
}

/**
 * A fake Resend (`POST /emails`) as its documentation describes it: Bearer key (401
 * missing_api_key, 403 invalid_api_key), JSON fields (422 missing_required_field /
 * validation_error for a bad `to`), 200 `{"id"}`, 429 rate_limit_exceeded with `retry-after`
 * and `ratelimit-*` headers, 500 application_error — and idempotency keys: the same key with the
 * same payload within 24 h gets the original answer and sends nothing; with another payload, 409
 * invalid_idempotent_request; while the original is still in progress, 409
 * concurrent_idempotent_requests.
 */
import { createHash } from 'node:crypto';
import { looksLikeAddress, newId, type ProviderModule, type ProviderRequest, type Reply, startFakeApi, type FakeApi, type FakeApiOptions } from './fake-api.js';

const error = (status: number, name: string, message: string, headers?: Record<string, string>): Reply => ({
  status,
  headers,
  body: { statusCode: status, name, message },
});

function json(request: ProviderRequest): Record<string, unknown> | null {
  try {
    const v = JSON.parse(request.body.toString('utf-8'));
    return v && typeof v === 'object' ? v : null;
  } catch {
    return null;
  }
}

export interface FakeResend extends FakeApi {
  /** requests answered from the idempotency store (the original answer, nothing sent) */
  replayed: number;
}

export async function startFakeResend(options: FakeApiOptions & { apiKey?: string; retryAfterSeconds?: number } = {}): Promise<FakeResend> {
  const apiKey = options.apiKey ?? 're_test_key';
  const keys = new Map<string, { hash: string; reply: Reply | null }>();
  const state = { replayed: 0 };

  const provider: ProviderModule = {
    recipientOf(request) {
      const to = json(request)?.to;
      return String(Array.isArray(to) ? (to[0] ?? '') : (to ?? ''));
    },
    refusal(behaviour) {
      const s = options.retryAfterSeconds ?? 2;
      if (behaviour === 'rate-limit') {
        return error(429, 'rate_limit_exceeded', 'Too many requests. You can only make 2 requests per second.', {
          'retry-after': String(s),
          'ratelimit-limit': '2',
          'ratelimit-remaining': '0',
          'ratelimit-reset': String(s),
        });
      }
      if (behaviour === 'server-error') return error(500, 'application_error', 'An unexpected error occurred.');
      if (behaviour === 'invalid-recipient' || behaviour === 'inactive-recipient') {
        return error(422, 'validation_error', 'Invalid `to` field. The email address needs to follow the `email@example.com` or `Name <email@example.com>` format.');
      }
      return null;
    },
    decide(request) {
      if (request.method !== 'POST' || request.path !== '/emails') return { reply: error(404, 'not_found', 'The requested endpoint does not exist.') };
      const auth = request.headers.authorization;
      if (!auth) return { reply: error(401, 'missing_api_key', 'Missing API key in the authorization header.') };
      if (auth !== `Bearer ${apiKey}`) return { reply: error(403, 'invalid_api_key', 'API key is invalid') };
      const body = json(request);
      if (!body) return { reply: error(422, 'validation_error', 'Invalid JSON body.') };
      for (const f of ['from', 'to', 'subject']) if (!body[f]) return { reply: error(422, 'missing_required_field', `Missing \`${f}\` field.`) };
      const to = String(Array.isArray(body.to) ? body.to[0] : body.to);
      if (!looksLikeAddress(to)) return { reply: error(422, 'validation_error', 'Invalid `to` field.') };

      const key = request.headers['idempotency-key'];
      const idempotencyKey = Array.isArray(key) ? key[0] : key;
      const hash = createHash('sha256').update(request.body).digest('hex');
      if (idempotencyKey !== undefined) {
        if (idempotencyKey.length < 1 || idempotencyKey.length > 256) return { reply: error(400, 'invalid_idempotency_key', 'The key must be between 1-256 chars.') };
        const seen = keys.get(idempotencyKey);
        if (seen) {
          if (seen.hash !== hash) return { reply: error(409, 'invalid_idempotent_request', 'Same idempotency key used with a different request payload.') };
          if (!seen.reply) return { reply: error(409, 'concurrent_idempotent_requests', 'Same idempotency key used while original request is still in progress.') };
          state.replayed++;
          return { reply: seen.reply };
        }
      }
      const id = newId('re-');
      const reply: Reply = { status: 200, body: { id } };
      const entry = { hash, reply: null as Reply | null };
      if (idempotencyKey !== undefined) keys.set(idempotencyKey, entry);
      const headers = (body.headers ?? {}) as Record<string, string>;
      return {
        deliver: { to, providerId: id, messageId: headers['Message-ID'] ?? '', message: body },
        reply,
        onAnswered: () => {
          entry.reply = reply;
        },
      };
    },
  };
  const api = await startFakeApi(provider, options);
  return Object.defineProperty(api, 'replayed', { get: () => state.replayed }) as FakeResend;
}

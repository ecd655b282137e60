/**
 * A fake Postmark (`POST /email`) as its API overview describes it: `X-Postmark-Server-Token`
 * (401 with ErrorCode 10), JSON fields, 200 `{To, SubmittedAt, MessageID, ErrorCode: 0,
 * Message: "OK"}`, 422 with ErrorCode 300 (invalid 'To') or 406 (inactive recipient), 429, 500.
 */
import { looksLikeAddress, newId, type ProviderModule, type ProviderRequest, type Reply, startFakeApi, type FakeApi, type FakeApiOptions } from './fake-api.js';

const error = (status: number, code: number, message: string): Reply => ({ status, body: { ErrorCode: code, Message: message } });

function json(request: ProviderRequest): Record<string, unknown> | null {
  try {
    const v = JSON.parse(request.body.toString('utf-8'));
    return v && typeof v === 'object' ? v : null;
  } catch {
    return null;
  }
}

export async function startFakePostmark(options: FakeApiOptions & { token?: string } = {}): Promise<FakeApi> {
  const token = options.token ?? 'pm-test-token';
  const provider: ProviderModule = {
    recipientOf: (request) => String(json(request)?.To ?? ''),
    refusal(behaviour, request) {
      const to = String(json(request)?.To ?? '');
      if (behaviour === 'rate-limit') return error(429, 429, 'Rate limit exceeded.');
      if (behaviour === 'server-error') return error(500, 0, 'Internal server error.');
      if (behaviour === 'invalid-recipient') return error(422, 300, `Invalid 'To' address: '${to}'.`);
      if (behaviour === 'inactive-recipient') {
        return error(422, 406, `You tried to send to recipient(s) that have been marked as inactive. Found inactive addresses: ${to.toLowerCase()}. Inactive recipients are ones that have generated a hard bounce, a spam complaint, or a manual suppression.`);
      }
      return null;
    },
    decide(request) {
      if (request.method !== 'POST' || request.path !== '/email') return { reply: { status: 404, body: '' } };
      if (request.headers['x-postmark-server-token'] !== token) return { reply: error(401, 10, 'The Server Token you provided in the X-Postmark-Server-Token request header was invalid.') };
      if (request.headers.accept !== 'application/json') return { reply: error(422, 402, 'Accept header must be application/json.') };
      const body = json(request);
      if (!body) return { reply: error(422, 402, 'Received invalid JSON input.') };
      if (!body.From) return { reply: error(422, 300, "Invalid 'From' address: ''.") };
      const to = String(body.To ?? '');
      if (!looksLikeAddress(to)) return { reply: error(422, 300, `Invalid 'To' address: '${to}'.`) };
      const id = newId('pm-');
      const headers = Array.isArray(body.Headers) ? (body.Headers as Array<{ Name: string; Value: string }>) : [];
      return {
        deliver: { to, providerId: id, messageId: headers.find((h) => h.Name.toLowerCase() === 'message-id')?.Value ?? '', message: body },
        reply: { status: 200, body: { To: to, SubmittedAt: new Date().toISOString(), MessageID: id, ErrorCode: 0, Message: 'OK' } },
      };
    },
  };
  return startFakeApi(provider, options);
}

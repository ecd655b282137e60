/**
 * A fake Mailgun (`POST /v3/<domain>/messages.mime`) as its documentation describes it: HTTP
 * Basic `api:<key>` (401 "Forbidden"), multipart/form-data with `to` and the `message` file, 200
 * `{"id", "message": "Queued. Thank you."}`, 400 `{"message"}` for a bad `to`, 404 for an unknown
 * domain, 429, 500. The form is read with the platform's own parser (undici's Response.formData).
 */
import { looksLikeAddress, mimeMessageId, type ProviderModule, type ProviderRequest, type Reply, startFakeApi, type FakeApi, type FakeApiOptions } from './fake-api.js';

async function form(request: ProviderRequest): Promise<{ to: string; message: Buffer } | null> {
  try {
    const data = await new Response(request.body, { headers: { 'content-type': String(request.headers['content-type'] ?? '') } }).formData();
    const file = data.get('message');
    const message = file && typeof file === 'object' ? Buffer.from(await file.arrayBuffer()) : Buffer.from(String(file ?? ''));
    return { to: String(data.get('to') ?? ''), message };
  } catch {
    return null;
  }
}

const message = (status: number, text: string, headers?: Record<string, string>): Reply => ({ status, headers, body: { message: text } });

export async function startFakeMailgun(options: FakeApiOptions & { apiKey?: string; domain?: string } = {}): Promise<FakeApi> {
  const apiKey = options.apiKey ?? 'key-test';
  const domain = options.domain ?? 'mg.example.test';
  let n = 0;
  const provider: ProviderModule = {
    recipientOf: async (request) => (await form(request))?.to ?? '',
    refusal(behaviour) {
      if (behaviour === 'rate-limit') return message(429, 'Too many requests', { 'retry-after': '2' });
      if (behaviour === 'server-error') return message(500, 'Internal Server Error');
      if (behaviour === 'invalid-recipient' || behaviour === 'inactive-recipient') return message(400, "to parameter is not a valid address. please check documentation");
      return null;
    },
    async decide(request) {
      const auth = request.headers.authorization ?? '';
      if (auth !== `Basic ${Buffer.from(`api:${apiKey}`).toString('base64')}`) return { reply: { status: 401, headers: { 'content-type': 'text/plain' }, body: 'Forbidden' } };
      const m = /^\/v3\/([^/]+)\/messages\.mime$/.exec(request.path);
      if (request.method !== 'POST' || !m) return { reply: { status: 200, headers: { 'content-type': 'text/plain' }, body: 'Mailgun Magnificent API' } };
      if (decodeURIComponent(m[1]!) !== domain) return { reply: message(404, `Domain not found: ${decodeURIComponent(m[1]!)}`) };
      const f = await form(request);
      if (!f || !f.message.length) return { reply: message(400, "'message' parameter is missing") };
      if (!looksLikeAddress(f.to)) return { reply: message(400, 'to parameter is not a valid address. please check documentation') };
      const id = mimeMessageId(f.message) || `<${Date.now()}.${++n}@${domain}>`;
      return {
        deliver: { to: f.to, providerId: id, messageId: mimeMessageId(f.message), message: { raw: f.message } },
        reply: { status: 200, body: { id, message: 'Queued. Thank you.' } },
      };
    },
  };
  return startFakeApi(provider, options);
}

/**
 * A fake Amazon SES v2 (`POST /v2/email/outbound-emails`) as the API reference describes it:
 * Signature V4 (checked: a wrong secret gets 403 SignatureDoesNotMatch, an unknown key id 403
 * UnrecognizedClientException), `Content.Raw.Data` base64 MIME, 200 `{"MessageId"}`, errors with
 * `x-amzn-ErrorType` and `{"message"}`: 429 TooManyRequestsException, 400 BadRequestException for
 * a bad address, 500 InternalFailure.
 */
import { signV4 } from '../../../src/core/transport/sigv4.js';
import { looksLikeAddress, mimeMessageId, newId, type ProviderModule, type ProviderRequest, type Reply, startFakeApi, type FakeApi, type FakeApiOptions } from './fake-api.js';

const awsError = (status: number, type: string, text: string): Reply => ({
  status,
  headers: { 'x-amzn-errortype': `${type}:http://internal.amazon.com/coral/com.amazonaws.sesv2/`, 'x-amzn-requestid': newId() },
  body: { message: text },
});

function json(request: ProviderRequest): Record<string, any> | null {
  try {
    const v = JSON.parse(request.body.toString('utf-8'));
    return v && typeof v === 'object' ? v : null;
  } catch {
    return null;
  }
}

export async function startFakeSes(options: FakeApiOptions & { accessKeyId?: string; secret?: string; region?: string } = {}): Promise<FakeApi & { signatureChecks: number }> {
  const accessKeyId = options.accessKeyId ?? 'AKIAIOSFODNN7EXAMPLE';
  const secret = options.secret ?? 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY';
  const region = options.region ?? 'us-east-1';
  const state = { checks: 0 };
  let endpoint = '';

  /** Recomputes the signature from the request as received (host header included). */
  function signatureOk(request: ProviderRequest): 'ok' | 'unknown-key' | 'bad-signature' {
    const auth = String(request.headers.authorization ?? '');
    const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/ses\/aws4_request, SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/.exec(auth);
    if (!m || m[1] !== accessKeyId) return 'unknown-key';
    if (m[3] !== region) return 'bad-signature';
    const amzDate = String(request.headers['x-amz-date'] ?? '');
    const when = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amzDate);
    if (!when) return 'bad-signature';
    const now = new Date(Date.UTC(+when[1]!, +when[2]! - 1, +when[3]!, +when[4]!, +when[5]!, +when[6]!));
    const signed = m[4]!.split(';').filter((h) => h !== 'host' && h !== 'x-amz-date');
    const headers = Object.fromEntries(signed.map((h) => [h, String(request.headers[h] ?? '')]));
    state.checks++;
    const expected = signV4({ method: request.method, url: `${endpoint}${request.path}`, headers, body: request.body, accessKeyId, secretAccessKey: secret, region, service: 'ses', now });
    return expected.signature === m[5] ? 'ok' : 'bad-signature';
  }

  const provider: ProviderModule = {
    recipientOf: (request) => String(json(request)?.Destination?.ToAddresses?.[0] ?? ''),
    refusal(behaviour) {
      if (behaviour === 'rate-limit') return awsError(429, 'TooManyRequestsException', 'Too Many Requests');
      if (behaviour === 'server-error') return awsError(500, 'InternalFailure', 'The request processing has failed because of an unknown error.');
      if (behaviour === 'invalid-recipient' || behaviour === 'inactive-recipient') return awsError(400, 'BadRequestException', 'Missing final \'@domain\'');
      return null;
    },
    decide(request) {
      if (request.method !== 'POST' || request.path !== '/v2/email/outbound-emails') return { reply: awsError(404, 'NotFoundException', 'Not found') };
      const sig = signatureOk(request);
      if (sig === 'unknown-key') return { reply: awsError(403, 'UnrecognizedClientException', 'The security token included in the request is invalid.') };
      if (sig === 'bad-signature') {
        return { reply: awsError(403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.') };
      }
      const body = json(request);
      const to = String(body?.Destination?.ToAddresses?.[0] ?? '');
      const data = body?.Content?.Raw?.Data;
      if (!body || typeof data !== 'string') return { reply: awsError(400, 'BadRequestException', 'Content is required') };
      if (!looksLikeAddress(to)) return { reply: awsError(400, 'BadRequestException', "Missing final '@domain'") };
      const raw = Buffer.from(data, 'base64');
      const id = newId('010001');
      return { deliver: { to, providerId: id, messageId: mimeMessageId(raw), message: { raw, from: body.FromEmailAddress } }, reply: { status: 200, body: { MessageId: id } } };
    },
  };
  const api = await startFakeApi(provider, options);
  endpoint = api.endpoint;
  return Object.defineProperty(api, 'signatureChecks', { get: () => state.checks }) as FakeApi & { signatureChecks: number };
}

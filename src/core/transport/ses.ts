/**
 * ses://<access-key-id>:<secret>@<region> — Amazon SES API v2 `SendEmail`
 * (`POST /v2/email/outbound-emails`) with `Content.Raw`: the message is ours (headers, DKIM).
 *
 * - Signed with AWS Signature Version 4 (service `ses`), see ./sigv4.ts.
 * - JSON body FromEmailAddress, Destination.ToAddresses, Content.Raw.Data (base64).
 * - Success: 200 `{"MessageId": …}`.
 * - Errors: the type in `x-amzn-ErrorType` (or `__type`), the text in `message`:
 *   TooManyRequestsException (429) and sending-rate or daily-quota limits → wait;
 *   AccountSuspendedException, SendingPausedException, MailFromDomainNotVerifiedException,
 *   NotFoundException, credential and signature errors (403) → the account cannot send;
 *   MessageRejected "Email address is not verified" (the sandbox) → the account cannot send to
 *   others either; MessageRejected otherwise, BadRequestException → this message; 5xx → retry.
 * SES takes no non-ASCII mailboxes (EAI) and has no idempotency key.
 */
import { type Answer, field, rateLimitUntil, shortBody } from './http/answer.js';
import { type Addresses, ApiTransport, type Interpretation } from './http/api-transport.js';
import type { HttpRequest } from './http/request.js';
import { signV4 } from './sigv4.js';
import { NO_MIME, type OutgoingEnvelope, type SendOutcome } from './types.js';

const ACCOUNT_ERRORS = new Set([
  'AccountSuspendedException',
  'SendingPausedException',
  'MailFromDomainNotVerifiedException',
  'NotFoundException',
  'AccessDeniedException',
  'UnrecognizedClientException',
  'InvalidClientTokenId',
  'InvalidSignatureException',
  'SignatureDoesNotMatch',
  'IncompleteSignature',
  'MissingAuthenticationToken',
  'RequestExpired',
  'ExpiredTokenException',
  'NotAuthorized',
  'OptInRequired',
]);
const THROTTLE_ERRORS = new Set(['TooManyRequestsException', 'ThrottlingException', 'Throttling', 'LimitExceededException']);

/** `MessageRejected:http://internal.amazon.com/coral/…` → `MessageRejected` */
function errorType(answer: Answer): string {
  const header = answer.headers['x-amzn-errortype'];
  const raw = (Array.isArray(header) ? header[0] : header) ?? field(answer.json, '__type') ?? field(answer.json, 'code') ?? field(answer.json, 'Code') ?? '';
  return raw.split(':')[0]!.split('#').pop()!.trim();
}

export class SesTransport extends ApiTransport {
  protected readonly provider = 'Amazon SES';

  override readonly takes = 'mime';

  protected build(message: OutgoingEnvelope, addresses: Addresses): HttpRequest | SendOutcome {
    if (!message.raw) return NO_MIME;
    const url = `${this.api.endpoint}/v2/email/outbound-emails`;
    const body = Buffer.from(
      JSON.stringify({
        FromEmailAddress: addresses.from,
        Destination: { ToAddresses: [addresses.to] },
        Content: { Raw: { Data: message.raw.toString('base64') } },
      }),
    );
    const headers = { 'content-type': 'application/json' };
    const signed = signV4({
      method: 'POST',
      url,
      headers,
      body,
      accessKeyId: this.api.keyId!,
      secretAccessKey: this.api.key,
      region: this.api.region!,
      service: 'ses',
      now: new Date(this.now()),
    });
    return {
      url,
      method: 'POST',
      headers: { ...headers, 'x-amz-date': signed['x-amz-date'], authorization: signed.authorization, 'user-agent': 'aremko-mail' },
      body,
    };
  }

  protected interpret(answer: Answer): Interpretation {
    const { status } = answer;
    if (status >= 200 && status < 300) {
      const id = field(answer.json, 'MessageId');
      return { kind: 'sent', response: `${status} accepted by Amazon SES${id ? `, MessageId ${id}` : ''}`, ...(id ? { providerId: id } : {}) };
    }
    const type = errorType(answer);
    const said = field(answer.json, 'message') ?? field(answer.json, 'Message') ?? (shortBody(answer.text) || 'no details');
    const text = `${status}${type ? ` ${type}` : ''}: ${said}`;
    if (status === 429 || THROTTLE_ERRORS.has(type) || /maximum sending rate|daily message quota/i.test(said)) {
      // AWS: after a throttling error, wait (up to 10 minutes for the daily quota) and retry
      const fallback = /daily/i.test(said) ? 10 * 60_000 : 1000;
      return { kind: 'throttled', until: rateLimitUntil(answer.headers, this.now(), fallback), error: `rate limited by Amazon SES: ${text}` };
    }
    if (ACCOUNT_ERRORS.has(type) || status === 401 || status === 403) return { kind: 'unavailable', error: `Amazon SES will not send for this account: ${text}` };
    if (type === 'MessageRejected' && /not verified/i.test(said)) return { kind: 'unavailable', error: `Amazon SES (sandbox or unverified identity): ${text}` };
    if (status >= 500) return { kind: 'retry', error: `Amazon SES: ${text}` };
    if (status === 404) return { kind: 'unavailable', error: `Amazon SES: no such API at ${this.api.endpoint}: ${text}` };
    return { kind: 'failed', error: `Amazon SES: ${text}`, unknownMailbox: false };
  }
}

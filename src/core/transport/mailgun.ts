/**
 * mailgun://<api-key>@<domain>[?region=eu] — Mailgun, `POST /v3/<domain>/messages.mime`
 * (https://documentation.mailgun.com, "Send an email in MIME format"): the message is ours, so
 * our headers and DKIM signature reach the recipient as built.
 *
 * - Auth HTTP Basic `api:<key>`; multipart/form-data with `to` and `message` (the MIME file).
 * - Base https://api.mailgun.net, or https://api.eu.mailgun.net for `?region=eu`.
 * - Success: 200 `{"id": "<…>", "message": "Queued. Thank you."}`.
 * - Errors: 400 `{"message"}` (a bad field, e.g. the recipient), 401/403 the key, 404 the domain
 *   (or the region), 429 rate limit ("retry as defined in the response"), 500 Mailgun's own.
 * Mailgun delivers to non-ASCII mailboxes (EAI) and has no idempotency key.
 */
import { randomBytes } from 'node:crypto';
import { type Answer, field, rateLimitUntil, shortBody } from './http/answer.js';
import { type Addresses, ApiTransport, type Interpretation } from './http/api-transport.js';
import type { HttpRequest } from './http/request.js';
import { NO_MIME, type OutgoingEnvelope, type SendOutcome } from './types.js';

function formData(boundary: string, to: string, raw: Buffer): Buffer {
  return Buffer.concat([
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="to"\r\n\r\n${to}\r\n`),
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="message"; filename="message.mime"\r\nContent-Type: message/rfc822\r\n\r\n`),
    raw,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
}

export class MailgunTransport extends ApiTransport {
  protected readonly provider = 'Mailgun';
  protected override readonly acceptsUtf8LocalPart = true;
  override readonly takes = 'mime';

  protected build(message: OutgoingEnvelope, addresses: Addresses): HttpRequest | SendOutcome {
    const raw = message.raw;
    if (!raw) return NO_MIME;
    let boundary = `aremko-${randomBytes(16).toString('hex')}`;
    while (raw.includes(boundary)) boundary = `aremko-${randomBytes(16).toString('hex')}`;
    return {
      url: `${this.api.endpoint}/v3/${encodeURIComponent(this.api.domain!)}/messages.mime`,
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`api:${this.api.key}`).toString('base64')}`,
        'content-type': `multipart/form-data; boundary=${boundary}`,
        accept: 'application/json',
        'user-agent': 'aremko-mail',
      },
      body: formData(boundary, addresses.to, raw),
    };
  }

  protected interpret(answer: Answer): Interpretation {
    const { status } = answer;
    const said = field(answer.json, 'message') ?? (shortBody(answer.text) || 'no details');
    const text = `${status}: ${said}`;
    if (status >= 200 && status < 300) {
      const id = field(answer.json, 'id');
      // Mailgun answers 200 "Mailgun Magnificent API" to a path it does not know
      if (!id) return { kind: 'unavailable', error: `Mailgun: unexpected answer at ${this.api.endpoint} (not the sending API?): ${text}` };
      return { kind: 'sent', response: `${status} accepted by Mailgun: ${said}, id ${id}`, providerId: id };
    }
    if (status === 429) return { kind: 'throttled', until: rateLimitUntil(answer.headers, this.now(), 1000), error: `rate limited by Mailgun: ${text}` };
    if (status === 401 || status === 403) return { kind: 'unavailable', error: `Mailgun refused the API key: ${text}` };
    if (status === 404) {
      return { kind: 'unavailable', error: `Mailgun does not know the domain ${this.api.domain} at ${this.api.endpoint} (wrong domain, or ?region=eu missing or extra): ${text}` };
    }
    if (status >= 500) return { kind: 'retry', error: `Mailgun: ${text}` };
    if (/not allowed to send|free accounts|sandbox|authorized recipients|domain .* (disabled|not verified)/i.test(said)) {
      return { kind: 'unavailable', error: `Mailgun will not send for this account or domain: ${text}` };
    }
    return { kind: 'failed', error: `Mailgun: ${text}`, unknownMailbox: false };
  }
}

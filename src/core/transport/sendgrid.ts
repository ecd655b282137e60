/**
 * sendgrid://<api-key> — Twilio SendGrid v3, `POST /v3/mail/send` (its OpenAPI "Mail Send").
 *
 * - Auth `Authorization: Bearer <key>`; JSON body personalizations[{to}], from, reply_to,
 *   subject, content [text/plain, then text/html], headers (List-Unsubscribe,
 *   List-Unsubscribe-Post, our Message-ID: none of them is among the headers SendGrid reserves).
 * - Success: 202 with an empty body; the message id is the `X-Message-Id` response header.
 * - Errors: `{"errors": [{"message", "field"}]}` — 400 a field (an invalid recipient is a field
 *   under `personalizations`; `from` is the sender), 401 the key, 403 forbidden (an unverified
 *   sender, or a temporary block), 413 too large, 429 rate limit (`X-RateLimit-Reset`, epoch
 *   seconds), 5xx SendGrid's own.
 * SendGrid drops suppressed addresses after accepting (no error here) and has no idempotency key.
 * A non-ASCII mailbox is passed on as is (its documentation is silent on them): SendGrid decides.
 */
import { type Answer, rateLimitUntil, shortBody } from './http/answer.js';
import { type Addresses, ApiTransport, type Interpretation } from './http/api-transport.js';
import { mailbox } from './http/mailbox.js';
import type { HttpRequest } from './http/request.js';
import type { OutgoingEnvelope, SendOutcome } from './types.js';

interface SendgridError {
  message?: string;
  field?: string | null;
}

function errorsOf(json: unknown): SendgridError[] {
  const list = json && typeof json === 'object' ? (json as { errors?: unknown }).errors : null;
  return Array.isArray(list) ? (list.filter((e) => e && typeof e === 'object') as SendgridError[]) : [];
}

export class SendgridTransport extends ApiTransport {
  protected readonly provider = 'SendGrid';
  /** SendGrid's documentation does not say it refuses non-ASCII mailboxes: let it answer for itself. */
  protected override readonly acceptsUtf8LocalPart = true;

  protected build(message: OutgoingEnvelope, addresses: Addresses): HttpRequest | SendOutcome {
    const parts = message.parts;
    if (!parts) return { kind: 'unavailable', error: 'SendGrid takes the message as fields, and none were given (engine too old for this transport)' };
    const from = mailbox(parts.from, addresses.from);
    const body: Record<string, unknown> = {
      personalizations: [{ to: [{ email: addresses.to }] }],
      from: from.name ? { email: from.address, name: from.name } : { email: from.address },
      subject: parts.subject,
      content: [
        { type: 'text/plain', value: parts.text },
        { type: 'text/html', value: parts.html },
      ],
      headers: { ...parts.headers, 'Message-ID': message.messageId },
    };
    if (parts.replyTo) {
      const replyTo = mailbox(parts.replyTo);
      body.reply_to = replyTo.name ? { email: replyTo.address, name: replyTo.name } : { email: replyTo.address };
    }
    return {
      url: `${this.api.endpoint}/v3/mail/send`,
      method: 'POST',
      headers: { authorization: `Bearer ${this.api.key}`, 'content-type': 'application/json', 'user-agent': 'aremko-mail' },
      body: Buffer.from(JSON.stringify(body)),
    };
  }

  protected interpret(answer: Answer): Interpretation {
    const { status } = answer;
    if (status >= 200 && status < 300) {
      const raw = answer.headers['x-message-id'];
      const id = Array.isArray(raw) ? raw[0] : raw;
      return { kind: 'sent', response: `${status} accepted by SendGrid${id ? `, X-Message-Id ${id}` : ''}`, ...(id ? { providerId: id } : {}) };
    }
    const errors = errorsOf(answer.json);
    const said = errors.length ? errors.map((e) => (e.field && e.field !== 'null' ? `${e.field}: ${e.message ?? ''}` : (e.message ?? ''))).join('; ') : shortBody(answer.text) || 'no details';
    const text = `${status}: ${said}`;
    if (status === 429) return { kind: 'throttled', until: rateLimitUntil(answer.headers, this.now(), 1000), error: `rate limited by SendGrid: ${text}` };
    if (status === 401 || status === 403) return { kind: 'unavailable', error: `SendGrid refused the request (API key, or an unverified sender): ${text}` };
    if (status === 404 || status === 405) return { kind: 'unavailable', error: `SendGrid: no such API at ${this.api.endpoint}: ${text}` };
    if (status >= 500) return { kind: 'retry', error: `SendGrid: ${text}` };
    if (status === 400 && errors.some((e) => /^(from|reply_to)\b/.test(e.field ?? ''))) return { kind: 'unavailable', error: `SendGrid refused the sender: ${text}` };
    return { kind: 'failed', error: `SendGrid: ${text}`, unknownMailbox: false };
  }
}

/**
 * resend://<api-key> — Resend, `POST /emails` (https://resend.com/docs/api-reference).
 *
 * - Auth `Authorization: Bearer <key>`; JSON body from, to, subject, html, text, reply_to,
 *   headers (List-Unsubscribe, List-Unsubscribe-Post, our Message-ID).
 * - `Idempotency-Key` header: Resend answers a repeated key with the original answer and sends
 *   nothing again, for 24 hours (docs: "Idempotency Keys"). Hence `idempotencyWindowMs`.
 * - Success: 200 `{"id": …}`. Errors: `{"statusCode", "name", "message"}` — 400/422 a field,
 *   401/403 the key (or an unverified domain), 409 `concurrent_idempotent_requests` (the
 *   original is still in progress: ask again) or `invalid_idempotent_request` (the key was used
 *   with another payload), 429 `rate_limit_exceeded` / `daily_quota_exceeded` (wait:
 *   `retry-after`, `ratelimit-reset`) or `monthly_quota_exceeded` (stop), 5xx Resend's own.
 * Resend reports bounces afterwards (webhooks), not in this answer: no recipient is dead here.
 */
import { type Answer, field, rateLimitUntil, shortBody } from './http/answer.js';
import { type Addresses, ApiTransport, type Interpretation } from './http/api-transport.js';
import { formatMailbox, mailbox } from './http/mailbox.js';
import type { HttpRequest } from './http/request.js';
import type { OutgoingEnvelope, SendOutcome } from './types.js';

export const RESEND_IDEMPOTENCY_WINDOW_MS = 24 * 3600_000;

export class ResendTransport extends ApiTransport {
  protected readonly provider = 'Resend';
  override readonly idempotencyWindowMs = RESEND_IDEMPOTENCY_WINDOW_MS;

  protected build(message: OutgoingEnvelope, addresses: Addresses): HttpRequest | SendOutcome {
    const parts = message.parts;
    if (!parts) return { kind: 'unavailable', error: 'Resend takes the message as fields, and none were given (engine too old for this transport)' };
    const body: Record<string, unknown> = {
      from: formatMailbox(mailbox(parts.from, addresses.from)),
      to: [addresses.to],
      subject: parts.subject,
      html: parts.html,
      text: parts.text,
      headers: { ...parts.headers, 'Message-ID': message.messageId },
    };
    if (parts.replyTo) body.reply_to = [parts.replyTo];
    const headers: Record<string, string> = {
      authorization: `Bearer ${this.api.key}`,
      'content-type': 'application/json',
      accept: 'application/json',
      'user-agent': 'aremko-mail',
    };
    if (message.idempotencyKey) headers['idempotency-key'] = message.idempotencyKey;
    return { url: `${this.api.endpoint}/emails`, method: 'POST', headers, body: Buffer.from(JSON.stringify(body)) };
  }

  protected interpret(answer: Answer): Interpretation {
    const { status } = answer;
    if (status >= 200 && status < 300) {
      const id = field(answer.json, 'id');
      return { kind: 'sent', response: `${status} accepted by Resend${id ? `, id ${id}` : ''}`, ...(id ? { providerId: id } : {}) };
    }
    const name = field(answer.json, 'name') ?? '';
    const text = `${status}${name ? ` ${name}` : ''}: ${field(answer.json, 'message') ?? (shortBody(answer.text) || 'no details')}`;
    if (status === 429) {
      if (name === 'monthly_quota_exceeded') return { kind: 'unavailable', error: `Resend: monthly quota used up: ${text}` };
      const fallback = name === 'daily_quota_exceeded' ? 3600_000 : 1000;
      return { kind: 'throttled', until: rateLimitUntil(answer.headers, this.now(), fallback), error: `rate limited by Resend: ${text}` };
    }
    if (status === 409 && name === 'concurrent_idempotent_requests') return { kind: 'again', error: `Resend: ${text}` };
    if (status === 409) return { kind: 'in_doubt', error: `Resend holds another request under this idempotency key: ${text}` };
    if (status === 401 || status === 403) return { kind: 'unavailable', error: `Resend refused the request (API key, or a domain not verified): ${text}` };
    if (status === 404 || status === 405) return { kind: 'unavailable', error: `Resend: no such API at ${this.api.endpoint}: ${text}` };
    if (status === 451) return { kind: 'unavailable', error: `Resend: ${text}` };
    if (status === 422 && name === 'invalid_from_address') return { kind: 'unavailable', error: `Resend refused the sender: ${text}` };
    if (status >= 500) return { kind: 'retry', error: `Resend: ${text}` };
    return { kind: 'failed', error: `Resend: ${text}`, unknownMailbox: false };
  }
}

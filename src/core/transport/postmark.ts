/**
 * postmark://<server-token>[?stream=<id>] — Postmark, `POST /email`
 * (https://postmarkapp.com/developer/user-guide/send-email-with-api).
 *
 * - Auth `X-Postmark-Server-Token`; JSON body From, To, Subject, HtmlBody, TextBody, ReplyTo,
 *   Headers [{Name, Value}] (List-Unsubscribe, List-Unsubscribe-Post, our Message-ID),
 *   MessageStream when `?stream=` is given (Postmark's default is "outbound").
 * - Success: 200 `{"To", "SubmittedAt", "MessageID", "ErrorCode": 0, "Message": "OK"}`.
 * - Errors (API overview): 401 bad token; 422 `{"ErrorCode", "Message"}` with 300 invalid request
 *   (an invalid 'To' address, or another field), 406 inactive recipient (a hard bounce or a spam
 *   complaint: the address is dead), 400/401 sender signature missing or unconfirmed, 405 not
 *   allowed to send, 412 account pending, 413 account may not send; 429 rate limit; 500, 503.
 * Postmark has no idempotency key: a lost answer is `in_doubt`.
 */
import { type Answer, field, rateLimitUntil, shortBody } from './http/answer.js';
import { type Addresses, ApiTransport, type Interpretation } from './http/api-transport.js';
import { formatMailbox, mailbox } from './http/mailbox.js';
import type { HttpRequest } from './http/request.js';
import type { OutgoingEnvelope, SendOutcome } from './types.js';

/** ErrorCodes that hold for every recipient: the account or the sender, not this address. */
const ACCOUNT_CODES = new Set([10, 400, 401, 405, 412, 413]);

export class PostmarkTransport extends ApiTransport {
  protected readonly provider = 'Postmark';

  protected build(message: OutgoingEnvelope, addresses: Addresses): HttpRequest | SendOutcome {
    const parts = message.parts;
    if (!parts) return { kind: 'unavailable', error: 'Postmark takes the message as fields, and none were given (engine too old for this transport)' };
    const headers = Object.entries({ ...parts.headers, 'Message-ID': message.messageId }).map(([Name, Value]) => ({ Name, Value }));
    const body: Record<string, unknown> = {
      From: formatMailbox(mailbox(parts.from, addresses.from)),
      To: addresses.to,
      Subject: parts.subject,
      HtmlBody: parts.html,
      TextBody: parts.text,
      Headers: headers,
    };
    if (parts.replyTo) body.ReplyTo = parts.replyTo;
    if (this.api.stream) body.MessageStream = this.api.stream;
    return {
      url: `${this.api.endpoint}/email`,
      method: 'POST',
      headers: {
        accept: 'application/json',
        'content-type': 'application/json',
        'x-postmark-server-token': this.api.key,
        'user-agent': 'aremko-mail',
      },
      body: Buffer.from(JSON.stringify(body)),
    };
  }

  protected interpret(answer: Answer, _message: OutgoingEnvelope, addresses: Addresses): Interpretation {
    const { status } = answer;
    const code = Number(field(answer.json, 'ErrorCode') ?? NaN);
    const said = field(answer.json, 'Message') ?? (shortBody(answer.text) || 'no details');
    const text = `${status}${Number.isFinite(code) ? ` ErrorCode ${code}` : ''}: ${said}`;
    if (status === 200 && (code === 0 || !Number.isFinite(code))) {
      // "Message OK, but will not deliver to these inactive addresses: …" (several recipients)
      const inactive = /inactive addresses:\s*(.*?)\.\s*Inactive recipients/is.exec(said)?.[1];
      if (inactive && inactive.toLowerCase().split(/\s*,\s*/).includes(addresses.to.toLowerCase())) {
        return { kind: 'failed', error: `Postmark: inactive recipient: ${said}`, unknownMailbox: true };
      }
      const id = field(answer.json, 'MessageID');
      return { kind: 'sent', response: `${status} accepted by Postmark${id ? `, MessageID ${id}` : ''}`, ...(id ? { providerId: id } : {}) };
    }
    if (status === 429) return { kind: 'throttled', until: rateLimitUntil(answer.headers, this.now(), 1000), error: `rate limited by Postmark: ${text}` };
    if (status === 401) return { kind: 'unavailable', error: `Postmark refused the server token: ${text}` };
    if (status === 404) return { kind: 'unavailable', error: `Postmark: no such API at ${this.api.endpoint}: ${text}` };
    if (status >= 500) return { kind: 'retry', error: `Postmark: ${text}` };
    if (code === 406) return { kind: 'failed', error: `Postmark: inactive recipient (hard bounce or spam complaint): ${said}`, unknownMailbox: true };
    if (ACCOUNT_CODES.has(code)) return { kind: 'unavailable', error: `Postmark: ${text}` };
    if (code === 300 && /^(Invalid|Error\s+parsing)\s+'(From|Reply-?To)'/i.test(said)) return { kind: 'unavailable', error: `Postmark refused the sender: ${text}` };
    return { kind: 'failed', error: `Postmark: ${text}`, unknownMailbox: false };
  }
}

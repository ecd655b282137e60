/**
 * Transports: one module per way of sending (smtp/, outbox, and the HTTPS email APIs), the
 * contract they share (./types.ts) and their URLs (./url.ts). Import from here.
 */
import { MailgunTransport } from './mailgun.js';
import { OutboxTransport } from './outbox.js';
import { PostmarkTransport } from './postmark.js';
import { ResendTransport } from './resend.js';
import { SendgridTransport } from './sendgrid.js';
import { SesTransport } from './ses.js';
import { SmtpTransport } from './smtp/transport.js';
import type { Transport, TransportConfig, TransportOptions } from './types.js';

export type {
  ApiConfig,
  ApiKind,
  MessageParts,
  OutgoingEnvelope,
  SendOutcome,
  Transport,
  TransportConfig,
  TransportKind,
  TransportOptions,
} from './types.js';
export { isLoopbackHost, parseTransportUrl, redactUrl } from './url.js';
export { smtpConnectionOptions } from './smtp/connection.js';
export { envelopeAddress } from './address.js';

export function createTransport(config: TransportConfig, options: TransportOptions = {}): Transport {
  switch (config.kind) {
    case 'outbox':
      return new OutboxTransport(config);
    case 'smtp':
    case 'smtps':
      return new SmtpTransport(config, options);
    case 'resend':
      return new ResendTransport(config, options);
    case 'postmark':
      return new PostmarkTransport(config, options);
    case 'sendgrid':
      return new SendgridTransport(config, options);
    case 'mailgun':
      return new MailgunTransport(config, options);
    case 'ses':
      return new SesTransport(config, options);
  }
}

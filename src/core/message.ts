/**
 * Turns a campaign and one recipient into the exact bytes that go to the server:
 * multipart/alternative (text + html), UTF-8, RFC 2047 subject, stable Message-ID,
 * List-Unsubscribe (+ one-click Post for https, RFC 8058), DKIM-signed when a signer is given.
 */
import { createHash } from 'node:crypto';
import addressparser from 'nodemailer/lib/addressparser/index.js';
import MailComposer from 'nodemailer/lib/mail-composer/index.js';
import type { DkimSigner } from './dkim.js';
import type { MessageParts } from './transport/types.js';
import type { Campaign, Recipient } from './types.js';
import { type CompiledTemplates, compileTemplates, headerSafe, render, type RenderedContent } from './templates.js';

export interface OutgoingMessage {
  messageId: string;
  from: string;
  /** The bare address of `from`, for MAIL FROM. */
  envelopeFrom: string;
  to: string;
  replyTo: string | null;
  subject: string;
  /**
   * RFC 5322 bytes, ready for DATA or an .eml file (DKIM-signed when the builder has a signer);
   * null when built with `mime: false` (for a transport that takes the parts).
   */
  raw: Buffer | null;
  content: RenderedContent;
  headers: Record<string, string>;
  /** The same message as fields, for the JSON email APIs: pass it as the envelope's `parts`. */
  parts: MessageParts;
}

export interface MessageBuilderOptions {
  /** Sign every message for its From domain (see dkim.ts `loadDkim`). */
  dkim?: DkimSigner | null;
}

function domainOf(address: string): string {
  const m = /@([^\s>]+)>?\s*$/.exec(address);
  return m ? m[1]!.toLowerCase() : 'aremko-mail.invalid';
}

/** Unique per recipient and campaign, and the same on every attempt for that recipient. */
export function messageIdFor(campaign: Pick<Campaign, 'id' | 'createdAt' | 'from'>, recipientId: number): string {
  return `<aremko.${campaign.id}.${recipientId}.${campaign.createdAt.toString(36)}@${domainOf(campaign.from)}>`;
}

/**
 * The idempotency key of a recipient's message: stable across attempts, runs and hosts (it is
 * derived from the Message-ID, itself unique per campaign and recipient), at most 256 characters
 * (Resend's limit).
 */
export function idempotencyKeyFor(campaign: Pick<Campaign, 'id' | 'createdAt' | 'from'>, recipientId: number): string {
  const key = `aremko-mail/${messageIdFor(campaign, recipientId).replace(/^<|>$/g, '')}`;
  return key.length <= 256 ? key : `aremko-mail/sha256-${createHash('sha256').update(key).digest('hex')}`;
}

/** The unsubscribe URL with `{{email}}` replaced by the URL-encoded address. */
export function unsubscribeUrlFor(template: string | null, email: string): string | null {
  if (!template) return null;
  return template.replace(/\{\{\s*email\s*\}\}/g, encodeURIComponent(email));
}

/** The fields a template sees: CSV columns (lower-case), `email`, and `unsubscribe_url`. */
export function templateContext(campaign: Pick<Campaign, 'unsubscribe'>, recipient: Pick<Recipient, 'email' | 'fields'>) {
  return {
    ...recipient.fields,
    email: recipient.email,
    unsubscribe_url: unsubscribeUrlFor(campaign.unsubscribe, recipient.email) ?? '',
  };
}

export class MessageBuilder {
  private readonly templates: CompiledTemplates;
  private readonly envelopeFrom: string;
  private readonly dkim: DkimSigner | null;

  constructor(
    private readonly campaign: Campaign,
    options: MessageBuilderOptions = {},
  ) {
    this.templates = compileTemplates(campaign);
    this.envelopeFrom = addressparser(campaign.from, { flatten: true })[0]?.address || campaign.from;
    this.dkim = options.dkim ?? null;
  }

  /**
   * The message for one recipient. `mime: false` skips composing (and signing) the RFC 5322 form,
   * most of a message's CPU, for a transport that sends the parts (Transport.takes).
   */
  async build(recipient: Pick<Recipient, 'id' | 'email' | 'fields'>, to = recipient.email, { mime = true }: { mime?: boolean } = {}): Promise<OutgoingMessage> {
    const c = this.campaign;
    const content = render(this.templates, templateContext(c, recipient));
    const messageId = messageIdFor(c, recipient.id);
    const headers: Record<string, string> = {};
    const unsubscribe = unsubscribeUrlFor(c.unsubscribe, recipient.email);
    if (unsubscribe) {
      headers['List-Unsubscribe'] = `<${headerSafe(unsubscribe)}>`;
      if (/^https:/i.test(unsubscribe)) headers['List-Unsubscribe-Post'] = 'List-Unsubscribe=One-Click';
    }
    const raw = mime ? await this.compose(to, content, messageId, headers) : null;
    const replyTo = c.replyTo ?? null;
    const parts: MessageParts = { from: c.from, to: headerSafe(to), replyTo, subject: content.subject, text: content.text, html: content.html, headers: { ...headers } };
    return { messageId, from: c.from, envelopeFrom: this.envelopeFrom, to, replyTo, subject: content.subject, raw, content, headers, parts };
  }

  private async compose(to: string, content: RenderedContent, messageId: string, headers: Record<string, string>): Promise<Buffer> {
    const c = this.campaign;
    const composer = new MailComposer({
      from: c.from,
      to: headerSafe(to),
      replyTo: c.replyTo ?? undefined,
      subject: content.subject,
      text: content.text,
      html: content.html,
      messageId,
      headers,
      textEncoding: 'quoted-printable',
    });
    const raw = await new Promise<Buffer>((resolve, reject) => composer.compile().build((err, buf) => (err ? reject(err) : resolve(buf))));
    return this.dkim ? this.dkim.sign(raw, domainOf(this.envelopeFrom)) : raw;
  }
}

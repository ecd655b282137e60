import { simpleParser, type ParsedMail } from 'mailparser';
import { describe, expect, it } from 'vitest';
import { idempotencyKeyFor, MessageBuilder, messageIdFor } from '../../src/core/message.js';
import type { Campaign } from '../../src/core/types.js';
import { settings } from '../helpers/store.js';

function campaign(overrides: Partial<Campaign> = {}): Campaign {
  return {
    ...settings({
      subject: 'Una tarde de tinajas para ti, {{nombre}}',
      html: '<p>Hola {{nombre}}, de {{comuna}}.</p><p><a href="{{unsubscribe_url}}">Darse de baja</a></p>',
      replyTo: 'reservas@aremko.cl',
      unsubscribe: 'https://aremko.cl/baja?email={{email}}',
    }),
    id: 7,
    status: 'draft',
    createdAt: Date.UTC(2026, 10, 27, 23, 0, 0),
    startedAt: null,
    completedAt: null,
    nextBatchAt: null,
    batchesSent: 0,
    batchClaimed: 0,
    lastError: null,
    ...overrides,
  };
}

const jose = { id: 41, email: 'jose.nunez@example.com', fields: { nombre: 'José Núñez', comuna: 'Ñuñoa' } };

async function buildAndParse(c: Campaign, recipient = jose) {
  const message = await new MessageBuilder(c).build(recipient);
  return { message, raw: message.raw.toString('latin1'), parsed: await simpleParser(message.raw) };
}

/** The top-level header block, folded lines joined (RFC 5322 unfolding). */
function headerBlock(raw: string): string {
  return raw.slice(0, raw.indexOf('\r\n\r\n')).replace(/\r\n[ \t]+/g, ' ');
}

/** The content types of the MIME tree, outermost first (read from the raw bytes). */
function contentTypes(raw: string): string[] {
  return [...raw.matchAll(/^Content-Type: ([^;\r\n]+)/gim)].map((m) => m[1]!.toLowerCase());
}

/** A header's unfolded value as mailparser read it (it folds List-* into a `list` object otherwise). */
function header(p: ParsedMail, name: string): string | undefined {
  const line = p.headerLines.find((h) => h.key === name.toLowerCase())?.line;
  return line?.slice(line.indexOf(':') + 1).replace(/\r?\n[ \t]+/g, ' ').trim();
}

describe('MessageBuilder', () => {
  it('builds multipart/alternative with a UTF-8 text and html part, accents intact', async () => {
    const { raw, parsed } = await buildAndParse(campaign());
    expect(contentTypes(raw)).toEqual(['multipart/alternative', 'text/plain', 'text/html']);
    expect(raw).toMatch(/Content-Type: text\/plain; charset=utf-8/i);
    expect(raw).toMatch(/Content-Type: text\/html; charset=utf-8/i);
    expect(raw).toMatch(/^MIME-Version: 1\.0/m);
    expect(parsed.text).toContain('Hola José Núñez, de Ñuñoa.');
    expect(parsed.html).toContain('<p>Hola José Núñez, de Ñuñoa.</p>');
    expect(parsed.from?.value[0]).toMatchObject({ name: 'Aremko Spa', address: 'hola@aremko.cl' });
    expect(parsed.to && !Array.isArray(parsed.to) ? parsed.to.value[0]!.address : null).toBe('jose.nunez@example.com');
    expect(parsed.replyTo?.value[0]!.address).toBe('reservas@aremko.cl');
  });

  it('with mime: false composes no MIME (for a transport that takes the parts); the parts are the same', async () => {
    const c = campaign();
    const full = await new MessageBuilder(c).build(jose);
    const partsOnly = await new MessageBuilder(c).build(jose, jose.email, { mime: false });
    expect(full.raw).toBeInstanceOf(Buffer);
    expect(partsOnly.raw).toBeNull();
    expect(partsOnly.parts).toEqual(full.parts);
    expect(partsOnly.messageId).toBe(full.messageId);
  });

  it('encodes an accented subject per RFC 2047 and it decodes back intact', async () => {
    const { raw, parsed } = await buildAndParse(campaign());
    const subjectLines = /^Subject: .*$/m.exec(headerBlock(raw))![0];
    // Only 7-bit bytes in the header, as encoded-words.
    expect(subjectLines).toMatch(/=\?UTF-8\?[QB]\?/i);
    expect(subjectLines).not.toMatch(/[^\x00-\x7f]/);
    expect(parsed.subject).toBe('Una tarde de tinajas para ti, José Núñez');
  });

  it('takes the envelope sender (MAIL FROM) from the From header, display name or not', async () => {
    expect((await new MessageBuilder(campaign({ from: '"Aremko Spa" <hola@aremko.cl>' })).build(jose)).envelopeFrom).toBe('hola@aremko.cl');
    expect((await new MessageBuilder(campaign({ from: 'hola@aremko.cl' })).build(jose)).envelopeFrom).toBe('hola@aremko.cl');
  });

  it('gives a Message-ID stable across builds and distinct per recipient and campaign', async () => {
    const c = campaign();
    const builder = new MessageBuilder(c);
    const first = await builder.build(jose);
    const again = await new MessageBuilder(c).build(jose);
    const other = await builder.build({ ...jose, id: 42, email: 'maria@example.com' });
    const otherCampaign = await new MessageBuilder(campaign({ id: 8 })).build(jose);
    expect(again.messageId).toBe(first.messageId);
    expect(other.messageId).not.toBe(first.messageId);
    expect(otherCampaign.messageId).not.toBe(first.messageId);
    expect(first.messageId).toBe(messageIdFor(c, jose.id));
    expect(first.messageId).toMatch(/^<[^<>@\s]+@aremko\.cl>$/);
    expect((await simpleParser(first.raw)).messageId).toBe(first.messageId);
  });

  it('adds List-Unsubscribe and the one-click Post header for an https URL, address URL-encoded', async () => {
    const { parsed } = await buildAndParse(campaign(), { ...jose, email: 'a+b@x.com' });
    expect(header(parsed, 'List-Unsubscribe')).toBe('<https://aremko.cl/baja?email=a%2Bb%40x.com>');
    expect(header(parsed, 'List-Unsubscribe-Post')).toBe('List-Unsubscribe=One-Click');
    // {{unsubscribe_url}} in the body is the same URL.
    expect(parsed.html).toContain('https://aremko.cl/baja?email');
    expect(parsed.text).toContain('https://aremko.cl/baja?email=a%2Bb%40x.com');
  });

  it('treats an upper-case HTTPS URL as https (one-click Post header)', async () => {
    const { parsed } = await buildAndParse(campaign({ unsubscribe: 'HTTPS://aremko.cl/baja?e={{email}}' }));
    expect(header(parsed, 'List-Unsubscribe-Post')).toBe('List-Unsubscribe=One-Click');
  });

  it('adds List-Unsubscribe without a Post header for mailto', async () => {
    const { parsed } = await buildAndParse(campaign({ unsubscribe: 'mailto:baja@aremko.cl?subject=baja%20{{email}}' }));
    expect(header(parsed, 'List-Unsubscribe')).toBe('<mailto:baja@aremko.cl?subject=baja%20jose.nunez%40example.com>');
    expect(header(parsed, 'List-Unsubscribe-Post')).toBeUndefined();
  });

  it('has no List-Unsubscribe header without --unsubscribe', async () => {
    const { parsed } = await buildAndParse(campaign({ unsubscribe: null }));
    expect(header(parsed, 'List-Unsubscribe')).toBeUndefined();
    expect(header(parsed, 'List-Unsubscribe-Post')).toBeUndefined();
  });

  it('lets no field value add a header', async () => {
    const evil = { id: 43, email: 'ana@example.com', fields: { nombre: 'Ana\r\nBcc: evil@x.com\r\nX-Evil: 1', comuna: 'Peñalolén\r\n\r\n<b>body</b>' } };
    const { raw, parsed } = await buildAndParse(
      campaign({ subject: 'Hola {{nombre}} de {{comuna}}', unsubscribe: 'https://aremko.cl/baja?email={{email}}' }),
      evil,
    );
    expect(header(parsed, 'bcc')).toBeUndefined();
    expect(header(parsed, 'x-evil')).toBeUndefined();
    expect(parsed.bcc).toBeUndefined();
    expect(headerBlock(raw)).not.toMatch(/^(Bcc|X-Evil):/im);
    expect(parsed.headerLines.map((h) => h.key).sort()).toEqual(
      ['content-type', 'date', 'from', 'list-unsubscribe', 'list-unsubscribe-post', 'message-id', 'mime-version', 'reply-to', 'subject', 'to'],
    );
    expect(parsed.subject).toBe('Hola Ana Bcc: evil@x.com X-Evil: 1 de Peñalolén <b>body</b>');
  });

  it('gives the same message as fields (parts) for the JSON APIs: what the MIME says, headers included', async () => {
    const { message, parsed } = await buildAndParse(campaign());
    expect(message.parts).toEqual({
      from: 'Aremko Spa <hola@aremko.cl>',
      to: 'jose.nunez@example.com',
      replyTo: 'reservas@aremko.cl',
      subject: 'Una tarde de tinajas para ti, José Núñez',
      text: expect.stringContaining('Hola José Núñez, de Ñuñoa.'),
      html: expect.stringContaining('<p>Hola José Núñez, de Ñuñoa.</p>'),
      headers: { 'List-Unsubscribe': '<https://aremko.cl/baja?email=jose.nunez%40example.com>', 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' },
    });
    expect(parsed.subject).toBe(message.parts.subject);
    expect(parsed.text?.trim()).toBe(message.parts.text.trim());
  });
});

describe('idempotencyKeyFor', () => {
  it('is stable per campaign and recipient, distinct otherwise, and at most 256 characters', () => {
    const c = campaign();
    expect(idempotencyKeyFor(c, 41)).toBe(idempotencyKeyFor({ ...c }, 41));
    expect(idempotencyKeyFor(c, 41)).toBe(`aremko-mail/${messageIdFor(c, 41).slice(1, -1)}`);
    expect(idempotencyKeyFor(c, 42)).not.toBe(idempotencyKeyFor(c, 41));
    expect(idempotencyKeyFor(campaign({ id: 8 }), 41)).not.toBe(idempotencyKeyFor(c, 41));
    const long = campaign({ from: `x@${'a'.repeat(60)}.${'b'.repeat(60)}.${'c'.repeat(60)}.${'d'.repeat(60)}.cl` });
    expect(idempotencyKeyFor(long, 41).length).toBeLessThanOrEqual(256);
    expect(idempotencyKeyFor(long, 41)).toBe(idempotencyKeyFor(long, 41));
    expect(idempotencyKeyFor(long, 41)).not.toBe(idempotencyKeyFor(long, 42));
  });
});

/** Envelope addresses in RFC 5321 form (issue 8 item 5), on their own and through real SMTP servers. */
import { describe, expect, it } from 'vitest';
import { envelopeAddress } from '../../../src/core/transport/index.js';
import { helpers, lineSmtp, message, useCleanups } from './fixtures.js';

const cleanup = useCleanups();
const { server, transport } = helpers(cleanup);

describe('envelopeAddress', () => {
  it('keeps dot-atoms and quoted local parts as they are, and takes the address out of "Name <addr>"', () => {
    expect(envelopeAddress('ana@x.test')).toEqual({ ok: true, address: 'ana@x.test', smtputf8: false });
    expect(envelopeAddress('"john doe"@x.test')).toEqual({ ok: true, address: '"john doe"@x.test', smtputf8: false });
    expect(envelopeAddress('"a\\"b"@x.test')).toEqual({ ok: true, address: '"a\\"b"@x.test', smtputf8: false });
    expect(envelopeAddress('"Aremko Spa" <hola@aremko.cl>')).toEqual({ ok: true, address: 'hola@aremko.cl', smtputf8: false });
    expect(envelopeAddress('Juan <"juan perez"@x.test>')).toEqual({ ok: true, address: '"juan perez"@x.test', smtputf8: false });
  });

  it('quotes a local part that needs quoting but lost its quotes, instead of sending it bare', () => {
    expect(envelopeAddress('john doe@x.test')).toEqual({ ok: true, address: '"john doe"@x.test', smtputf8: false });
    expect(envelopeAddress('a..b@x.test')).toEqual({ ok: true, address: '"a..b"@x.test', smtputf8: false });
  });

  it('turns an internationalized domain into punycode, and flags a non-ASCII local part', () => {
    expect(envelopeAddress('ana@ñandú.cl')).toEqual({ ok: true, address: 'ana@xn--and-6ma2c.cl', smtputf8: false });
    expect(envelopeAddress('josé@ñandú.cl')).toEqual({ ok: true, address: 'josé@xn--and-6ma2c.cl', smtputf8: true });
    expect(envelopeAddress('ana@[192.0.2.1]')).toEqual({ ok: true, address: 'ana@[192.0.2.1]', smtputf8: false });
  });

  it('refuses what is no address, naming it', () => {
    for (const bad of ['', 'ana', '@x.test', 'ana@', 'ana@bad domain', 'a\r\nb@x.test', 'ana@x..test']) {
      const r = envelopeAddress(bad);
      expect(r.ok, bad).toBe(false);
    }
  });
});

/** A line-level SMTP server that records every command verbatim (smtp-server re-parses addresses). */
const recordingSmtp = () =>
  lineSmtp(cleanup, '220 recorder ESMTP', (line) =>
    /^EHLO/i.test(line) ? '250-recorder\r\n250 8BITMIME' : /^DATA/i.test(line) ? '354 go on' : line === '.' ? '250 queued' : /^QUIT/i.test(line) ? '221 bye' : '250 ok',
  );

describe('SMTP envelope addresses (RFC 5321)', () => {
  it('a quoted local part goes out quoted: RCPT TO:<"john doe"@x.test>, and the message is sent', async () => {
    const rec = await recordingSmtp();
    const outcome = await transport(`smtp://127.0.0.1:${rec.port}`).send(message('"john doe"@x.test'));
    expect(outcome).toMatchObject({ kind: 'sent' });
    expect(rec.lines).toContain('RCPT TO:<"john doe"@x.test>');
    expect(rec.lines.find((l) => l.startsWith('MAIL FROM'))).toMatch(/^MAIL FROM:<news@example\.test>/);
  });

  it('an IDN domain goes out as punycode, without SMTPUTF8, to a server that does not offer it', async () => {
    const smtp = await server({ smtputf8: false });
    const m = message('ana@ñandú.cl');
    expect(await transport(smtp.url).send(m)).toMatchObject({ kind: 'sent' });
    expect(smtp.countFor(m.messageId)).toBe(1);
    const rec = await recordingSmtp();
    await transport(`smtp://127.0.0.1:${rec.port}`).send(message('ana@ñandú.cl'));
    expect(rec.lines).toContain('RCPT TO:<ana@xn--and-6ma2c.cl>');
    expect(rec.lines.find((l) => l.startsWith('MAIL FROM'))).not.toMatch(/SMTPUTF8/);
  });

  it('a non-ASCII local part goes with SMTPUTF8 to a server that offers it', async () => {
    const smtp = await server({ smtputf8: true });
    const m = message('josé@ñandú.cl');
    expect(await transport(smtp.url).send(m)).toMatchObject({ kind: 'sent' });
    expect(smtp.countFor(m.messageId)).toBe(1);
    expect(smtp.commands.find((c) => c.command === 'MAIL FROM')?.args).toMatchObject({ SMTPUTF8: true });
    expect(smtp.commands.find((c) => c.command === 'RCPT TO')?.address).toMatch(/^josé@/);
  });

  it('a non-ASCII local part to a server without SMTPUTF8: failed, saying why; nothing of it sent; the next message goes', async () => {
    const smtp = await server({ smtputf8: false });
    const t = transport(smtp.url);
    const outcome = await t.send(message('josé@x.test'));
    expect(outcome).toEqual({ kind: 'failed', error: expect.stringMatching(/josé@x\.test .*non-ASCII.*SMTPUTF8/), unknownMailbox: false });
    expect(smtp.stats.mailFrom).toBe(0);
    expect(smtp.stats.rcptTo).toBe(0);
    expect(await t.send(message('ana@x.test'))).toMatchObject({ kind: 'sent' });
    expect(smtp.stats.connections).toBe(1);
  });

  it('a non-ASCII sender to a server without SMTPUTF8 is a campaign-level stop (unavailable), not a failed recipient', async () => {
    const smtp = await server({ smtputf8: false });
    const m = { ...message('ana@x.test'), from: 'josé@aremko.cl' };
    expect(await transport(smtp.url).send(m)).toEqual({ kind: 'unavailable', error: expect.stringMatching(/sender josé@aremko\.cl .*SMTPUTF8/) });
    expect(smtp.stats.mailFrom).toBe(0);
  });

  it('an address that is none: failed with the reason, nothing sent', async () => {
    const smtp = await server();
    expect(await transport(smtp.url).send(message('ana@bad domain'))).toMatchObject({ kind: 'failed', unknownMailbox: false });
    expect(smtp.stats.mailFrom).toBe(0);
  });
});

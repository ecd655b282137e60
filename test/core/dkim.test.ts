/**
 * DKIM: loading the key (one-line refusals), and signatures checked by an independent verifier
 * (mailauth's dkimVerify, the public key served by a resolver stub) — rsa-sha256 and
 * ed25519-sha256, on messages that went through the real SMTP path (smtp-server) and the outbox.
 */
import { generateKeyPairSync } from 'node:crypto';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { loadDkim } from '../../src/core/dkim.js';
import { MessageBuilder } from '../../src/core/message.js';
import { createTransport, parseTransportUrl } from '../../src/core/transport/index.js';
import type { Campaign } from '../../src/core/types.js';
import { makeKey, relaxedBodyHash, signatureTags, verifyDkim } from '../helpers/dkim.js';
import { startTestSmtp } from '../helpers/smtp-server.js';
import { settings } from '../helpers/store.js';

const dir = mkdtempSync(join(tmpdir(), 'aremko-dkim-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const campaign: Campaign = {
  ...settings({ subject: 'Hola {{nombre}} — tinajas', from: 'Aremko Spa <hola@aremko.cl>', unsubscribe: 'https://aremko.cl/baja?e={{email}}' }),
  id: 3,
  status: 'sending',
  createdAt: Date.UTC(2026, 10, 1),
  startedAt: null,
  completedAt: null,
  nextBatchAt: null,
  batchesSent: 0,
  batchClaimed: 0,
  lastError: null,
};
const recipient = { id: 9, email: 'ana@example.test', fields: { nombre: 'Ana Núñez' } };

describe('loadDkim', () => {
  it('nothing set: no signing', () => {
    expect(loadDkim({}, {})).toBeNull();
  });

  it('a flag beats its environment variable; the algorithm follows the key', () => {
    const rsa = makeKey(dir, 'rsa');
    const ed = makeKey(dir, 'ed25519');
    const fromEnv = loadDkim({}, { AREMKO_MAIL_DKIM_KEY: ed.file, AREMKO_MAIL_DKIM_SELECTOR: 'env2026' });
    expect(fromEnv).toMatchObject({ algorithm: 'ed25519-sha256', selector: 'env2026', keyFile: ed.file });
    const fromFlags = loadDkim({ dkimKey: rsa.file, dkimSelector: 'flag2026' }, { AREMKO_MAIL_DKIM_KEY: ed.file, AREMKO_MAIL_DKIM_SELECTOR: 'env2026' });
    expect(fromFlags).toMatchObject({ algorithm: 'rsa-sha256', selector: 'flag2026' });
    expect(loadDkim({ dkimKey: makeKey(dir, 'rsa', true).file, dkimSelector: 's' }, {})?.algorithm).toBe('rsa-sha256'); // BEGIN RSA PRIVATE KEY
  });

  it('never shows the key: not when logged, not when serialised', () => {
    const key = makeKey(dir, 'rsa');
    const signer = loadDkim({ dkimKey: key.file, dkimSelector: 's1' }, {})!;
    const pem = readFileSync(key.file, 'utf-8');
    const body = pem.split('\n')[1]!;
    for (const shown of [inspect(signer, { showHidden: true, depth: 5 }), JSON.stringify(signer), String(Object.values(signer))]) {
      expect(shown).not.toContain(body);
      expect(shown).not.toContain('PRIVATE KEY');
    }
  });

  it('refuses, in one line naming the problem (exit 2)', () => {
    const rsa = makeKey(dir, 'rsa');
    const pub = join(dir, 'public.pem');
    writeFileSync(pub, rsa.publicKey.export({ type: 'spki', format: 'pem' }));
    const junk = join(dir, 'junk.pem');
    writeFileSync(junk, 'not a key\n');
    const small = join(dir, 'small.pem');
    writeFileSync(small, generateKeyPairSync('rsa', { modulusLength: 512 }).privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const ec = join(dir, 'ec.pem');
    writeFileSync(ec, generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const locked = join(dir, 'locked.pem');
    writeFileSync(locked, readFileSync(rsa.file));
    chmodSync(locked, 0o000);
    const cases: Array<[Parameters<typeof loadDkim>[0], RegExp]> = [
      [{ dkimKey: rsa.file }, /key is set but no selector.*--dkim-selector.*AREMKO_MAIL_DKIM_SELECTOR/],
      [{ dkimSelector: 's1' }, /selector is set but no key.*--dkim-key/],
      [{ dkimKey: join(dir, 'missing.pem'), dkimSelector: 's1' }, /cannot read the DKIM key .*missing\.pem: no such file/],
      [{ dkimKey: dir, dkimSelector: 's1' }, /cannot read the DKIM key .*: it is a folder/],
      [{ dkimKey: pub, dkimSelector: 's1' }, /public\.pem is not a private key/],
      [{ dkimKey: junk, dkimSelector: 's1' }, /junk\.pem is not a private key/],
      [{ dkimKey: small, dkimSelector: 's1' }, /RSA key of 512 bits/],
      [{ dkimKey: ec, dkimSelector: 's1' }, /is an ec key: DKIM signs with RSA .* or Ed25519/],
      [{ dkimKey: rsa.file, dkimSelector: 'bad selector!' }, /is not a DNS name/],
    ];
    if (process.getuid?.() !== 0) cases.push([{ dkimKey: locked, dkimSelector: 's1' }, /cannot read the DKIM key .*locked\.pem: permission denied/]);
    for (const [flags, why] of cases) {
      let error: Error | null = null;
      try {
        loadDkim(flags, {});
      } catch (err) {
        error = err as Error;
      }
      expect(error?.name, JSON.stringify(flags)).toBe('ConfigError');
      expect(error!.message).toMatch(why);
      expect(error!.message).not.toMatch(/\n/);
    }
  });
});

describe.each(['rsa', 'ed25519'] as const)('DKIM signatures (%s), checked by mailauth against the published key', (type) => {
  const key = makeKey(dir, type);
  const selector = `sel-${type}`;
  const dns = { [`${selector}._domainkey.aremko.cl`]: key.record };
  const builder = () => new MessageBuilder(campaign, { dkim: loadDkim({ dkimKey: key.file, dkimSelector: selector }, {}) });

  it('signs relaxed/relaxed for the From domain, covering From, Subject, Message-ID, List-Unsubscribe(-Post); the body hash is right', async () => {
    const { raw } = await builder().build(recipient);
    expect(await verifyDkim(raw, dns)).toEqual([
      { result: 'pass', domain: 'aremko.cl', selector, algorithm: `${type}-sha256`, canonicalization: 'relaxed/relaxed' },
    ]);
    const tags = signatureTags(raw);
    expect(tags).toMatchObject({ a: `${type}-sha256`, c: 'relaxed/relaxed', d: 'aremko.cl', s: selector });
    const signed = tags.h!.toLowerCase().split(':');
    for (const h of ['from', 'to', 'subject', 'date', 'message-id', 'mime-version', 'content-type', 'list-unsubscribe', 'list-unsubscribe-post']) expect(signed).toContain(h);
    expect(tags.bh).toBe(relaxedBodyHash(raw));
  });

  it('a message changed after signing fails; so does a key that is not the published one', async () => {
    const { raw } = await builder().build(recipient);
    const tampered = Buffer.from(raw.toString('latin1').replace('Ana', 'Eva'), 'latin1');
    expect((await verifyDkim(tampered, dns))[0]!.result).toBe('fail');
    const other = makeKey(dir, type);
    expect((await verifyDkim(raw, { [`${selector}._domainkey.aremko.cl`]: other.record }))[0]!.result).toBe('fail');
  });

  it('passes after the real SMTP path (smtp-server received it)', async () => {
    const smtp = await startTestSmtp();
    const t = createTransport(parseTransportUrl(smtp.url));
    try {
      const m = await builder().build(recipient);
      expect(await t.send({ from: m.envelopeFrom, to: recipient.email, raw: m.raw, messageId: m.messageId })).toMatchObject({ kind: 'sent' });
      const received = smtp.received[0]!.raw;
      expect(await verifyDkim(received, dns)).toMatchObject([{ result: 'pass' }]);
    } finally {
      await t.close();
      await smtp.close();
    }
  });

  it('passes when read back from the outbox', async () => {
    const out = join(dir, `outbox-${type}`);
    const t = createTransport(parseTransportUrl(`outbox:${out}`));
    const m = await builder().build(recipient);
    expect(await t.send({ from: m.envelopeFrom, to: recipient.email, raw: m.raw, messageId: m.messageId })).toMatchObject({ kind: 'sent' });
    const [file] = readdirSync(out);
    expect(await verifyDkim(readFileSync(join(out, file!)), dns)).toMatchObject([{ result: 'pass' }]);
  });
});

describe('MessageBuilder without DKIM', () => {
  it('adds no signature', async () => {
    const { raw } = await new MessageBuilder(campaign).build(recipient);
    expect(raw.toString('latin1')).not.toMatch(/^DKIM-Signature:/im);
  });
});

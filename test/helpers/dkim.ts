/**
 * DKIM test keys and an independent verifier: mailauth's `dkimVerify`, given the public key
 * through a resolver stub that plays the DNS TXT record `<selector>._domainkey.<domain>`.
 */
import { createHash, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { dkimVerify } from 'mailauth/lib/dkim/verify.js';

export interface TestKey {
  type: 'rsa' | 'ed25519';
  /** the private key file (PEM) */
  file: string;
  publicKey: KeyObject;
  /** the TXT record value: v=DKIM1; k=…; p=… */
  record: string;
}

/** A key pair; the private key written to `dir` as PEM (PKCS#8, or PKCS#1 for `legacyRsaPem`). */
export function makeKey(dir: string, type: 'rsa' | 'ed25519', legacyRsaPem = false): TestKey {
  const { privateKey, publicKey } = type === 'rsa' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ed25519');
  const file = join(dir, `dkim-${type}-${Math.random().toString(36).slice(2)}.pem`);
  writeFileSync(file, privateKey.export({ type: legacyRsaPem && type === 'rsa' ? 'pkcs1' : 'pkcs8', format: 'pem' }), { mode: 0o600 });
  const der = publicKey.export({ type: 'spki', format: 'der' });
  // RFC 8463: an Ed25519 record holds the bare 32-byte key; RSA, the SubjectPublicKeyInfo
  const p = type === 'ed25519' ? der.subarray(der.length - 32).toString('base64') : der.toString('base64');
  return { type, file, publicKey, record: `v=DKIM1; k=${type}; p=${p}` };
}

/** Verifies every DKIM signature of `raw` with `records` as the only DNS: name → TXT value. */
export async function verifyDkim(raw: Buffer, records: Record<string, string>) {
  const resolver = async (name: string, rrtype: string) => {
    const value = rrtype === 'TXT' ? records[name.toLowerCase()] : undefined;
    if (value === undefined) throw Object.assign(new Error(`no ${rrtype} record for ${name}`), { code: 'ENOTFOUND' });
    return [[value]];
  };
  const result = await dkimVerify(raw, { resolver });
  // (the fields as mailauth 4.13 sets them: `algo`, `format`; its .d.ts names them otherwise)
  return result.results.map((r) => {
    const x = r as unknown as { status: { result: string }; signingDomain: string; selector: string; algo: string; format: string };
    return { result: x.status.result, domain: x.signingDomain, selector: x.selector, algorithm: x.algo, canonicalization: x.format };
  });
}

/** The DKIM-Signature tags of the first signature (unfolded). */
export function signatureTags(raw: Buffer): Record<string, string> {
  const text = raw.toString('latin1');
  const head = text.slice(0, text.search(/\r\n\r\n/)).replace(/\r\n[ \t]+/g, ' ');
  const line = /^DKIM-Signature:\s*(.*)$/im.exec(head)?.[1] ?? '';
  return Object.fromEntries(line.split(';').map((kv) => kv.trim()).filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf('=')).trim(), kv.slice(kv.indexOf('=') + 1).replace(/\s+/g, '')]));
}

/** The relaxed body hash (RFC 6376 3.4.4), computed here, independently of any DKIM library. */
export function relaxedBodyHash(raw: Buffer): string {
  const text = raw.toString('binary');
  let body = text.slice(text.indexOf('\r\n\r\n') + 4);
  body = body
    .split('\r\n')
    .map((line) => line.replace(/[ \t]+/g, ' ').replace(/ $/, ''))
    .join('\r\n')
    .replace(/(\r\n)*$/, '');
  if (body.length) body += '\r\n';
  return createHash('sha256').update(Buffer.from(body, 'binary')).digest('base64');
}

/**
 * DKIM signing (RFC 6376; Ed25519: RFC 8463) of every message we compose: relaxed/relaxed,
 * rsa-sha256 or ed25519-sha256 chosen from the key, for the From domain, with the selector the
 * operator gives. The signature is made by mailauth's signer (nodemailer's signs RSA only).
 *
 * The private key is read from its file when the command starts, held in this process only
 * (never stored in the database, never printed: `DkimSigner` shows nothing of it when logged or
 * serialised).
 */
import type { KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { domainToASCII } from 'node:url';
import { inspect } from 'node:util';
import { ConfigError } from './types.js';

export type DkimAlgorithm = 'rsa-sha256' | 'ed25519-sha256';

/**
 * The headers signed when present: RFC 6376's recommended set, plus List-Unsubscribe and
 * List-Unsubscribe-Post, which RFC 8058 requires to be covered for one-click unsubscribe.
 */
const SIGNED_HEADERS = [
  'From',
  'Reply-To',
  'Subject',
  'Date',
  'Message-ID',
  'To',
  'Cc',
  'MIME-Version',
  'Content-Type',
  'Content-Transfer-Encoding',
  'In-Reply-To',
  'References',
  'List-Unsubscribe',
  'List-Unsubscribe-Post',
].join(':');

/** A DKIM selector: one or more DNS labels. */
const SELECTOR = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

type SignFn = (input: Buffer, options: Record<string, unknown>) => Promise<{ signatures: string; errors?: unknown[] | null }>;
let signer: Promise<SignFn> | null = null;
/** mailauth is loaded only by a process that signs. */
function loadSigner(): Promise<SignFn> {
  signer ??= import('mailauth/lib/dkim/sign.js').then((m) => (m as unknown as { dkimSign: SignFn }).dkimSign);
  return signer;
}

export class DkimSigner {
  readonly algorithm: DkimAlgorithm;
  readonly selector: string;
  /** the key file, for messages */
  readonly keyFile: string;
  readonly #pem: string;

  constructor(key: KeyObject, selector: string, keyFile: string) {
    this.algorithm = key.asymmetricKeyType === 'ed25519' ? 'ed25519-sha256' : 'rsa-sha256';
    this.selector = selector;
    this.keyFile = keyFile;
    this.#pem = key.export({ type: 'pkcs8', format: 'pem' }).toString();
  }

  /** The message with a DKIM-Signature header for `fromDomain` prepended. */
  async sign(raw: Buffer, fromDomain: string): Promise<Buffer> {
    const domain = domainToASCII(fromDomain.toLowerCase());
    if (!domain) throw new Error(`cannot DKIM-sign for the domain "${fromDomain}"`);
    const dkimSign = await loadSigner();
    const result = await dkimSign(raw, {
      canonicalization: 'relaxed/relaxed',
      algorithm: this.algorithm,
      headerList: SIGNED_HEADERS,
      signatureData: [{ signingDomain: domain, selector: this.selector, privateKey: this.#pem, algorithm: this.algorithm, canonicalization: 'relaxed/relaxed' }],
    });
    const errors = result.errors ?? [];
    if (errors.length || !result.signatures.trim()) {
      throw new Error(`DKIM signing failed: ${errors.map((e) => (e as Error)?.message ?? String(e)).join('; ') || 'no signature made'}`);
    }
    return Buffer.concat([Buffer.from(result.signatures, 'utf-8'), raw]);
  }

  /** Logged or serialised, a signer shows what it signs with, never the key. */
  toJSON(): Record<string, string> {
    return { algorithm: this.algorithm, selector: this.selector, keyFile: this.keyFile };
  }

  [inspect.custom](): string {
    return `DkimSigner(${this.algorithm}, selector ${this.selector}, key ${this.keyFile})`;
  }
}

export interface DkimFlags {
  /** --dkim-key <pem-file> */
  dkimKey?: string;
  /** --dkim-selector <s> */
  dkimSelector?: string;
}

function unreadable(file: string, err: NodeJS.ErrnoException): ConfigError {
  const why: Record<string, string> = { ENOENT: 'no such file', EACCES: 'permission denied', EPERM: 'permission denied', EISDIR: 'it is a folder' };
  return new ConfigError(`cannot read the DKIM key ${file}: ${why[err.code ?? ''] ?? err.message}`);
}

/**
 * The signer `--dkim-key` / `AREMKO_MAIL_DKIM_KEY` and `--dkim-selector` /
 * `AREMKO_MAIL_DKIM_SELECTOR` ask for (a flag beats its environment variable), or null when
 * neither is set. Throws ConfigError (exit 2) with one line naming the problem: a half-given
 * pair, an unreadable file, a file that holds no private key, a key DKIM cannot use.
 */
export function loadDkim(flags: DkimFlags = {}, env: NodeJS.ProcessEnv = process.env): DkimSigner | null {
  const keyPath = flags.dkimKey || env.AREMKO_MAIL_DKIM_KEY || '';
  const selector = (flags.dkimSelector || env.AREMKO_MAIL_DKIM_SELECTOR || '').trim();
  if (!keyPath && !selector) return null;
  if (!keyPath) throw new ConfigError('a DKIM selector is set but no key: pass --dkim-key <pem-file> or set AREMKO_MAIL_DKIM_KEY');
  if (!selector) throw new ConfigError('a DKIM key is set but no selector: pass --dkim-selector <s> or set AREMKO_MAIL_DKIM_SELECTOR');
  if (!SELECTOR.test(selector)) throw new ConfigError(`the DKIM selector "${selector.slice(0, 80)}" is not a DNS name (letters, digits, hyphens, dots)`);
  const file = resolve(keyPath);
  let pem: Buffer;
  try {
    pem = readFileSync(file);
  } catch (err) {
    throw unreadable(file, err as NodeJS.ErrnoException);
  }
  let key: KeyObject;
  try {
    // node:crypto is loaded here, not imported: it costs ~10 ms to load, and every `run` reads
    // its DKIM configuration at start, most of them with no key at all.
    key = process.getBuiltinModule('node:crypto').createPrivateKey({ key: pem, format: 'pem' });
  } catch {
    throw new ConfigError(`the DKIM key ${file} is not a private key in PEM form (-----BEGIN PRIVATE KEY----- or -----BEGIN RSA PRIVATE KEY-----)`);
  }
  const type = key.asymmetricKeyType;
  if (type === 'rsa') {
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits < 1024) throw new ConfigError(`the DKIM key ${file} is an RSA key of ${bits} bits: verifiers refuse keys under 1024 bits (use 2048)`);
  } else if (type !== 'ed25519') {
    throw new ConfigError(`the DKIM key ${file} is an ${type ?? 'unknown'} key: DKIM signs with RSA (rsa-sha256) or Ed25519 (ed25519-sha256)`);
  }
  return new DkimSigner(key, selector, file);
}

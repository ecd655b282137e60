/**
 * TLS to PostgreSQL: what each `sslmode` asks of postgres.js, and what an operator is told when
 * TLS is why a connection failed. postgres.js and `pg` read `sslmode=require` differently; ours
 * is libpq's, written out here:
 *   disable      plain TCP
 *   prefer       TLS when the server offers it, else plain (libpq's default; ours when absent)
 *   require      TLS, the certificate not verified — unless `sslrootcert` names a CA: then, as
 *                libpq does, verified as with verify-ca
 *   verify-ca    TLS, the certificate verified against `sslrootcert` (or the system's CAs), its
 *                host name not
 *   verify-full  TLS, certificate and host name verified
 * `sslcert` + `sslkey`: a client certificate for a server that logs in by certificate; TLS is
 * then required whatever the mode (but disable, refused when the URL is parsed).
 * Over a Unix socket there is no TLS, whatever the mode: the server offers none there, and libpq
 * ignores sslmode for sockets too.
 */
import { readFileSync, statSync } from 'node:fs';
import { connect as connectTcp, isIP } from 'node:net';
import { createSecureContext } from 'node:tls';
import type postgres from 'postgres';
import { ConfigError } from '../types.js';

export const SSL_MODES = ['disable', 'prefer', 'require', 'verify-ca', 'verify-full'] as const;
export type SslMode = (typeof SSL_MODES)[number];

interface TlsTarget {
  host: string;
  port: number;
  sslmode: SslMode;
  sslrootcert: string | null;
  sslcert: string | null;
  sslkey: string | null;
  socket: string | null;
}

/** A file the URL names, read now; an error names the option and the file, never what is in it. */
function pem(option: 'sslrootcert' | 'sslcert' | 'sslkey', file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`--db: cannot read ${option} ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/**
 * The client's certificate and key, checked to belong together now: postgres.js would meet a
 * bad pair only inside its connection attempt, where the error escapes it (an unhandled
 * rejection) and the attempt waits for its timeout.
 */
function clientCertificate(certFile: string, keyFile: string): { cert: string; key: string } {
  const pair = { cert: pem('sslcert', certFile), key: pem('sslkey', keyFile) };
  if (!pair.cert.includes('-----BEGIN CERTIFICATE-----')) throw new ConfigError(`--db: sslcert ${certFile} holds no certificate (PEM: -----BEGIN CERTIFICATE-----)`);
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pair.key)) throw new ConfigError(`--db: sslkey ${keyFile} holds no private key (PEM: -----BEGIN PRIVATE KEY-----)`);
  keptPrivate(keyFile);
  try {
    createSecureContext(pair);
  } catch (err) {
    const e = err as { reason?: string; code?: string };
    throw new ConfigError(`--db: sslcert ${certFile} and sslkey ${keyFile} cannot be used: ${e.reason ?? e.code ?? 'refused by OpenSSL'}`);
  }
  return pair;
}

/**
 * libpq's rule for the key file, so that a key others can read is refused here as it would be by
 * psql: owned by whoever runs the tool, no access for group or others (0600 or less); owned by
 * root, at most readable by its group (0640).
 */
function keptPrivate(keyFile: string): void {
  const { uid, mode } = statSync(keyFile);
  const open = uid === process.geteuid?.() ? mode & 0o077 : uid === 0 ? mode & 0o037 : 0;
  if (open)
    throw new ConfigError(
      `--db: sslkey ${keyFile} is open to other users (mode ${(mode & 0o777).toString(8).padStart(4, '0')}): chmod 600 it (libpq refuses such a key too)`,
    );
}

/** Whether a connection must be encrypted (so a server without TLS is refused). */
export function tlsRequired(loc: Pick<TlsTarget, 'sslmode' | 'sslcert' | 'socket'>): boolean {
  return loc.socket === null && loc.sslmode !== 'disable' && (loc.sslmode !== 'prefer' || loc.sslcert !== null);
}

export function sslOption(loc: TlsTarget): postgres.Options<{}>['ssl'] {
  if (loc.sslmode === 'disable' || loc.socket !== null) return false;
  const client = loc.sslcert && loc.sslkey ? clientCertificate(loc.sslcert, loc.sslkey) : {};
  const ca = loc.sslrootcert ? { ca: pem('sslrootcert', loc.sslrootcert) } : {};
  if (ca.ca !== undefined && !ca.ca.includes('-----BEGIN CERTIFICATE-----'))
    throw new ConfigError(`--db: sslrootcert ${loc.sslrootcert} holds no certificate (PEM: -----BEGIN CERTIFICATE-----)`);
  const verify = loc.sslmode === 'verify-full' ? 'full' : loc.sslmode === 'verify-ca' || (loc.sslmode === 'require' && loc.sslrootcert) ? 'ca' : 'none';
  if (verify === 'none') return loc.sslmode === 'prefer' && !loc.sslcert ? 'prefer' : { rejectUnauthorized: false, ...client };
  // The name checked against the certificate is `servername`, else `host`. A server name (SNI)
  // may not be an IP address (RFC 6066; Node warns on stderr): an IP goes as `host`.
  const name = isIP(loc.host) ? { host: loc.host } : { servername: loc.host };
  return {
    rejectUnauthorized: true,
    ...name,
    ...ca,
    ...client,
    ...(verify === 'ca' ? { checkServerIdentity: () => undefined } : {}),
  };
}

/** The certificate chains to no CA we were given (or, without sslrootcert, to none of the system's). */
const UNVERIFIED = new Set(['SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY']);

/** Why TLS failed, in the operator's words; null when `err` is not a TLS failure. */
export function tlsFault(err: unknown, host: string): string | null {
  const e = err as { code?: string; cert?: { subjectaltname?: string; subject?: { CN?: string } } };
  if (e.code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    const names = e.cert?.subjectaltname ?? (e.cert?.subject?.CN ? `CN=${e.cert.subject.CN}` : 'other names');
    return `the database's TLS certificate is not for ${host} (it names ${names}): connect by a name it holds`;
  }
  if (e.code === 'CERT_HAS_EXPIRED') return `the database's TLS certificate has expired`;
  if (e.code && UNVERIFIED.has(e.code))
    return `the database's TLS certificate could not be verified (${e.code}): give the CA that signed it as sslrootcert=<file>`;
  return null;
}

/**
 * Whether the server at host:port accepts TLS: PostgreSQL's SSLRequest, answered with one byte
 * ('S' yes, 'N' no); null when it cannot be asked (nothing listening, no answer in time).
 * postgres.js, told TLS is required, starts TLS whatever the answer, and the server hangs up:
 * asked only after such a failure, to say why.
 */
export function serverOffersTls(host: string, port: number, timeoutMs = 3_000): Promise<boolean | null> {
  return new Promise((resolve) => {
    const socket = connectTcp({ host, port });
    const done = (answer: boolean | null) => {
      socket.destroy();
      resolve(answer);
    };
    socket.setTimeout(timeoutMs, () => done(null));
    socket.once('error', () => done(null));
    socket.once('close', () => done(null));
    socket.once('data', (b) => done(b[0] === 0x53 ? true : b[0] === 0x4e ? false : null));
    // length 8, then the SSLRequest code 80877103 (1234 << 16 | 5679)
    socket.write(Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]));
  });
}

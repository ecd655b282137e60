/**
 * TLS to PostgreSQL: what each `sslmode` asks of postgres.js, and what an operator is told when
 * TLS is why a connection failed. postgres.js and `pg` read `sslmode=require` differently; ours
 * is libpq's, written out here:
 *   disable      plain TCP
 *   prefer       TLS when the server offers it, else plain (libpq's default; ours when absent)
 *   require      TLS, the certificate not verified
 *   verify-full  TLS, certificate and host name verified (`sslrootcert=<file>` for a private CA)
 */
import { readFileSync } from 'node:fs';
import { connect as connectTcp, isIP } from 'node:net';
import type postgres from 'postgres';
import { ConfigError } from '../types.js';

export const SSL_MODES = ['disable', 'prefer', 'require', 'verify-full'] as const;
export type SslMode = (typeof SSL_MODES)[number];

interface TlsTarget {
  host: string;
  port: number;
  sslmode: SslMode;
  sslrootcert: string | null;
}

export function sslOption(loc: TlsTarget): postgres.Options<{}>['ssl'] {
  switch (loc.sslmode) {
    case 'disable':
      return false;
    case 'prefer':
      return 'prefer';
    case 'require':
      return { rejectUnauthorized: false };
    case 'verify-full': {
      let ca: string | undefined;
      if (loc.sslrootcert) {
        try {
          ca = readFileSync(loc.sslrootcert, 'utf8');
        } catch (err) {
          throw new ConfigError(`--db: cannot read sslrootcert ${loc.sslrootcert}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
        }
      }
      // The name checked against the certificate is `servername`, else `host`. A server name
      // (SNI) may not be an IP address (RFC 6066; Node warns on stderr): an IP goes as `host`.
      const name = isIP(loc.host) ? { host: loc.host } : { servername: loc.host };
      return { rejectUnauthorized: true, ...name, ...(ca ? { ca } : {}) };
    }
  }
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
    return `the database's TLS certificate could not be verified (${e.code}); with sslmode=verify-full give its CA as sslrootcert=<file>`;
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

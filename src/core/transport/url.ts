/**
 * Transport URLs: parsing (every scheme) and redaction. A secret never leaves this module in
 * clear: every error names the URL by its redacted form, and a URL that cannot be understood is
 * not echoed beyond its scheme.
 */
import { resolve as resolvePath } from 'node:path';
import { ConfigError } from '../types.js';
import { API_SCHEMES, parseApiUrl, redactApiUrl } from './api-url.js';
import type { TransportConfig } from './types.js';
import { isLoopbackHost, MAX_POOL, parsePool } from './url-common.js';

export { isLoopbackHost, MAX_POOL };

export const URL_HELP =
  'expected smtp://[user:pass@]host[:port], smtps://[user:pass@]host[:port], outbox:<dir>, resend://<api-key>, ' +
  'postmark://<server-token>, sendgrid://<api-key>, mailgun://<api-key>@<domain> or ses://<access-key-id>:<secret>@<region>';

const SCHEME_SLASHES = /^([a-z][a-z0-9+.-]*:)\/\//i;
const SCHEME_ONLY = /^([a-z][a-z0-9+.-]*):/i;

/** smtp(s):// with the password (if any) replaced by `***`; works on URLs that do not parse, too. */
function redactSmtpUrl(url: string, scheme: string): string {
  try {
    const u = new URL(url);
    if (u.protocol.toLowerCase() === scheme.toLowerCase() && u.host) {
      if (!u.password) return url;
      const path = u.pathname === '/' ? '' : u.pathname;
      return `${scheme}//${u.username}:***@${u.host}${path}${u.search}${u.hash}`;
    }
  } catch {
    // fall through to the textual redaction
  }
  // Not parseable (e.g. an unencoded '/' or '#' in the password): redact everything between the
  // first ':' of the user info and the LAST '@'. Over-redacting a strange URL is fine.
  const start = scheme.length + 2;
  const rest = url.slice(start);
  const at = rest.lastIndexOf('@');
  if (at < 0) return url;
  const userinfo = rest.slice(0, at);
  const colon = userinfo.indexOf(':');
  if (colon < 0) return url;
  return `${url.slice(0, start)}${userinfo.slice(0, colon)}:***${rest.slice(at)}`;
}

/**
 * The URL with every secret replaced by `***`: SMTP passwords, API keys and tokens, the SES
 * secret. A URL of a scheme this tool does not know keeps only its scheme (`ftp://***`): its
 * other parts could be anything, a key included. A string that is no URL is returned as is.
 */
export function redactUrl(url: string): string {
  const withSlashes = SCHEME_SLASHES.exec(url);
  if (withSlashes) {
    const scheme = withSlashes[1]!;
    const name = scheme.slice(0, -1).toLowerCase();
    if (name === 'smtp' || name === 'smtps') return redactSmtpUrl(url, scheme);
    if (name === 'outbox') return url;
    if ((API_SCHEMES as readonly string[]).includes(name)) return redactApiUrl(url, scheme);
    return `${scheme}//***`;
  }
  const bare = SCHEME_ONLY.exec(url);
  // `resend:re_…` without slashes still holds a key
  if (bare && (API_SCHEMES as readonly string[]).includes(bare[1]!.toLowerCase()) && url.length > bare[0].length) return `${bare[0]}***`;
  return url;
}

function decodePart(value: string, what: string, shown: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    throw new ConfigError(`transport URL ${shown}: the ${what} is not valid percent-encoding`);
  }
}

/** Parses a transport URL. Throws ConfigError (exit 2) naming the problem; never echoes a secret. */
export function parseTransportUrl(url: string): TransportConfig {
  const raw = (url ?? '').trim();
  if (!raw) throw new ConfigError(`empty transport URL: ${URL_HELP}`);
  const shown = JSON.stringify(redactUrl(raw));

  if (/^outbox:/i.test(raw)) return parseOutboxUrl(raw, shown);

  const schemeMatch = SCHEME_ONLY.exec(raw);
  const scheme = schemeMatch?.[1]?.toLowerCase();
  if (!schemeMatch || !scheme) {
    // Could be a key pasted on its own: never echo it.
    throw new ConfigError(`the transport URL has no scheme: ${URL_HELP}`);
  }
  if ((API_SCHEMES as readonly string[]).includes(scheme)) {
    if (!raw.slice(schemeMatch[0].length).startsWith('//')) throw new ConfigError(`transport URL ${shown} must start with ${scheme}://`);
    return parseApiUrl(raw, scheme as (typeof API_SCHEMES)[number], shown);
  }
  if (scheme !== 'smtp' && scheme !== 'smtps') {
    // JSON.stringify: a scheme is short and holds no secret, but may hold odd characters
    throw new ConfigError(`unsupported transport URL scheme ${JSON.stringify(`${schemeMatch[1]}:`)}: ${URL_HELP}`);
  }
  return parseSmtpUrl(raw, scheme, shown);
}

function parseOutboxUrl(raw: string, shown: string): TransportConfig {
  let dir = raw.slice('outbox:'.length);
  if (dir.startsWith('//')) dir = dir.slice(2);
  if (!dir) throw new ConfigError(`transport URL ${shown} names no folder: use outbox:<dir>, e.g. outbox:data/outbox`);
  return { kind: 'outbox', host: '', port: 0, user: null, pass: null, insecure: false, pool: 1, dir: resolvePath(dir), api: null, display: raw };
}

function parseSmtpUrl(raw: string, scheme: 'smtp' | 'smtps', shown: string): TransportConfig {
  if (!/^[a-z]+:\/\//i.test(raw)) throw new ConfigError(`transport URL ${shown} must start with ${scheme}://`);

  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new ConfigError(
      `invalid transport URL ${shown}: the port must be a number from 1 to 65535, and ` +
        'special characters in the user name or password must be percent-encoded (/ as %2F, # as %23, ? as %3F, @ as %40)',
    );
  }

  const host = u.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (!host) throw new ConfigError(`transport URL ${shown} names no host: ${URL_HELP}`);
  if (u.pathname && u.pathname !== '/') throw new ConfigError(`transport URL ${shown} has a path ("${u.pathname}"); it takes none`);
  if (u.hash) throw new ConfigError(`transport URL ${shown} has a #fragment; it takes none`);

  let port = scheme === 'smtps' ? 465 : 587;
  if (u.port !== '') {
    port = Number(u.port);
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      throw new ConfigError(`transport URL ${shown}: the port must be a number from 1 to 65535`);
    }
  }

  const user = u.username ? decodePart(u.username, 'user name', shown) : null;
  const pass = u.password ? decodePart(u.password, 'password', shown) : null;
  if (user && !pass) throw new ConfigError(`transport URL ${shown} has a user name but no password (smtp://user:pass@host)`);
  if (!user && pass) throw new ConfigError(`transport URL ${shown} has a password but no user name (smtp://user:pass@host)`);

  let pool = 1;
  let insecure = false;
  for (const [key, value] of u.searchParams) {
    if (key === 'pool') pool = parsePool(value, shown);
    else if (key === 'insecure') {
      const v = value.toLowerCase();
      if (['1', 'true', 'yes'].includes(v)) insecure = true;
      else if (['0', 'false', 'no'].includes(v)) insecure = false;
      else throw new ConfigError(`transport URL ${shown}: insecure must be 1 or 0 (got "${value}")`);
    } else {
      throw new ConfigError(`transport URL ${shown}: unknown option "${key}" (known: pool, insecure)`);
    }
  }

  return { kind: scheme, host, port, user, pass, insecure, pool, dir: null, api: null, display: redactUrl(raw) };
}

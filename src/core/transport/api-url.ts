/**
 * URLs of the HTTPS email APIs:
 *   resend://<api-key>   postmark://<server-token>[?stream=<id>]   sendgrid://<api-key>
 *   mailgun://<api-key>@<domain>[?region=eu]   ses://<access-key-id>:<secret>@<region>
 * each with `?pool=N` and `?endpoint=<base-url>` (plain http only to loopback).
 *
 * Parsed by hand, not with `URL`: keys are case-sensitive and may hold `/` or `+` (SES secrets),
 * which the WHATWG parser would lower-case, reject or re-encode in the host position.
 */
import { domainToASCII } from 'node:url';
import { ConfigError } from '../types.js';
import type { ApiConfig, ApiKind, TransportConfig } from './types.js';
import { isLoopbackHost, parsePool } from './url-common.js';

export const API_SCHEMES = ['resend', 'postmark', 'sendgrid', 'mailgun', 'ses'] as const satisfies readonly ApiKind[];

const FORMS: Record<ApiKind, string> = {
  resend: 'resend://<api-key>',
  postmark: 'postmark://<server-token>[?stream=<message-stream>]',
  sendgrid: 'sendgrid://<api-key>',
  mailgun: 'mailgun://<api-key>@<domain>[?region=eu]',
  ses: 'ses://<access-key-id>:<secret>@<region>',
};

const OPTIONS: Record<ApiKind, string[]> = {
  resend: ['pool', 'endpoint'],
  postmark: ['pool', 'endpoint', 'stream'],
  sendgrid: ['pool', 'endpoint'],
  mailgun: ['pool', 'endpoint', 'region'],
  ses: ['pool', 'endpoint'],
};

function defaultEndpoint(kind: ApiKind, region: string | null): string {
  switch (kind) {
    case 'resend':
      return 'https://api.resend.com';
    case 'postmark':
      return 'https://api.postmarkapp.com';
    case 'sendgrid':
      return 'https://api.sendgrid.com';
    case 'mailgun':
      return region === 'eu' ? 'https://api.eu.mailgun.net' : 'https://api.mailgun.net';
    case 'ses':
      return `https://email.${region}.amazonaws.com`;
  }
}

/** Splits `scheme://authority?query#frag` textually. */
function split(url: string, scheme: string): { authority: string; query: string; hash: boolean } {
  let rest = url.slice(scheme.length + 2);
  const hashAt = rest.indexOf('#');
  const hash = hashAt >= 0;
  if (hash) rest = rest.slice(0, hashAt);
  const q = rest.indexOf('?');
  const authority = (q >= 0 ? rest.slice(0, q) : rest).replace(/\/$/, '');
  return { authority, query: q >= 0 ? rest.slice(q + 1) : '', hash };
}

/** The API URL with its key (SES: its secret) as `***`; options other than the known ones hidden too. */
export function redactApiUrl(url: string, scheme: string): string {
  const kind = scheme.slice(0, -1).toLowerCase() as ApiKind;
  const { authority, query } = split(url, scheme);
  let shownAuthority = '***';
  const at = authority.lastIndexOf('@');
  if (kind === 'mailgun' && at >= 0) shownAuthority = `***${authority.slice(at)}`;
  if (kind === 'ses' && at >= 0) {
    const cred = authority.slice(0, at);
    const colon = cred.indexOf(':');
    shownAuthority = `${colon >= 0 ? cred.slice(0, colon) : '***'}:***${authority.slice(at)}`;
  }
  const known = OPTIONS[kind] ?? [];
  const shownQuery = query
    ? '?' +
      query
        .split('&')
        .map((pair) => {
          const eq = pair.indexOf('=');
          const name = eq >= 0 ? pair.slice(0, eq) : pair;
          return known.includes(name) ? pair : `${name.slice(0, 20)}=***`;
        })
        .join('&')
    : '';
  return `${scheme}//${shownAuthority}${shownQuery}`;
}

function decode(value: string, what: string, shown: string): string {
  let out: string;
  try {
    out = decodeURIComponent(value);
  } catch {
    throw new ConfigError(`transport URL ${shown}: the ${what} is not valid percent-encoding`);
  }
  if (/[\s\x00-\x1f\x7f]/.test(out)) throw new ConfigError(`transport URL ${shown}: the ${what} contains a space or control character`);
  return out;
}

function parseEndpoint(value: string, shown: string): string {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw new ConfigError(`transport URL ${shown}: endpoint must be a URL such as https://api.example.com (got ${JSON.stringify(value.slice(0, 100))})`);
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new ConfigError(`transport URL ${shown}: endpoint must be an https:// URL`);
  if (u.protocol === 'http:' && !isLoopbackHost(u.hostname)) {
    throw new ConfigError(`transport URL ${shown}: endpoint must use https:// (plain http is allowed only to loopback, e.g. http://127.0.0.1:8025)`);
  }
  if (u.username || u.password) throw new ConfigError(`transport URL ${shown}: endpoint must not hold credentials`);
  if (u.search || u.hash) throw new ConfigError(`transport URL ${shown}: endpoint takes no ?query or #fragment`);
  return `${u.protocol}//${u.host}${u.pathname.replace(/\/+$/, '')}`;
}

function asciiDomain(domain: string): string | null {
  if (!domain || domain.length > 253) return null;
  const ascii = domainToASCII(domain.toLowerCase());
  if (!ascii || !/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$/.test(ascii)) return null;
  return ascii;
}

export function parseApiUrl(raw: string, kind: ApiKind, shown: string): TransportConfig {
  const { authority, query, hash } = split(raw, `${kind}:`);
  const form = FORMS[kind];
  if (hash) throw new ConfigError(`transport URL ${shown} has a #fragment; it takes none (${form})`);
  if (!authority) throw new ConfigError(`transport URL ${shown} holds no key: ${form}`);

  const api: ApiConfig = { endpoint: '', key: '', keyId: null, domain: null, region: null, stream: null };
  const at = authority.lastIndexOf('@');
  if (kind === 'mailgun') {
    if (at <= 0) throw new ConfigError(`transport URL ${shown}: ${form} (the sending domain is missing)`);
    api.key = decode(authority.slice(0, at), 'API key', shown);
    const domain = asciiDomain(decode(authority.slice(at + 1), 'domain', shown));
    if (!domain) throw new ConfigError(`transport URL ${shown}: the sending domain is not a domain name (${form})`);
    api.domain = domain;
    api.region = 'us';
  } else if (kind === 'ses') {
    if (at <= 0) throw new ConfigError(`transport URL ${shown}: ${form} (the region is missing)`);
    const cred = authority.slice(0, at);
    const colon = cred.indexOf(':');
    if (colon <= 0 || colon === cred.length - 1) throw new ConfigError(`transport URL ${shown}: ${form} (access key id and secret are both needed)`);
    api.keyId = decode(cred.slice(0, colon), 'access key id', shown);
    api.key = decode(cred.slice(colon + 1), 'secret', shown);
    if (!/^[A-Z0-9]{16,128}$/.test(api.keyId)) throw new ConfigError(`transport URL ${shown}: the access key id must be letters and digits, e.g. AKIAIOSFODNN7EXAMPLE`);
    const region = decode(authority.slice(at + 1), 'region', shown).toLowerCase();
    if (!/^[a-z]{2}(-[a-z]+)+-\d{1,2}$/.test(region)) throw new ConfigError(`transport URL ${shown}: "${region.slice(0, 40)}" is not an AWS region such as us-east-1`);
    api.region = region;
  } else {
    if (at >= 0) throw new ConfigError(`transport URL ${shown}: ${form} takes the key alone (an "@" in a key must be written %40)`);
    api.key = decode(authority, kind === 'postmark' ? 'server token' : 'API key', shown);
  }
  if (!api.key) throw new ConfigError(`transport URL ${shown} holds no key: ${form}`);

  let pool = 1;
  let endpoint: string | null = null;
  const known = OPTIONS[kind];
  for (const [name, value] of new URLSearchParams(query)) {
    if (!known.includes(name)) throw new ConfigError(`transport URL ${shown}: unknown option "${name.slice(0, 40)}" (known: ${known.join(', ')})`);
    if (name === 'pool') pool = parsePool(value, shown);
    else if (name === 'endpoint') endpoint = parseEndpoint(value, shown);
    else if (name === 'stream') {
      if (!/^[A-Za-z0-9_-]{1,100}$/.test(value)) throw new ConfigError(`transport URL ${shown}: stream must be a Postmark message stream id (letters, digits, - and _)`);
      api.stream = value;
    } else if (name === 'region') {
      const r = value.toLowerCase();
      if (r !== 'us' && r !== 'eu') throw new ConfigError(`transport URL ${shown}: region must be us or eu (got "${value.slice(0, 20)}")`);
      api.region = r;
    }
  }
  api.endpoint = endpoint ?? defaultEndpoint(kind, api.region);

  return { kind, host: '', port: 0, user: null, pass: null, insecure: false, pool, dir: null, api, display: redactApiUrl(raw, `${kind}:`) };
}

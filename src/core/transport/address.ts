/**
 * Envelope addresses (MAIL FROM / RCPT TO, and the recipient given to an API) in RFC 5321 form:
 * - a quoted local part stays quoted (`"john doe"@x.test`), one that needs quoting but lost its
 *   quotes (an address parser's "display" form) is quoted again, never sent bare;
 * - an internationalized domain goes as punycode (`ñandú.cl` → `xn--and-6ma2c.cl`);
 * - a non-ASCII local part is kept as is but flagged: it may only go to a server that offers
 *   SMTPUTF8 (RFC 6531), and the caller refuses it otherwise — never a mangled address.
 */
import { domainToASCII } from 'node:url';

export type EnvelopeAddress = { ok: true; address: string; smtputf8: boolean } | { ok: false; error: string };

/** RFC 5322 atext, plus (RFC 6531) any non-ASCII character. */
const ATEXT = "A-Za-z0-9!#$%&'*+\\-/=?^_`{|}~\\u0080-\\u{10FFFF}";
const DOT_STRING = new RegExp(`^[${ATEXT}]+(\\.[${ATEXT}]+)*$`, 'u');
/** The inside of a quoted string: qtextSMTP or quoted-pair (RFC 5321 4.1.2), non-ASCII allowed (RFC 6531). */
const QUOTED_CONTENT = /^(?:[\x20\x21\x23-\x5b\x5d-\x7e\u0080-\u{10FFFF}]|\\[\x20-\x7e])*$/u;
const NON_ASCII = /[^\x00-\x7f]/;

function localPart(local: string): string | null {
  if (DOT_STRING.test(local)) return local;
  if (local.length >= 2 && local.startsWith('"') && local.endsWith('"')) {
    return QUOTED_CONTENT.test(local.slice(1, -1)) ? local : null;
  }
  // Needs quoting (a space, a double dot, …) but came without quotes: quote it.
  if (/[\x00-\x1f\x7f]/.test(local)) return null;
  return `"${local.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

function domainPart(domain: string): string | null {
  if (/^\[[^\[\]\\\s]+\]$/.test(domain)) return domain; // address literal
  const name = domain.replace(/\.$/, '');
  if (!name || /[\s\x00-\x1f\x7f]/.test(name)) return null;
  const ascii = domainToASCII(name);
  if (!ascii || ascii.length > 253 || !/^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*$/.test(ascii)) return null;
  return ascii;
}

/**
 * The RFC 5321 form of an address given bare (`a@b`) or as `Name <a@b>`. `smtputf8`: its local
 * part is not ASCII, so it can only be sent with the SMTPUTF8 extension.
 */
export function envelopeAddress(value: string): EnvelopeAddress {
  const trimmed = String(value ?? '').trim();
  const angle = /<([^<>]*)>\s*$/.exec(trimmed);
  const addr = (angle ? angle[1]! : trimmed).trim();
  if (/[\r\n]/.test(addr)) return { ok: false, error: `${JSON.stringify(addr)} is not an email address (line break)` };
  const at = addr.lastIndexOf('@');
  if (at <= 0 || at === addr.length - 1) return { ok: false, error: `${JSON.stringify(addr)} is not an email address` };
  const local = localPart(addr.slice(0, at));
  if (local === null) return { ok: false, error: `${JSON.stringify(addr)}: the part before @ is not valid in an email address` };
  const domain = domainPart(addr.slice(at + 1));
  if (domain === null) return { ok: false, error: `${JSON.stringify(addr)}: the domain is not a valid domain name` };
  return { ok: true, address: `${local}@${domain}`, smtputf8: NON_ASCII.test(local) };
}

/** Mailboxes for JSON APIs: a display name and an address, taken apart and put back together. */
import addressparser from 'nodemailer/lib/addressparser/index.js';

export interface Mailbox {
  name: string;
  address: string;
}

const memo = new Map<string, Mailbox>();

/** `"Aremko Spa" <hola@aremko.cl>` → name and address; `address` replaces the parsed address (its RFC 5321 form). */
export function mailbox(value: string, address?: string): Mailbox {
  // a campaign sends from one address: remember the last few
  const key = `${value}\u0000${address ?? ''}`;
  const known = memo.get(key);
  if (known) return known;
  const parsed = parseMailbox(value, address);
  if (memo.size > 100) memo.clear();
  memo.set(key, parsed);
  return parsed;
}

function parseMailbox(value: string, address?: string): Mailbox {
  let name = '';
  let parsed = '';
  try {
    const first = addressparser(value, { flatten: true }).find((a) => a.address);
    name = (first?.name ?? '').replace(/[\r\n]+/g, ' ').trim();
    parsed = first?.address ?? '';
  } catch {
    // keep what we have
  }
  return { name, address: address ?? (parsed || value.trim()) };
}

/** `Name <addr>`, the name quoted when it needs to be (RFC 5322 specials). */
export function formatMailbox({ name, address }: Mailbox): string {
  if (!name) return address;
  const safe = /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~ \u0080-\u{10FFFF}]+$/u.test(name) ? name : `"${name.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
  return `${safe} <${address}>`;
}

/** Keeping passwords and API keys out of every string a transport returns. */
import { escapeRegExp } from '../regexp.js';

const b64 = (s: string) => Buffer.from(s, 'utf-8').toString('base64');

/**
 * Every form in which a secret could leak into an error string: as is, URL-encoded, base64
 * (alone, and in the AUTH PLAIN / HTTP Basic payloads that carry it), base64 cut off before its
 * padding. `user` is the name that goes with it (SMTP user; `api` for Mailgun's Basic auth).
 */
export function secretForms(user: string | null, secret: string | null): string[] {
  if (!secret) return [];
  const u = user ?? '';
  const forms = new Set<string>([
    secret,
    encodeURIComponent(secret),
    b64(secret),
    b64(`\u0000${u}\u0000${secret}`),
    b64(`${u}\u0000${u}\u0000${secret}`),
    b64(`${u}:${secret}`),
  ]);
  for (const f of [...forms]) if (f.endsWith('=')) forms.add(f.replace(/=+$/, ''));
  return [...forms].filter((f) => f.length > 0).sort((a, b) => b.length - a.length);
}

/** One line, with every form of every given secret replaced by `***`. */
export function makeScrubber(...pairs: Array<[user: string | null, secret: string | null]>): (s: string) => string {
  const forms = [...new Set(pairs.flatMap(([u, s]) => secretForms(u, s)))].sort((a, b) => b.length - a.length);
  // one pass with every form (longest first), instead of one split/join per form
  const all = forms.length ? new RegExp(forms.map(escapeRegExp).join('|'), 'g') : null;
  return (s: string) => {
    const out = String(s).replace(/\r?\n/g, ' ').trim();
    return all ? out.replace(all, '***') : out;
  };
}

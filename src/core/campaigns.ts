/**
 * Campaign creation and the state machine's rules (who may go where, and why not).
 * Kept light to load: `status`, `pause` and friends import it, so templates (Handlebars,
 * html-to-text) and time zones (luxon) are loaded only by the functions that need them.
 */
import { createRequire } from 'node:module';
import type { IsEmailOptions } from 'validator/lib/isEmail.js';
import { checkCount, checkDuration, checkRate, LIMITS } from './duration.js';
import { firstUnsafeCharacter, printable, quoted } from './printable.js';
import type { Store } from './store.js';
import type { Campaign, CampaignSettings, CampaignStatus } from './types.js';
import { UserError } from './types.js';

type IsEmail = (address: string, options?: IsEmailOptions) => boolean;
let isEmail: IsEmail | null = null;

/** validator's options for an address (its length limits apart: see `withinLengthLimits`). */
export const IS_EMAIL_OPTIONS: IsEmailOptions = { allow_display_name: false, require_tld: true, allow_ip_domain: false };
const IS_EMAIL_WITHOUT_LIMITS: IsEmailOptions = { ...IS_EMAIL_OPTIONS, ignore_max_length: true };

/**
 * The everyday address — ASCII letters, digits and `_ + -` in dot-separated parts, a domain of
 * letters, digits and inner hyphens, a top-level domain of 2 or more letters, within the
 * length limits — is one validator always accepts; such an address is answered without it
 * (validator took 5.6 of the 31 s of a 1,000,000-row import). Anything else goes to validator.
 * test/core/address-limits.test.ts holds both ways to validator's own answer.
 */
const PLAIN_ADDRESS = /^(?=[^@]{1,64}@)[a-z0-9_+-]+(?:\.[a-z0-9_+-]+)*@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i;

export function isValidAddress(address: string): boolean {
  if (address.length <= 254 && PLAIN_ADDRESS.test(address)) return true;
  // validator's own module for this one check, loaded on first use: commands that never check
  // an address (status, pause…) do not pay for it at start-up. CommonJS, function on `default`.
  isEmail ??= createRequire(import.meta.url)('validator/lib/isEmail').default as IsEmail;
  return withinLengthLimits(address) && isEmail(address, IS_EMAIL_WITHOUT_LIMITS);
}

/**
 * validator's length limits (whole address 254 characters, local part 64 bytes, domain 254
 * bytes, each domain label 63 characters), checked here: validator counts bytes with encodeURI
 * and a regex split, twice per address, which was a quarter of the time to parse a 1,000,000-row
 * import. An address that is not well-formed UTF-16 is refused (encodeURI would throw).
 */
const LONE_SURROGATE = /\p{Cs}/u;

function withinLengthLimits(address: string): boolean {
  if (address.length > 254 || LONE_SURROGATE.test(address)) return false;
  // As validator splits: the domain after the last @, the local part before it.
  const at = address.lastIndexOf('@');
  const local = at === -1 ? '' : address.slice(0, at);
  const domain = address.slice(at + 1);
  if (Buffer.byteLength(local) > 64 || Buffer.byteLength(domain) > 254) return false;
  for (const label of domain.split('.')) if (label.length > 63) return false;
  return true;
}

/** Names of the address column in an imported CSV, compared without case. */
export const ADDRESS_COLUMNS = ['email', 'correo', 'e-mail', 'mail'] as const;

/** Why an address cannot be used, or null when it can. */
export function addressProblem(address: string): string | null {
  if (address === '') return 'empty';
  if (!address.includes('@')) return 'no @';
  if (!isValidAddress(address)) return 'not a valid address';
  return null;
}

/** A display name as RFC 5322 writes it: a quoted string, or words without specials. */
const QUOTED_NAME = /^"(?:[^"\\]|\\.)*"$/;
const UNQUOTED_NAME = /^[^"<>,;:@()[\]\\]*$/;

export interface AddressFlag {
  /** The bare address, e.g. hola@aremko.cl. */
  address: string;
  /** The display name as written (quotes kept), or null. */
  name: string | null;
}

/**
 * The value of an address flag: exactly one valid address — with a display name where
 * `displayName` allows it ("Aremko Spa <hola@aremko.cl>", for --from and --reply-to) — and no
 * control character anywhere (a CR or LF would start a header of its own). Anything else is a
 * UserError (exit 2) naming the flag. Quoted local parts ("john doe"@x.cl) and IDN domains
 * (ana@ñandú.cl) are addresses like any other.
 */
export function parseAddressFlag(value: string, flag: string, options: { displayName?: boolean } = {}): AddressFlag {
  const text = String(value);
  const shown = quoted(text);
  const refuse = (why: string) => new UserError(`${flag}: ${shown} ${why}`, 2);
  const control = firstUnsafeCharacter(text);
  if (control !== null) throw refuse(`contains a control character (${printable(control)}); give exactly one address`);
  const example = options.displayName ? ' (e.g. "Aremko Spa <hola@aremko.cl>" or hola@aremko.cl)' : ' (e.g. ana@example.cl)';
  const trimmed = text.trim();
  if (trimmed === '') throw refuse(`is empty: give one email address${example}`);
  const angle = /^(.*?)\s*<([^<>]*)>$/s.exec(trimmed);
  if (angle && !options.displayName) throw refuse(`is not one email address: give the address alone${example}`);
  const address = angle ? angle[2]!.trim() : trimmed;
  const name = angle ? angle[1]!.trim() : '';
  if (name && !QUOTED_NAME.test(name) && !UNQUOTED_NAME.test(name))
    throw refuse('has a display name with special characters: put the name in double quotes ("Aremko, Spa" <hola@aremko.cl>)');
  if (!isValidAddress(address)) throw refuse(`is not one email address${example}`);
  return { address, name: name || null };
}

/** Checks everything an operator can get wrong before anything is stored. */
export async function validateSettings(s: CampaignSettings): Promise<void> {
  const [{ IANAZone }, { compileTemplates, TemplateError }] = await Promise.all([import('luxon'), import('./templates.js')]);
  const usage = (m: string) => new UserError(m, 2);
  if (!s.name.trim()) throw usage('--name: must not be empty');
  if (s.name.length > 200) throw usage(`--name: ${s.name.length} characters; at most 200`);
  parseAddressFlag(s.from, '--from', { displayName: true });
  if (s.replyTo !== null) parseAddressFlag(s.replyTo, '--reply-to', { displayName: true });
  checkCount(s.batchSize, '--batch-size', LIMITS.batchSize);
  checkCount(s.maxAttempts, '--max-attempts', LIMITS.maxAttempts);
  checkDuration(s.intervalSeconds, '--interval', LIMITS.interval);
  checkDuration(s.retryDelaySeconds, '--retry-delay', LIMITS.retryDelay);
  if (s.rate !== null) checkRate(s.rate);
  if (s.window && !s.timeZone) throw usage('--window needs --tz (an IANA zone such as America/Santiago)');
  if (s.timeZone && !IANAZone.isValidZone(s.timeZone)) throw usage(`--tz: ${quoted(s.timeZone)} is not an IANA time zone`);
  if (s.unsubscribe !== null) {
    const u = s.unsubscribe;
    const ok = firstUnsafeCharacter(u) === null && (/^https:\/\/[^\s]+$/i.test(u) || /^mailto:[^\s]+@[^\s]+$/i.test(u));
    if (!ok) throw usage(`--unsubscribe: ${quoted(u)} must be an https:// URL or a mailto: address`);
  }
  try {
    compileTemplates(s); // too large, not Handlebars, a partial, an unknown helper…: names the template
  } catch (err) {
    throw err instanceof TemplateError ? usage(err.message) : err;
  }
}

export async function createCampaign(store: Store, s: CampaignSettings, now: number): Promise<Campaign> {
  await validateSettings(s);
  return store.createCampaign(s, now);
}

export async function requireCampaign(store: Store, id: number): Promise<Campaign> {
  const c = await store.getCampaign(id);
  if (!c) throw new UserError(`campaign ${id} does not exist (see: aremko-mail campaign list)`);
  return c;
}

async function move(
  store: Store,
  id: number,
  from: readonly CampaignStatus[],
  to: CampaignStatus,
  verb: string,
  now: number,
): Promise<Campaign> {
  const result = await store.transition(id, from, to, now);
  if (result.ok) return result.campaign;
  if (result.status === null) throw new UserError(`campaign ${id} does not exist (see: aremko-mail campaign list)`);
  throw new UserError(`cannot ${verb} campaign ${id}: it is ${result.status} (${verb} works on ${from.join(' or ')})`);
}

/** draft → sending, after checking every template field against every recipient. */
export async function startCampaign(store: Store, id: number, now: number): Promise<Campaign> {
  const c = await requireCampaign(store, id);
  if (c.status !== 'draft') throw new UserError(`cannot start campaign ${id}: it is ${c.status} (start works on draft${c.status === 'paused' ? '; use resume' : ''})`);
  const summary = (await store.summaries([id]))[0]!;
  if (summary.counts.pending === 0) throw new UserError(`cannot start campaign ${id}: it has no pending recipients (import some: aremko-mail import ${id} <file.csv>)`);
  const { compileTemplates } = await import('./templates.js');
  const fields = compileTemplates(c).fields.filter((f) => f !== 'email');
  const missing = await store.missingFields(id, fields);
  if (missing.size > 0) {
    const list = [...missing].map(([f, n]) => `"${f}" (${n} recipient${n === 1 ? '' : 's'} lack it)`).join(', ');
    throw new UserError(`cannot start campaign ${id}: the templates use field${missing.size === 1 ? '' : 's'} ${list}`);
  }
  return move(store, id, ['draft'], 'sending', 'start', now);
}

export const pauseCampaign = (store: Store, id: number, now: number) => move(store, id, ['sending'], 'paused', 'pause', now);
export const resumeCampaign = (store: Store, id: number, now: number) => move(store, id, ['paused'], 'sending', 'resume', now);
export const cancelCampaign = (store: Store, id: number, now: number) =>
  move(store, id, ['draft', 'sending', 'paused'], 'cancelled', 'cancel', now);

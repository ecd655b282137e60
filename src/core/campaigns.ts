/**
 * Campaign creation and the state machine's rules (who may go where, and why not).
 * Kept light to load: `status`, `pause` and friends import it, so templates (Handlebars,
 * html-to-text) and time zones (luxon) are loaded only by the functions that need them.
 */
import { createRequire } from 'node:module';
import type { IsEmailOptions } from 'validator/lib/isEmail.js';
import { checkCount, checkDuration, checkRate, LIMITS } from './duration.js';
import type { Store } from './store.js';
import type { Campaign, CampaignSettings, CampaignStatus } from './types.js';
import { UserError } from './types.js';

type IsEmail = (address: string, options?: IsEmailOptions) => boolean;
let isEmail: IsEmail | null = null;

export function isValidAddress(address: string): boolean {
  // validator's own module for this one check, loaded on first use: commands that never check
  // an address (status, pause…) do not pay for it at start-up. CommonJS, function on `default`.
  isEmail ??= createRequire(import.meta.url)('validator/lib/isEmail').default as IsEmail;
  return isEmail(address, { allow_display_name: false, require_tld: true, allow_ip_domain: false });
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

/** Checks everything an operator can get wrong before anything is stored. */
export async function validateSettings(s: CampaignSettings): Promise<void> {
  const [{ IANAZone }, { compileTemplates }, { default: addressparser }] = await Promise.all([
    import('luxon'),
    import('./templates.js'),
    import('nodemailer/lib/addressparser/index.js'),
  ]);
  const usage = (m: string) => new UserError(m, 2);
  if (!s.name.trim()) throw usage('--name: must not be empty');
  const from = addressparser(s.from, { flatten: true });
  if (from.length !== 1 || !isValidAddress(from[0]!.address)) throw usage(`--from: "${s.from}" is not an email address`);
  if (s.replyTo !== null && !isValidAddress(s.replyTo.replace(/^.*<|>.*$/g, '')))
    throw usage(`--reply-to: "${s.replyTo}" is not an email address`);
  checkCount(s.batchSize, '--batch-size', LIMITS.batchSize);
  checkCount(s.maxAttempts, '--max-attempts', LIMITS.maxAttempts);
  checkDuration(s.intervalSeconds, '--interval', LIMITS.interval);
  checkDuration(s.retryDelaySeconds, '--retry-delay', LIMITS.retryDelay);
  if (s.rate !== null) checkRate(s.rate);
  if (s.window && !s.timeZone) throw usage('--window needs --tz (an IANA zone such as America/Santiago)');
  if (s.timeZone && !IANAZone.isValidZone(s.timeZone)) throw usage(`--tz: "${s.timeZone}" is not an IANA time zone`);
  if (s.unsubscribe !== null) {
    const u = s.unsubscribe;
    const ok = /^https:\/\/[^\s]+$/i.test(u) || /^mailto:[^\s]+@[^\s]+$/i.test(u);
    if (!ok) throw usage(`--unsubscribe: "${u}" must be an https:// URL or a mailto: address`);
  }
  compileTemplates(s); // throws naming the template with a syntax error
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

/**
 * What the tool itself stores as a recipient's last error: the whole error when no server's answer
 * says what happened, or the words around an answer (`detail`, a server's or a library's own text,
 * kept as it came) when the engine or a transport says what it means for the message. Every other
 * last error is a server's or a provider's answer, kept as it came. Written once, here: the store,
 * the engine and the transports write these words, and the TUI recognises them (`toolWords`) to
 * say them in the operator's language.
 */
import { escapeRegExp } from './regexp.js';

/** A runner died (or lost its lease) with the recipient's request in flight. */
export const RUNNER_GONE = (owner: string) => `its runner ${owner} stopped before the server answered: may or may not have been delivered`;
/** …and the provider still answers a resend under the same idempotency key without sending again. */
export const STILL_DEDUPLICATED = '; the provider still deduplicates its idempotency key';
export const DEDUPE_EXPIRED = 'its last request may have reached the provider, and the provider no longer deduplicates a resend: may or may not have been delivered';
export const DEDUPE_ELSEWHERE =
  'its last request may have reached a provider that deduplicates by idempotency key, and this run sends through a transport that does not: may or may not have been delivered';
/** `resolve --mark-sent`. */
export const MARKED_SENT = 'marked sent by the operator';

/**
 * Reads a suffix written by `words` at the end of a stored error: the error before it and the
 * value it names (matched by `value`), or null without one.
 */
function suffixReader(words: (value: string) => string, value: string): (error: string) => { before: string; value: string } | null {
  const atEnd = new RegExp(`\\s*${escapeRegExp(words('\u0000')).replace('\u0000', `(${value})`)}$`);
  return (error) => {
    const m = atEnd.exec(error);
    return m ? { before: error.slice(0, m.index), value: m[1]! } : null;
  };
}

/** Appended by the engine to the last answer of a recipient whose retries ran out. */
export const GAVE_UP = (attempts: number | string) => `(gave up after ${attempts} attempts)`;
const gaveUpAtEnd = suffixReader(GAVE_UP, '\\d+');

/** A stored error split into the error before the engine's give-up and the attempts it names; null without one. */
export function gaveUp(error: string): { before: string; attempts: number } | null {
  const g = gaveUpAtEnd(error);
  return g ? { before: g.before, attempts: Number(g.value) } : null;
}

/** A send the transport was closed under (a stop) before any of it went out. */
export const CLOSED_BEFORE_SENT = 'transport closed before the message was sent';

/** Words around a detail: what the engine or a transport says an answer means for the message. */
export const AROUND = {
  /** The claim could not be written: abandoned before any byte of the message went out. */
  not_sent: (detail: string) => `not sent: ${detail}`,
  lost_before_data: (detail: string) => `connection lost before the message data went out: ${detail}`,
  lost_after_data: (detail: string) => `connection lost after the message data went out, before the server's reply: ${detail}`,
  unexpected_reply: (detail: string) => `unexpected reply to the data: ${detail}`,
  not_built: (detail: string) => `could not build the message: ${detail}`,
  transport_error: (detail: string) => `transport error: ${detail}`,
} as const;

export type AroundKind = keyof typeof AROUND;

/**
 * What an HTTPS API transport says of a request whose answer it does not have (api-transport.ts);
 * `where` is "provider (endpoint)", `detail` and `lost` the network's or the provider's words.
 */
export const API = {
  unreachable: (where: string, detail: string) => `cannot reach ${where}: ${detail}`,
  answer_lost: (detail: string) => `the request went out, the answer was lost: ${detail}`,
  lost_unkeyed: (where: string, lost: string) => `${where}: the request went out and the answer was lost (${lost}); no idempotency key protects it`,
  lost_window_passed: (where: string, lost: string) =>
    `${where}: the request went out and the answer was lost (${lost}); the provider's idempotency window has passed`,
} as const;

export type ApiKind = keyof typeof API;

/** The names of each API phrase's values, in the order its function takes them. */
const API_PARAMS: Record<ApiKind, readonly string[]> = {
  unreachable: ['where', 'detail'],
  answer_lost: ['detail'],
  lost_unkeyed: ['where', 'lost'],
  lost_window_passed: ['where', 'lost'],
};

/** Appended by an API transport to a retry's error while a resend under its key cannot deliver twice. */
export const SAFE_UNTIL = (iso: string) => `(a resend under the same idempotency key is safe until ${iso})`;
const safeUntilAtEnd = suffixReader(SAFE_UNTIL, '[^)]+');

/** A stored error split into the error before an API transport's "safe until" and its time; null without one. */
export function safeUntil(error: string): { before: string; until: string } | null {
  const m = safeUntilAtEnd(error);
  return m ? { before: m.before, until: m.value } : null;
}

/** Each API phrase as a pattern: its values captured (the last one greedy, the others not). */
const API_PATTERNS = (Object.keys(API) as ApiKind[]).map((kind) => {
  const names = API_PARAMS[kind];
  const marks = names.map((_, i) => String.fromCharCode(1 + i));
  let source = escapeRegExp((API[kind] as (...v: string[]) => string)(...marks));
  marks.forEach((mark, i) => (source = source.replace(mark, i === marks.length - 1 ? '(.*)' : '(.+?)')));
  return { kind, names, pattern: new RegExp(`^${source}$`, 's') };
});

export type ToolWords =
  | { kind: 'runner_gone'; owner: string; requeued: boolean }
  | { kind: 'dedupe_expired' }
  | { kind: 'dedupe_elsewhere' }
  | { kind: 'marked_sent' }
  | { kind: 'closed_before_sent' }
  | { kind: AroundKind; detail: string }
  | { kind: ApiKind; values: Record<string, string> };

const AROUND_PREFIXES = (Object.keys(AROUND) as AroundKind[]).map((kind) => [kind, AROUND[kind]('')] as const);

const [GONE_BEFORE, GONE_AFTER] = RUNNER_GONE('\u0000').split('\u0000') as [string, string];

/**
 * A piece of English that every stored error of each kind holds, for a search over stored errors
 * (the TUI's filter finds "conexión perdida" through its English, "connection lost before…").
 */
export const TOOL_PHRASES: Record<ToolWords['kind'] | 'runner_gone_requeued' | 'gave_up' | 'safe_until', string> = {
  runner_gone: GONE_AFTER,
  runner_gone_requeued: STILL_DEDUPLICATED,
  dedupe_expired: DEDUPE_EXPIRED,
  dedupe_elsewhere: DEDUPE_ELSEWHERE,
  marked_sent: MARKED_SENT,
  closed_before_sent: CLOSED_BEFORE_SENT,
  ...(Object.fromEntries(AROUND_PREFIXES) as Record<AroundKind, string>),
  gave_up: GAVE_UP('\u0000').split('\u0000')[0]!,
  safe_until: SAFE_UNTIL('\u0000').split('\u0000')[0]!,
  unreachable: API.unreachable('\u0000', '').split('\u0000')[0]!,
  answer_lost: API.answer_lost(''),
  lost_unkeyed: API.lost_unkeyed('\u0000', '\u0000').split('\u0000')[2]!,
  lost_window_passed: API.lost_window_passed('\u0000', '\u0000').split('\u0000')[2]!,
};

/** The tool's own words in a stored last error, or null for a server's answer. */
export function toolWords(error: string): ToolWords | null {
  if (error === DEDUPE_EXPIRED) return { kind: 'dedupe_expired' };
  if (error === DEDUPE_ELSEWHERE) return { kind: 'dedupe_elsewhere' };
  if (error === MARKED_SENT) return { kind: 'marked_sent' };
  if (error === CLOSED_BEFORE_SENT) return { kind: 'closed_before_sent' };
  for (const [kind, prefix] of AROUND_PREFIXES) if (error.startsWith(prefix)) return { kind, detail: error.slice(prefix.length) };
  for (const { kind, names, pattern } of API_PATTERNS) {
    const m = pattern.exec(error);
    if (m) return { kind, values: Object.fromEntries(names.map((name, i) => [name, m[i + 1]!])) };
  }
  if (!error.startsWith(GONE_BEFORE)) return null;
  const requeued = error.endsWith(GONE_AFTER + STILL_DEDUPLICATED);
  if (!requeued && !error.endsWith(GONE_AFTER)) return null;
  const owner = error.slice(GONE_BEFORE.length, error.length - GONE_AFTER.length - (requeued ? STILL_DEDUPLICATED.length : 0));
  return owner ? { kind: 'runner_gone', owner, requeued } : null;
}

/**
 * What the tool itself stores as a recipient's last error when no server's answer says what
 * happened (every other last error is a server's or a provider's answer, kept as it came).
 * Written once, here: the store writes these words, and the TUI recognises them (`toolWords`) to
 * say them in the operator's language.
 */

/** A runner died (or lost its lease) with the recipient's request in flight. */
export const RUNNER_GONE = (owner: string) => `its runner ${owner} stopped before the server answered: may or may not have been delivered`;
/** …and the provider still answers a resend under the same idempotency key without sending again. */
export const STILL_DEDUPLICATED = '; the provider still deduplicates its idempotency key';
export const DEDUPE_EXPIRED = 'its last request may have reached the provider, and the provider no longer deduplicates a resend: may or may not have been delivered';
export const DEDUPE_ELSEWHERE =
  'its last request may have reached a provider that deduplicates by idempotency key, and this run sends through a transport that does not: may or may not have been delivered';
/** `resolve --mark-sent`. */
export const MARKED_SENT = 'marked sent by the operator';

export type ToolWords =
  | { kind: 'runner_gone'; owner: string; requeued: boolean }
  | { kind: 'dedupe_expired' }
  | { kind: 'dedupe_elsewhere' }
  | { kind: 'marked_sent' };

const [GONE_BEFORE, GONE_AFTER] = RUNNER_GONE('\u0000').split('\u0000') as [string, string];

/** The tool's own words in a stored last error, or null for a server's answer. */
export function toolWords(error: string): ToolWords | null {
  if (error === DEDUPE_EXPIRED) return { kind: 'dedupe_expired' };
  if (error === DEDUPE_ELSEWHERE) return { kind: 'dedupe_elsewhere' };
  if (error === MARKED_SENT) return { kind: 'marked_sent' };
  if (!error.startsWith(GONE_BEFORE)) return null;
  const requeued = error.endsWith(GONE_AFTER + STILL_DEDUPLICATED);
  if (!requeued && !error.endsWith(GONE_AFTER)) return null;
  const owner = error.slice(GONE_BEFORE.length, error.length - GONE_AFTER.length - (requeued ? STILL_DEDUPLICATED.length : 0));
  return owner ? { kind: 'runner_gone', owner, requeued } : null;
}

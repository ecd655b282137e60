/**
 * What the failed / in-doubt list, a recipient's history and the pictures read from the store.
 *
 * These are the exact signatures the Store interface (src/core/store.ts) is getting. Until it has
 * them, the TUI declares them here and uses them when the store it was given implements them
 * (`viewStoreOf`); once `Store` includes them every store does, and this file reduces to the
 * re-export of those types.
 */
import type { Recipient, RecipientStatus, StoredEvent } from '../core/types.js';

export interface RecipientQuery {
  statuses: RecipientStatus[];
  /** Matches the address or the last error (case-insensitive, anywhere in the text). */
  search?: string;
  limit: number;
  offset: number;
}

export interface BatchStat {
  batch: number;
  sent: number;
  failed: number;
  inDoubt: number;
  retried: number;
}

export interface UiStoreExtras {
  listRecipients(campaignId: number, q: RecipientQuery): Promise<{ total: number; rows: Recipient[] }>;
  /**
   * Oldest first. Per attempt: type 'sent' | 'failed' | 'retry_scheduled' | 'in_doubt' |
   * 'requeued', data {attempt, batch, response? | error?, providerId?}.
   */
  recipientHistory(campaignId: number, recipientId: number): Promise<StoredEvent[]>;
  /** Messages sent per minute, oldest first, `minutes` long, the last one ending at `now`. */
  activity(campaignId: number, now: number, minutes: number): Promise<number[]>;
  /** The newest `limit` batches. */
  batchStats(campaignId: number, limit: number): Promise<BatchStat[]>;
  /** in_doubt → pending (resend) or sent (mark-sent): all of the campaign's, or those addresses. */
  resolveInDoubt(campaignId: number, mode: 'resend' | 'mark-sent', now: number, emails?: string[]): Promise<number>;
}

const METHODS = ['listRecipients', 'recipientHistory', 'activity', 'batchStats', 'resolveInDoubt'] as const;

/** The store itself when it has every method the views need; null otherwise. */
export function viewStoreOf(store: object): UiStoreExtras | null {
  const s = store as Record<string, unknown>;
  return METHODS.every((m) => typeof s[m] === 'function') ? (store as unknown as UiStoreExtras) : null;
}

/**
 * What a database backend provides to the shared rules (rules.ts): reads and writes of rows, one
 * statement each, inside a transaction the backend opens. No decision is taken here — which
 * recipient may be claimed, when a batch closes, what a takeover does are the rules' business —
 * so SQLite and PostgreSQL differ only in SQL.
 */
import type { AttemptEvent, LoggedEvent } from '../events.js';
import type {
  Campaign,
  CampaignSettings,
  CampaignState,
  CampaignStatus,
  Recipient,
  RecipientStatus,
  Runner,
  StatusCounts,
  StoredEvent,
  Suppression,
} from '../types.js';
import type { BatchStats, RecipientQuery } from '../store.js';

/** Campaign columns the rules change. */
export interface CampaignPatch {
  status?: CampaignStatus;
  startedAt?: number | null;
  completedAt?: number | null;
  nextBatchAt?: number | null;
  batchesSent?: number;
  batchClaimed?: number;
  throttledUntil?: number | null;
  lastError?: string | null;
}

/** How a recorded attempt changes its recipient (only if `token` still holds it). */
export interface RecipientResultPatch {
  status: Extract<RecipientStatus, 'pending' | 'sent' | 'failed' | 'in_doubt'>;
  lastError: string | null;
  /** pending: when it is due again. */
  nextAttemptAt: number | null;
  sentAt: number | null;
  messageId: string | null;
  providerId: string | null;
  /** The attempt did not count: attempts − 1, no claim time. */
  refund: boolean;
  /** Set (kept once set) when the request may have reached the provider; cleared when final. */
  dedupeUntil: number | null;
}

/** The recipient a result was recorded for, as it was claimed. */
export interface RecordedRecipient {
  recipientId: number;
  campaignId: number;
  email: string;
  attempts: number;
  batch: number | null;
  /** When the attempt was claimed (null for a refund). */
  claimedAt: number | null;
}

/** One stored attempt (the per-send log row). */
export interface AttemptRow {
  campaignId: number;
  recipientId: number;
  at: number;
  type: AttemptEvent['type'];
  attempt: number;
  batch: number | null;
  /** Counts towards the rate limit from this moment. */
  claimedAt: number;
  /** The server's answer or the error. */
  detail: string;
  providerId: string | null;
  /** Fields that do not have a column (retryAt, suppressed). */
  extra: Record<string, unknown> | null;
}

/** A pending recipient whose resend could deliver it twice (Tx.unsafeResends); `expired`: its provider's dedupe window has passed. */
export interface UnsafeResend {
  id: number;
  expired: boolean;
}

/** A `sending` recipient whose runner is gone. */
export interface OrphanRow {
  id: number;
  claimToken: string | null;
  idempotentUntil: number | null;
}

export interface Tx {
  // campaigns
  /** With `state`, the templates are not read (CampaignState): what the hot path needs. */
  campaign(id: number, options?: { lock?: boolean }): Promise<Campaign | null>;
  campaign(id: number, options: { lock?: boolean; state: true }): Promise<CampaignState | null>;
  campaigns(ids?: number[]): Promise<Campaign[]>;
  insertCampaign(settings: CampaignSettings, now: number): Promise<number>;
  updateCampaign(id: number, patch: CampaignPatch): Promise<void>;
  /** batch_claimed + delta (never below 0). */
  addBatchClaims(id: number, delta: number): Promise<void>;
  counts(campaignId: number): Promise<StatusCounts>;

  // runners
  runners(campaignId: number): Promise<Runner[]>;
  runner(token: string): Promise<Runner | null>;
  insertRunner(runner: Runner): Promise<void>;
  /** False when the row is gone (the runner was reaped). */
  renewRunner(token: string, expiresAt: number): Promise<boolean>;
  deleteRunners(tokens: string[]): Promise<void>;
  /** `sending` recipients of the campaign whose claim token belongs to no registered runner. */
  orphans(campaignId: number): Promise<OrphanRow[]>;
  /** Ids of the campaign's `sending` recipients claimed by `token`. */
  claimedBy(campaignId: number, token: string): Promise<number[]>;
  /** `sending` → `pending` for claims whose message never went out: the attempt does not count. */
  releaseClaims(ids: number[]): Promise<number>;

  // claiming
  /** Attempts claimed after `since` (recorded ones and those in flight), and the `count`-th newest claim time. */
  rateUsage(campaignId: number, since: number, count: number): Promise<{ used: number; edge: number | null }>;
  /** The earliest due time of a pending recipient, or null when none is pending. */
  nextPendingAt(campaignId: number): Promise<number | null>;
  /**
   * Claims up to `limit` due pending recipients (oldest due first), skipping rows locked by
   * others, and adds those it claimed to the open batch's count (batch_claimed): one statement on
   * PostgreSQL, so that the rules need not await its answer before the COMMIT.
   */
  claimDue(campaignId: number, token: string, now: number, batch: number, limit: number, idempotentUntil: number | null): Promise<Recipient[]>;
  /** The first `limit` recipients `claimDue` would take now, in its order; claims nothing. */
  peekDue(campaignId: number, now: number, limit: number): Promise<Recipient[]>;
  /**
   * Pending recipients whose last request may have reached a provider that deduplicates by key
   * (`dedupe_until` set), and that a resend could now deliver twice: those whose window has passed
   * (`expired`), and, for a runner whose transport does not deduplicate, all of them.
   */
  unsafeResends(campaignId: number, now: number, deduplicates: boolean): Promise<UnsafeResend[]>;

  // recipients
  recordResults(token: string, results: Array<{ recipientId: number; patch: RecipientResultPatch }>): Promise<Array<RecordedRecipient | null>>;
  /**
   * Recipients (by id) whose runner is gone or whose dedupe window passed: `in_doubt` (claim token
   * kept, so a late answer from a runner that comes back still lands), or `pending` again, due at
   * `now`, resendable until their idempotency key expires (dedupe_until = idempotent_until).
   */
  markUnanswered(ids: number[], status: 'in_doubt' | 'pending', lastError: string, now: number): Promise<RecordedRecipient[]>;
  resolveInDoubt(campaignId: number, mode: 'resend' | 'mark-sent', now: number, emails: string[] | null): Promise<number>;
  missingFields(campaignId: number, fields: string[]): Promise<Map<string, number>>;
  recipientByEmail(campaignId: number, email: string): Promise<Recipient | null>;
  firstRecipient(campaignId: number): Promise<Recipient | null>;
  listRecipients(campaignId: number, query: RecipientQuery): Promise<{ total: number; rows: Recipient[] }>;

  // suppressions
  /** Adds (ignoring ones already listed) and suppresses pending recipients everywhere; returns how many were added. */
  addSuppressions(emails: string[], reason: string, now: number): Promise<number>;
  removeSuppressions(emails: string[]): Promise<number>;
  listSuppressions(): Promise<Suppression[]>;

  // the log
  insertEvent(event: LoggedEvent, level: string, message: string): Promise<void>;
  insertAttempts(rows: AttemptRow[]): Promise<void>;
  /** Log rows (events and attempts) as stored, with the recipient's email and Message-ID for attempts. */
  events(campaignId: number | null, options: { afterId?: number; limit: number; recipientId?: number }): Promise<StoredEventRow[]>;
  pruneEvents(before: number, campaignId: number | null): Promise<number>;
  /** Attempts that ended `sent`, counted per minute from `from` (epoch ms) for `minutes`. */
  sentPerMinute(campaignId: number, from: number, minutes: number): Promise<number[]>;
  batchStats(campaignId: number, limit: number): Promise<BatchStats[]>;
}

/** A log row as read, before wording (event-log.ts's storedEvent words it). */
export interface StoredEventRow {
  id: number;
  campaignId: number | null;
  at: number;
  type: string;
  level: string;
  message: string;
  data: Record<string, unknown> | null;
}

export type { StoredEvent };

/**
 * A transaction's statements, each remembered as it is issued, so that the backend can report a
 * commit only once every one of them has succeeded — also those the rules did not await. Not
 * awaiting a write whose answer is not needed before the commit (the attempt rows, a step's claim)
 * lets PostgreSQL take it in the same pipeline as COMMIT, one round trip fewer; a failure of it still fails the
 * transaction (PostgreSQL answers the COMMIT of a failed transaction with a rollback).
 */
export class IssuedStatements {
  private readonly issued: Promise<unknown>[] = [];
  /** `tx` as the rules see it: every call goes through, and its promise is remembered. */
  readonly tx: Tx;

  constructor(tx: Tx) {
    this.tx = new Proxy(tx, {
      get: (target, key, receiver) => {
        const member = Reflect.get(target, key, receiver) as unknown;
        if (typeof member !== 'function') return member;
        return (...args: unknown[]) => {
          const answer = (member as (...a: unknown[]) => unknown).apply(target, args);
          if (answer instanceof Promise) {
            answer.catch(() => undefined); // reported by settled(), not as an unhandled rejection
            this.issued.push(answer);
          }
          return answer;
        };
      },
    });
  }

  /** Resolves once every statement issued has succeeded; rejects with the first failure. */
  async settled(): Promise<void> {
    for (const answer of this.issued) await answer;
  }
}

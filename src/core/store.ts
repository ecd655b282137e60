/**
 * The storage contract the rest of core uses. Every method is one complete unit of work (its
 * own transaction) and returns a promise, so that another backend (PostgreSQL for several
 * sending hosts) can implement it without touching the engine. All SQL lives in implementations.
 */
import type {
  Campaign,
  CampaignSettings,
  CampaignStatus,
  CampaignSummary,
  EventLevel,
  Lease,
  Recipient,
  RecipientStatus,
  StoredEvent,
  Suppression,
} from './types.js';

export interface NewEvent {
  campaignId: number | null;
  at: number;
  level: EventLevel;
  type: string;
  message: string;
  data?: Record<string, unknown> | null;
}

export interface StagedRecipient {
  /** Line number in the source file (header is line 1). */
  line: number;
  /** Trimmed address as written in the file. */
  email: string;
  fields: Record<string, string>;
}

export interface ImportCounts {
  imported: number;
  duplicates: number;
  suppressed: number;
}

/** Rows are staged outside the main tables, then moved in one short transaction. */
export interface ImportSession {
  add(rows: StagedRecipient[]): Promise<void>;
  commit(): Promise<ImportCounts>;
  abort(): Promise<void>;
}

export interface LeaseOwner {
  host: string;
  pid: number;
  token: string;
}

export type LeaseResult =
  | { acquired: true; lease: Lease; tookOverFrom: Lease | null; markedInDoubt: number }
  | { acquired: false; holder: Lease };

export type ClaimResult =
  | {
      kind: 'claimed';
      /** The first of `recipients`. */
      recipient: Recipient;
      recipients: Recipient[];
      batch: number;
      /** These are the first claims of their batch. */
      batchStarted: boolean;
      campaign: Campaign;
    }
  /** Nothing may be claimed before `until` (epoch ms). */
  | { kind: 'wait'; until: number; reason: 'interval' | 'rate' | 'retry' }
  /** The open batch has all its claims; close it once in-flight sends are recorded. */
  | { kind: 'batch_full' }
  /** No pending recipient, but some are still in flight. */
  | { kind: 'draining' }
  /** No pending and none in flight: the campaign can complete. */
  | { kind: 'done' }
  /** Status is not `sending` any more (paused, cancelled, completed elsewhere). */
  | { kind: 'stopped'; status: CampaignStatus }
  /** Our lease expired or was taken over. */
  | { kind: 'lost_lease' };

export interface ResultUpdate {
  status: Extract<RecipientStatus, 'pending' | 'sent' | 'failed' | 'in_doubt'>;
  lastError?: string | null;
  /** For `pending` (a retry): when it is due. */
  nextAttemptAt?: number;
  sentAt?: number;
  /** The attempt did not count (the server was never reached). */
  refundAttempt?: boolean;
  /** The Message-ID used (the same on every attempt). */
  messageId?: string;
  /** Put the address on the suppression list with this reason. */
  suppress?: string;
}

/** A send's outcome waiting to be recorded. */
export interface PendingResult {
  recipientId: number;
  update: ResultUpdate;
  event: NewEvent;
}

export interface StepResult {
  /** For each result, whether it was recorded (false: the recipient is no longer ours). */
  recorded: boolean[];
  /** Null when no claim was asked for (`max` 0). */
  claim: ClaimResult | null;
}

export interface Store {
  readonly location: string;
  close(): Promise<void>;

  createCampaign(settings: CampaignSettings, now: number): Promise<Campaign>;
  getCampaign(id: number): Promise<Campaign | null>;
  listCampaigns(): Promise<Campaign[]>;
  /** Campaigns (all, or those ids) with counts and lease, for `status`. */
  summaries(ids?: number[]): Promise<CampaignSummary[]>;
  /**
   * Moves a campaign to `to` if its status is one of `from`; returns the updated campaign or
   * the status that blocked it. `start` also makes the first batch due at `now`.
   */
  transition(
    id: number,
    from: readonly CampaignStatus[],
    to: CampaignStatus,
    now: number,
  ): Promise<{ ok: true; campaign: Campaign } | { ok: false; status: CampaignStatus | null }>;
  setLastError(id: number, message: string | null): Promise<void>;
  /** Makes the next batch due now (`--ignore-schedule`). */
  makeBatchDue(id: number, now: number): Promise<void>;

  beginImport(campaignId: number): Promise<ImportSession>;
  /** For each field name, how many non-suppressed recipients lack it. */
  missingFields(campaignId: number, fields: string[]): Promise<Map<string, number>>;
  getRecipient(campaignId: number, email: string): Promise<Recipient | null>;
  firstRecipient(campaignId: number): Promise<Recipient | null>;
  /** Streams recipients in id order, optionally of one status. */
  iterateRecipients(campaignId: number, status?: RecipientStatus): AsyncIterable<Recipient>;
  /** in_doubt → pending (resend) or sent (mark-sent); resend also reopens a completed campaign. */
  resolveInDoubt(campaignId: number, mode: 'resend' | 'mark-sent', now: number): Promise<number>;

  addSuppressions(emails: string[], reason: string, now: number): Promise<number>;
  removeSuppressions(emails: string[]): Promise<number>;
  listSuppressions(): Promise<Suppression[]>;

  /**
   * A number that changes whenever another connection (another process) has committed since
   * the last call: lets a watcher skip re-reading an unchanged database.
   */
  changeMarker(): Promise<number>;

  addEvent(event: NewEvent): Promise<number>;
  /** Newest `limit` events (returned oldest first), or those after `afterId`. */
  listEvents(campaignId: number | null, options?: { afterId?: number; limit?: number }): Promise<StoredEvent[]>;

  getLease(campaignId: number): Promise<Lease | null>;
  /**
   * Takes the campaign's lease if free, expired, ours, or `canTakeOver(holder)` says its holder
   * is dead. On acquisition every `sending` recipient (claimed by a runner that is gone) becomes
   * `in_doubt`.
   */
  acquireLease(
    campaignId: number,
    owner: LeaseOwner,
    now: number,
    ttlMs: number,
    canTakeOver: (holder: Lease) => boolean,
  ): Promise<LeaseResult>;
  renewLease(campaignId: number, token: string, now: number, ttlMs: number): Promise<boolean>;
  releaseLease(campaignId: number, token: string): Promise<void>;

  /**
   * The engine's one unit of work per turn, a single synced commit: records `results` (each only
   * if this token still holds its recipient), then claims up to `max` due recipients (status
   * `sending`, attempt counted) with every rule checked: status, lease, batch, rate.
   * Recording before claiming keeps "claimed but not recorded" at most the number in flight.
   */
  step(campaignId: number, token: string, now: number, results: PendingResult[], max: number): Promise<StepResult>;
  /** `step` with one claim and no results. */
  claimNext(campaignId: number, token: string, now: number): Promise<ClaimResult>;
  /** `step` with one result and no claim. */
  recordResult(recipientId: number, token: string, update: ResultUpdate, event: NewEvent): Promise<boolean>;
  /** Ends the open batch: next batch due `interval` later, or the campaign completes. */
  closeBatch(campaignId: number, token: string, now: number): Promise<Campaign>;
  /** Completes a `sending` campaign with nothing pending or in flight. */
  completeIfDone(campaignId: number, now: number): Promise<Campaign>;
}

/** What the engine uses of a Store (all it needs to run a campaign). */
export type EngineStore = Pick<
  Store,
  | 'getCampaign'
  | 'summaries'
  | 'makeBatchDue'
  | 'setLastError'
  | 'addEvent'
  | 'getLease'
  | 'acquireLease'
  | 'renewLease'
  | 'releaseLease'
  | 'step'
  | 'closeBatch'
  | 'completeIfDone'
>;

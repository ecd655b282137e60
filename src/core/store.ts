/**
 * The storage contract the rest of core, the CLI and the TUI use. Every method is one complete
 * unit of work (its own transaction) and returns a promise. Two backends implement it — SQLite
 * (the embedded default) and PostgreSQL (state that outlives any one machine) — and both take
 * the rules of claiming, batches, rates, waits and takeover from one place (store/rules.ts):
 * the backends only say how to read and write rows.
 */
import type {
  Campaign,
  CampaignSettings,
  CampaignState,
  CampaignStatus,
  CampaignSummary,
  Recipient,
  RecipientStatus,
  Runner,
  StoredEvent,
  Suppression,
  WaitReason,
} from './types.js';
import type { LoggedEvent } from './events.js';

/** A campaign-level event to store (sends are stored as attempts, see AttemptResult). */
export type NewEvent = LoggedEvent;

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

export interface ImportSessionOptions {
  onWait?: () => void;
}

/** Rows are staged outside the main tables, then moved in one short transaction. */
export interface ImportSession {
  add(rows: StagedRecipient[]): Promise<void>;
  commit(): Promise<ImportCounts>;
  abort(): Promise<void>;
}

/** Who a runner is: `host:pid` for people, a random token for the database. */
export interface RunnerIdentity {
  host: string;
  pid: number;
  token: string;
}

/** What a takeover did to one dead runner's recipients. */
export interface Reaped {
  owner: string;
  /** `sending` → `in_doubt`: the message may or may not have gone out. */
  inDoubt: number;
  /** `sending` → `pending`: resent under the same idempotency key, which the provider still honours. */
  requeued: number;
}

export type ClaimResult =
  | {
      kind: 'claimed';
      recipients: Recipient[];
      batch: number;
      /** These are the first claims of their batch. */
      batchStarted: boolean;
      /** The campaign as this claim left it (its templates are not read on every claim). */
      campaign: CampaignState;
      /**
       * With ClaimOptions.peek: the first recipients a claim would take after this one (due,
       * pending, in claim order), read in its transaction without claiming them: the engine
       * builds their messages while others are in flight. Null when not asked for.
       */
      upcoming: Promise<Recipient[]> | null;
    }
  /** Nothing may be claimed before `until` (epoch ms). */
  | { kind: 'wait'; until: number; reason: WaitReason }
  /** The open batch has all its claims; it closes once nothing of it is in flight (`settle`). */
  | { kind: 'batch_full' }
  /** No pending recipient is left, but some are still in flight (this runner's or another's). */
  | { kind: 'draining' }
  /** No pending and none in flight: the campaign can complete (`settle`). */
  | { kind: 'done' }
  /** Status is not `sending` any more (paused, cancelled, completed elsewhere). */
  | { kind: 'stopped'; status: CampaignStatus }
  /** This runner's lease expired or it was reaped as dead: it claims nothing more. */
  | { kind: 'lost_lease' };

/** How one attempt ended, as the engine reports it; the store records recipient and log row. */
export interface AttemptResult {
  recipientId: number;
  /**
   * `sent`, `failed`, `in_doubt`; `retry` (pending again at `retryAt`); `refunded` (the server or
   * API was never reached, or asked us to slow down: not an attempt, the recipient is pending
   * again at once and gives its batch place back).
   */
  outcome: 'sent' | 'retry' | 'failed' | 'in_doubt' | 'refunded';
  at: number;
  /** The server's answer (sent) or why not (the others). */
  detail: string | null;
  /** The Message-ID used (the same on every attempt). */
  messageId: string;
  providerId?: string | null;
  /** retry: when it is due again. */
  retryAt?: number;
  /** retry: the request may have reached the provider; a resend is safe only until then. */
  dedupeUntil?: number | null;
  /** failed: put the address on the suppression list with this reason. */
  suppress?: string | null;
  /** refunded: the provider asked the whole campaign to wait until then (HTTP 429). */
  throttleUntil?: number | null;
}

export interface StepResult {
  /** For each result, whether it was recorded (false: the recipient is no longer this runner's). */
  recorded: boolean[];
  /** Null when no claim was asked for (`max` 0). */
  claim: ClaimResult | null;
}

export interface ClaimOptions {
  /** How long the transport's provider honours an idempotency key (null: no such thing). */
  idempotencyWindowMs: number | null;
  /**
   * Also read the next `peek` recipients due after this claim (the messages the engine builds
   * ahead), in the claim's transaction: on PostgreSQL they come back in its pipeline, not in a
   * round trip of their own.
   */
  peek?: number;
}

export type SettleResult =
  /** Something of the campaign is still in flight (here or at another runner): look again later. */
  | { kind: 'busy' }
  /** Nothing to close: the open batch still has claims to make. */
  | { kind: 'open' }
  | { kind: 'stopped'; status: CampaignStatus }
  /** The open batch was closed (batch n) and/or the campaign completed. */
  | { kind: 'settled'; closedBatch: number | null; nextBatchAt: number | null; completed: boolean; campaign: Campaign };

export interface RecipientQuery {
  statuses?: RecipientStatus[];
  /** Case-insensitive substring of the address or of the last error. */
  search?: string;
  /**
   * With `search`: a last error that holds any of these (case-insensitive) matches too — the
   * tool's own stored English words for what the operator typed in their language (stored-errors.ts).
   */
  errorPhrases?: string[];
  limit: number;
  offset: number;
}

export interface BatchStats {
  batch: number;
  sent: number;
  failed: number;
  inDoubt: number;
  retried: number;
}

export interface Store {
  readonly kind: 'sqlite' | 'postgres';
  /** Where the data is, fit to show: a file path, or a URL with its password as ***. */
  readonly display: string;
  close(): Promise<void>;

  createCampaign(settings: CampaignSettings, now: number): Promise<Campaign>;
  getCampaign(id: number): Promise<Campaign | null>;
  listCampaigns(): Promise<Campaign[]>;
  /** Campaigns (all, or those ids) with counts, runners and what each waits for, at `now`. */
  summaries(ids?: number[], now?: number): Promise<CampaignSummary[]>;
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

  /**
   * Opens an import into the campaign. Imports into one campaign may take turns (PostgreSQL):
   * `onWait` is called once if this one must wait for another to commit first.
   */
  beginImport(campaignId: number, options?: ImportSessionOptions): Promise<ImportSession>;
  /** For each field name, how many non-suppressed recipients lack it. */
  missingFields(campaignId: number, fields: string[]): Promise<Map<string, number>>;
  getRecipient(campaignId: number, email: string): Promise<Recipient | null>;
  firstRecipient(campaignId: number): Promise<Recipient | null>;
  /** Streams recipients in id order, optionally of one status. */
  iterateRecipients(campaignId: number, status?: RecipientStatus): AsyncIterable<Recipient>;
  /** A page of recipients in import order (a list that stays put while new answers arrive), with how many match. */
  listRecipients(campaignId: number, query: RecipientQuery): Promise<{ total: number; rows: Recipient[] }>;
  /** Every attempt of one recipient, oldest first. */
  recipientHistory(campaignId: number, recipientId: number): Promise<StoredEvent[]>;
  /** Messages sent per minute over the last `minutes` minutes before `now`, oldest first. */
  activity(campaignId: number, now: number, minutes: number): Promise<number[]>;
  /** The newest `limit` batches: how their attempts ended. */
  batchStats(campaignId: number, limit: number): Promise<BatchStats[]>;
  /**
   * in_doubt → pending (resend) or sent (mark-sent), every one or those addresses; resend also
   * reopens a completed campaign. Returns how many changed.
   */
  resolveInDoubt(campaignId: number, mode: 'resend' | 'mark-sent', now: number, emails?: string[]): Promise<number>;

  addSuppressions(emails: string[], reason: string, now: number): Promise<number>;
  removeSuppressions(emails: string[]): Promise<number>;
  listSuppressions(): Promise<Suppression[]>;

  /**
   * A number that changes when another process may have committed something since the last
   * call: a watcher skips re-reading a quiet database.
   */
  changeMarker(): Promise<number>;

  addEvent(event: NewEvent): Promise<void>;
  /**
   * The log: campaign events and every attempt, oldest first. The newest `limit`, or those
   * after `afterId` (ids only grow).
   */
  listEvents(campaignId: number | null, options?: { afterId?: number; limit?: number }): Promise<StoredEvent[]>;
  /** Deletes log rows older than `before` (never recipients); returns how many. */
  pruneEvents(before: number, campaignId?: number): Promise<number>;

  listRunners(campaignId: number): Promise<Runner[]>;
  /**
   * Registers a runner on the campaign, first taking over every dead one: lease expired, or
   * its token in `localDead` (its process is gone from this host).
   */
  joinCampaign(campaignId: number, me: RunnerIdentity, now: number, ttlMs: number, localDead: string[]): Promise<{ runner: Runner; reaped: Reaped[] }>;
  /**
   * Renews a runner's lease (its own row only: never waits behind another runner's transaction).
   * False when the runner is gone: another one took it for dead, and then it is.
   */
  renewLease(token: string, now: number, ttlMs: number): Promise<boolean>;
  /** Takes over the campaign's dead runners (lease expired, or their token in `localDead`). */
  reapDead(campaignId: number, me: RunnerIdentity, now: number, localDead: string[]): Promise<Reaped[]>;
  /**
   * Unregisters a runner that stops. Its recipients still `sending` become `in_doubt` when it had
   * handed them to the transport (`handedOver`: no answer yet, or an answer it could not record),
   * or `pending` again when it never had (a claim whose commit it never saw confirmed): a runner
   * that stops cleanly leaves nothing `sending`, and nothing that may have gone out is resent.
   */
  leaveCampaign(campaignId: number, token: string, now: number, handedOver: number[]): Promise<void>;

  /**
   * The engine's one unit of work per turn, a single synced commit: records `results` (each only
   * if this runner still holds its recipient), then claims up to `max` due recipients with every
   * rule checked (status, lease, batch, interval, window, rate, retry time). Recording before
   * claiming keeps "claimed but not recorded" at most the number in flight.
   */
  step(campaignId: number, token: string, now: number, results: AttemptResult[], max: number, options?: ClaimOptions): Promise<StepResult>;
  /**
   * `step`, answered before its commit is known to be durable: SQLite answers once committed,
   * before the flush to disk; PostgreSQL before the server has answered COMMIT. `durable`
   * resolves once the commit is on disk, and rejects if it is not (disk full, I/O error, a lost
   * connection; on PostgreSQL then nothing of the step happened, on SQLite it may have).
   * Until it resolves, nothing of the step may act outside this process: no message data of a
   * claimed recipient may leave (the engine overlaps the commit with building the messages and
   * the SMTP envelope), no recorded answer is reported, and no answer is taken as recorded.
   * Recording an answer again, or refunding a claim, is harmless either way: both happen only
   * while this runner still holds the recipient.
   */
  stepEarly(
    campaignId: number,
    token: string,
    now: number,
    results: AttemptResult[],
    max: number,
    options?: ClaimOptions,
  ): Promise<StepResult & { durable: Promise<void> }>;
  /** Closes the open batch once nothing of it is in flight, and completes a campaign with nothing left. */
  settle(campaignId: number, now: number): Promise<SettleResult>;
}

/** What the engine uses of a Store (all it needs to run a campaign). */
export type EngineStore = Pick<
  Store,
  | 'getCampaign'
  | 'summaries'
  | 'transition'
  | 'makeBatchDue'
  | 'setLastError'
  | 'addEvent'
  | 'listRunners'
  | 'joinCampaign'
  | 'renewLease'
  | 'reapDead'
  | 'leaveCampaign'
  | 'step'
  | 'stepEarly'
  | 'settle'
>;

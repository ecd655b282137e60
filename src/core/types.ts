/** Domain types shared by every layer. No I/O here. */

export const CAMPAIGN_STATUSES = ['draft', 'sending', 'paused', 'completed', 'cancelled'] as const;
export type CampaignStatus = (typeof CAMPAIGN_STATUSES)[number];

export const RECIPIENT_STATUSES = ['pending', 'sending', 'sent', 'failed', 'suppressed', 'in_doubt'] as const;
export type RecipientStatus = (typeof RECIPIENT_STATUSES)[number];

export type StatusCounts = Record<RecipientStatus, number> & { total: number };

export interface RateLimit {
  /** At most `count` messages… */
  count: number;
  /** …in any sliding window of this many seconds. */
  windowSeconds: number;
}

export interface SendWindow {
  /** "HH:MM", inclusive, in the campaign's time zone. */
  start: string;
  /** "HH:MM", exclusive. May be before `start` (a window across midnight). */
  end: string;
}

/** What an operator sets when creating a campaign. */
export interface CampaignSettings {
  name: string;
  subject: string;
  from: string;
  replyTo: string | null;
  html: string;
  text: string | null;
  batchSize: number;
  intervalSeconds: number;
  rate: RateLimit | null;
  window: SendWindow | null;
  timeZone: string | null;
  unsubscribe: string | null;
  maxAttempts: number;
  retryDelaySeconds: number;
}

export interface Campaign extends CampaignSettings {
  id: number;
  status: CampaignStatus;
  createdAt: number;
  startedAt: number | null;
  completedAt: number | null;
  /** Epoch ms when the next batch may start; null when none is scheduled. */
  nextBatchAt: number | null;
  batchesSent: number;
  /** Claims made in the batch now open (0 when no batch is open). */
  batchClaimed: number;
  /** An email API asked the campaign to slow down (HTTP 429) until then; null when not. */
  throttledUntil: number | null;
  lastError: string | null;
}

/** A campaign without its templates: what the rules read on every claim (templates can be large). */
export type CampaignState = Omit<Campaign, 'subject' | 'html' | 'text'>;

/** One process working on a campaign, with its lease (renewed while it works). */
export interface Runner {
  campaignId: number;
  /** "host:pid" */
  owner: string;
  host: string;
  pid: number;
  token: string;
  startedAt: number;
  expiresAt: number;
}

export const WAIT_REASONS = ['interval', 'rate', 'window', 'retry'] as const;
export type WaitReason = (typeof WAIT_REASONS)[number];

/** What keeps a `sending` campaign from sending right now, and until when. */
export interface Waiting {
  reason: WaitReason;
  until: number;
}

export interface Recipient {
  id: number;
  campaignId: number;
  email: string;
  status: RecipientStatus;
  attempts: number;
  nextAttemptAt: number;
  lastAttemptAt: number | null;
  lastError: string | null;
  messageId: string | null;
  /** The id the provider gave the accepted message (HTTPS APIs); null for SMTP and outbox. */
  providerId: string | null;
  /** Until when the provider deduplicates this recipient's idempotency key (set at the first claim). */
  idempotentUntil: number | null;
  /** A pending recipient whose last request may have reached the provider: resendable only until then. */
  dedupeUntil: number | null;
  sentAt: number | null;
  batch: number | null;
  fields: Record<string, string>;
}

export interface CampaignSummary {
  campaign: Campaign;
  counts: StatusCounts;
  /** Every runner registered on the campaign, oldest first (dead ones until someone reaps them). */
  runners: Runner[];
  /** Null when nothing holds a `sending` campaign back (or it is not sending). */
  waiting: Waiting | null;
}

export type EventLevel = 'info' | 'warn' | 'error';

export interface StoredEvent {
  id: number;
  campaignId: number | null;
  at: number;
  level: EventLevel;
  type: string;
  message: string;
  data: Record<string, unknown> | null;
}

export interface Suppression {
  email: string;
  reason: string;
  createdAt: number;
}

/** An error an operator caused (bad input, wrong state): exit 1 with its message, no stack. */
export class UserError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = 1,
  ) {
    super(message);
    this.name = 'UserError';
  }
}

/** A configuration or usage problem: exit 2. */
export class ConfigError extends UserError {
  constructor(message: string) {
    super(message, 2);
    this.name = 'ConfigError';
  }
}

/**
 * The latest instant a date can hold (8.64e15 ms). Times computed from stored settings are
 * clamped to it: a setting from before the flags had ranges (or edited by hand) can make a
 * campaign wait "for ever", but never write a time that breaks every later read.
 */
export const LATEST_TIME = 8_640_000_000_000_000;

export function laterBy(at: number, ms: number): number {
  const t = at + ms;
  return Number.isFinite(t) ? Math.min(t, LATEST_TIME) : LATEST_TIME;
}

export function emptyCounts(): StatusCounts {
  return { total: 0, pending: 0, sending: 0, sent: 0, failed: 0, suppressed: 0, in_doubt: 0 };
}

/**
 * Rows to domain objects. Both schemas use the same column names; PostgreSQL hands JSON columns
 * over already parsed, SQLite as text.
 */
import type { Campaign, CampaignState, Recipient, Runner, StatusCounts } from '../types.js';
import { emptyCounts, RECIPIENT_STATUSES, type RecipientStatus } from '../types.js';
import type { BatchStats } from '../store.js';
import type { CampaignPatch, RecordedRecipient, StoredEventRow } from './tx.js';

export type Row = Record<string, any>;

const json = (v: unknown): any => (typeof v === 'string' ? JSON.parse(v) : v);

export function toCampaign(r: Row): Campaign {
  return {
    id: r.id,
    name: r.name,
    status: r.status,
    subject: r.subject_tpl,
    from: r.from_addr,
    replyTo: r.reply_to,
    html: r.html_tpl,
    text: r.text_tpl,
    batchSize: r.batch_size,
    intervalSeconds: r.interval_s,
    rate: r.rate_count ? { count: r.rate_count, windowSeconds: r.rate_window_s } : null,
    window: r.window_start ? { start: r.window_start, end: r.window_end } : null,
    timeZone: r.time_zone,
    unsubscribe: r.unsubscribe,
    maxAttempts: r.max_attempts,
    retryDelaySeconds: r.retry_delay_s,
    nextBatchAt: r.next_batch_at,
    batchesSent: r.batches_sent,
    batchClaimed: r.batch_claimed,
    throttledUntil: r.throttled_until ?? null,
    lastError: r.last_error,
    createdAt: r.created_at,
    startedAt: r.started_at,
    completedAt: r.completed_at,
  };
}

/** The campaign columns the rules change (CampaignPatch), by field. */
export const CAMPAIGN_COLUMNS: Record<keyof CampaignPatch, string> = {
  status: 'status',
  startedAt: 'started_at',
  completedAt: 'completed_at',
  nextBatchAt: 'next_batch_at',
  batchesSent: 'batches_sent',
  batchClaimed: 'batch_claimed',
  throttledUntil: 'throttled_until',
  lastError: 'last_error',
};

/** A recipient as an update RETURNING `id AS recipient_id, campaign_id, email, attempts, batch, last_attempt_at` gave it. */
export function toRecorded(r: Row): RecordedRecipient {
  return { recipientId: r.recipient_id, campaignId: r.campaign_id, email: r.email, attempts: r.attempts, batch: r.batch, claimedAt: r.last_attempt_at };
}

/** Every campaign column but the templates (subject_tpl, html_tpl, text_tpl). */
export const STATE_COLUMNS =
  'id, name, status, from_addr, reply_to, batch_size, interval_s, rate_count, rate_window_s, window_start, window_end, time_zone, ' +
  'unsubscribe, max_attempts, retry_delay_s, next_batch_at, batches_sent, batch_claimed, throttled_until, last_error, created_at, started_at, completed_at';

export function toCampaignState(r: Row): CampaignState {
  const { subject: _s, html: _h, text: _t, ...state } = toCampaign(r);
  return state;
}

export function toRecipient(r: Row): Recipient {
  return {
    id: r.id,
    campaignId: r.campaign_id,
    email: r.email,
    status: r.status,
    attempts: r.attempts,
    nextAttemptAt: r.next_attempt_at,
    lastAttemptAt: r.last_attempt_at,
    lastError: r.last_error,
    messageId: r.message_id,
    providerId: r.provider_id ?? null,
    idempotentUntil: r.idempotent_until ?? null,
    dedupeUntil: r.dedupe_until ?? null,
    sentAt: r.sent_at,
    batch: r.batch,
    fields: json(r.fields) ?? {},
  };
}

export function toRunner(r: Row): Runner {
  return {
    campaignId: r.campaign_id,
    owner: r.owner,
    host: r.host,
    pid: r.pid,
    token: r.token,
    startedAt: r.started_at,
    expiresAt: r.expires_at,
  };
}

export function toCounts(rows: Row[]): StatusCounts {
  const counts = emptyCounts();
  for (const r of rows) {
    counts[r.status as RecipientStatus] = Number(r.n);
    counts.total += Number(r.n);
  }
  return counts;
}

/**
 * A log row: campaign events carry their data as JSON; attempts keep their fields in columns
 * (joined with the recipient's address and Message-ID) and only the rest in `data`.
 */
export function toEventRow(r: Row): StoredEventRow {
  const data: Record<string, unknown> = json(r.data) ?? {};
  if (r.recipient_id !== null && r.recipient_id !== undefined) {
    Object.assign(data, {
      recipientId: r.recipient_id,
      email: r.email ?? data.email,
      attempt: r.attempt ?? data.attempt,
      batch: r.batch ?? data.batch ?? null,
      providerId: r.provider_id ?? data.providerId ?? null,
    });
    if (r.type === 'sent') {
      data.response = r.detail ?? data.response;
      data.messageId = r.message_id ?? data.messageId;
    } else data.error = r.detail ?? data.error;
  }
  return { id: r.id, campaignId: r.campaign_id, at: r.at, type: r.type, level: r.level, message: r.message, data };
}

/** Recipient statuses as SQL literals, in the order of RECIPIENT_STATUSES; anything else refused. */
export function statusList(statuses: readonly string[]): string {
  const known = RECIPIENT_STATUSES.filter((s) => statuses.includes(s));
  if (known.length !== new Set(statuses).size) throw new Error(`unknown recipient status in ${JSON.stringify(statuses)}`);
  return known.map((s) => `'${s}'`).join(', ');
}

/** How far back in the log the per-batch stats look: many batches of any usual size. */
export const RECENT_ROWS = 50_000;

/** Per batch, newest first, from attempt rows (batch, type) read newest first: the newest `limit` batches. */
export function batchStatsOf(rows: Row[], limit: number): BatchStats[] {
  const byBatch = new Map<number, BatchStats>();
  for (const r of rows) {
    const batch = Number(r.batch);
    let b = byBatch.get(batch);
    if (!b) {
      if (byBatch.size >= limit) continue;
      byBatch.set(batch, (b = { batch, sent: 0, failed: 0, inDoubt: 0, retried: 0 }));
    }
    if (r.type === 'sent') b.sent++;
    else if (r.type === 'failed') b.failed++;
    else if (r.type === 'in_doubt') b.inDoubt++;
    else if (r.type === 'retry_scheduled' || r.type === 'requeued') b.retried++;
  }
  return [...byBatch.values()].sort((a, b) => b.batch - a.batch);
}

/** `%` and `_` taken literally in a LIKE pattern (with ESCAPE '\'). */
export function likeContains(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/**
 * An address as both schemas compare it: A-Z lower-cased, every other character as written (what
 * SQLite's NOCASE and PostgreSQL's lower() under the "C" collation do). For a value compared with
 * `lower(email)` in SQL: lower() of a parameter would follow the server's locale instead.
 */
export function addressKey(email: string): string {
  return email.replace(/[A-Z]+/g, (s) => s.toLowerCase());
}

/**
 * Rows to domain objects. Both schemas use the same column names; PostgreSQL hands JSON columns
 * over already parsed, SQLite as text.
 */
import type { Campaign, Recipient, Runner, StatusCounts } from '../types.js';
import { emptyCounts, type RecipientStatus } from '../types.js';
import type { StoredEventRow } from './tx.js';

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

/** `%` and `_` taken literally in a LIKE pattern (with ESCAPE '\'). */
export function likeContains(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

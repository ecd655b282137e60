/**
 * The one place that turns events into English words: the run's text and JSON log lines, the
 * `logs` command and the stored log. (The TUI words the same events in Spanish or English from
 * their type and data, in src/ui/i18n.ts.)
 */
import { EVENT_TYPES, type EngineEvent, type EngineEventType, type RunOutcome } from './events.js';
import type { EventLevel, StoredEvent } from './types.js';

/** A time in the log; a value no date can hold (a corrupted or hand-edited row) says so instead of throwing. */
const iso = (ms: number) => {
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? `(unusable time ${ms})` : d.toISOString();
};
const n = (count: number, one: string, many = `${one}s`) => `${count} ${count === 1 ? one : many}`;

export const RUN_OUTCOME_TEXT: Record<RunOutcome, string> = {
  completed: 'campaign completed',
  paused: 'campaign paused',
  cancelled: 'campaign cancelled',
  not_sending: 'campaign not sending',
  deadline: 'nothing more due before --max-runtime',
  stopped: 'stopped by signal or operator',
  lease_lost: 'lease lost',
  unavailable: 'mail server unavailable',
  database_error: 'the database could not be written',
  error: 'could not work on the campaign',
  missing: 'campaign does not exist',
};

export function describe(e: EngineEvent): { level: EventLevel; message: string } {
  switch (e.type) {
    case 'runner_joined':
      return { level: 'info', message: `runner ${e.owner} joined` };
    case 'runner_reaped':
      return {
        level: e.inDoubt > 0 ? 'warn' : 'info',
        message:
          `runner ${e.owner} is gone (taken over by ${e.by})` +
          (e.inDoubt > 0 ? `; ${n(e.inDoubt, 'recipient')} it had in flight ${e.inDoubt === 1 ? 'is' : 'are'} now in_doubt` : '') +
          (e.requeued > 0 ? `; ${e.requeued} resent under the same idempotency key` : ''),
      };
    case 'lease_lost':
      return { level: 'warn', message: `runner ${e.owner} lost its lease (expired or taken over); stopped claiming` };
    case 'batch_started':
      return { level: 'info', message: `batch ${e.batch} started (up to ${e.batchSize} messages)` };
    case 'batch_finished':
      return { level: 'info', message: `batch ${e.batch} finished` + (e.nextBatchAt !== null ? `; next batch due ${iso(e.nextBatchAt)}` : '') };
    case 'sent':
      return {
        level: 'info',
        message: `sent to ${e.email} (${e.batch !== null ? `batch ${e.batch}, ` : ''}attempt ${e.attempt}): ${e.response}` + (e.providerId ? ` [id ${e.providerId}]` : ''),
      };
    case 'retry_scheduled':
      return { level: 'warn', message: `temporary failure for ${e.email} (attempt ${e.attempt}): ${e.error}; retry at ${iso(e.retryAt)}` };
    case 'failed':
      return { level: 'error', message: `failed for ${e.email} (attempt ${e.attempt}): ${e.error}${e.suppressed ? '; address suppressed (bounced)' : ''}` };
    case 'in_doubt':
      return { level: 'warn', message: `IN DOUBT for ${e.email}: ${e.error}; not resent unless you run: aremko-mail resolve ${e.campaignId} --resend` };
    case 'requeued':
      return { level: 'warn', message: `requeued ${e.email}: ${e.error}; the provider deduplicates the resend (same idempotency key)` };
    case 'waiting':
      return { level: 'info', message: `waiting until ${iso(e.until)} (${e.reason})` };
    case 'throttled':
      return { level: 'warn', message: `the provider asked to slow down: no sends until ${iso(e.until)} (${e.error})` };
    case 'stopped':
      return { level: 'info', message: `stopped: campaign is ${e.status}` };
    case 'completed':
      return {
        level: 'info',
        message: `campaign completed: ${e.counts.sent} sent, ${e.counts.failed} failed, ${e.counts.in_doubt} in doubt, ${e.counts.suppressed} suppressed`,
      };
    case 'run_ended':
      return {
        level: e.outcome === 'unavailable' || e.outcome === 'database_error' || e.outcome === 'error' ? 'error' : 'info',
        message: `run ended (${RUN_OUTCOME_TEXT[e.outcome] ?? e.outcome}): ${e.sent} sent, ${e.failed} failed, ${e.retried} to retry, ${e.inDoubt} in doubt`,
      };
    case 'transport_error':
      return { level: 'error', message: `mail server unavailable: ${e.error}; nothing marked failed` };
    case 'status':
      return { level: 'info', message: `campaign ${e.from} → ${e.to}` };
    case 'import':
      return {
        level: 'info',
        message: `imported ${n(e.imported, 'recipient')} from ${e.file}: ${n(e.duplicates, 'duplicate')}, ${e.suppressed} suppressed, ${e.invalid} invalid`,
      };
    case 'resolve':
      return {
        level: 'info',
        message:
          `${n(e.count, 'in-doubt recipient')} ${e.mode === 'resend' ? 'queued to send again' : 'marked sent'}` +
          (e.emails ? ` (${e.emails.join(', ')})` : ''),
      };
    default: {
      // A type this version does not know (written by a newer one): whatever words it brought.
      const other = e as { type: string; level?: EventLevel; message?: string };
      return { level: other.level ?? 'info', message: other.message ?? other.type };
    }
  }
}

/** The event's fields other than where and when, as stored in a row's `data`. */
export function eventData(e: EngineEvent): Record<string, unknown> {
  const { at: _at, campaignId: _c, type: _t, ...data } = e;
  return data;
}

/**
 * A stored row back into words: rows of a known type are worded from their data (so wording can
 * improve without rewriting the database); unknown ones (written by a newer version) keep the
 * message stored with them.
 */
export function storedEvent(row: { id: number; campaignId: number | null; at: number; type: string; data: Record<string, unknown> | null; level?: string; message?: string }): StoredEvent {
  const data = row.data ?? {};
  if ((EVENT_TYPES as readonly string[]).includes(row.type) && row.campaignId !== null) {
    const e = { ...data, at: row.at, campaignId: row.campaignId, type: row.type as EngineEventType } as EngineEvent;
    try {
      const { level, message } = describe(e);
      return { id: row.id, campaignId: row.campaignId, at: row.at, type: row.type, level, message, data };
    } catch {
      // a row of an older shape: fall back to what was stored with it
    }
  }
  return {
    id: row.id,
    campaignId: row.campaignId,
    at: row.at,
    type: row.type,
    level: (row.level as EventLevel) ?? 'info',
    message: row.message ?? row.type,
    data,
  };
}

export function textLine(e: EngineEvent): string {
  const { level, message } = describe(e);
  return `${iso(e.at)} ${level.padEnd(5)} #${e.campaignId} ${e.type.padEnd(15)} ${message}`;
}

export function jsonLine(e: EngineEvent): string {
  const { level, message } = describe(e);
  return JSON.stringify({ ...e, at: iso(e.at), level, message });
}

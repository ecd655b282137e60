/** One place that turns engine events into words: stored event rows, text log lines, JSON lines. */
import type { EngineEvent } from './events.js';
import type { NewEvent } from './store.js';
import type { EventLevel } from './types.js';

const iso = (ms: number) => new Date(ms).toISOString();

const RUN_OUTCOME: Record<string, string> = {
  completed: 'campaign completed',
  paused: 'campaign paused',
  cancelled: 'campaign cancelled',
  deadline: 'nothing more due before --max-runtime',
  stopped: 'stopped by signal or operator',
  lease_lost: 'lease lost',
  unavailable: 'mail server unavailable',
};

export function describe(e: EngineEvent): { level: EventLevel; message: string } {
  switch (e.type) {
    case 'lease_acquired':
      return {
        level: e.markedInDoubt > 0 ? 'warn' : 'info',
        message:
          `lease taken by ${e.owner}` +
          (e.tookOverFrom ? ` (took over from ${e.tookOverFrom}, which is gone)` : '') +
          (e.markedInDoubt > 0 ? `; ${e.markedInDoubt} recipient(s) it had in flight are now in_doubt` : ''),
      };
    case 'lease_held':
      return { level: 'info', message: `campaign is being sent by ${e.holder} (lease until ${iso(e.expiresAt)}); leaving it alone` };
    case 'lease_lost':
      return { level: 'warn', message: 'lease lost (expired or taken over); stopped claiming' };
    case 'batch_started':
      return { level: 'info', message: `batch ${e.batch} started (up to ${e.batchSize} messages)` };
    case 'batch_finished':
      return {
        level: 'info',
        message: `batch ${e.batch} finished` + (e.nextBatchAt !== null ? `; next batch due ${iso(e.nextBatchAt)}` : ''),
      };
    case 'sent':
      return { level: 'info', message: `sent to ${e.email} (batch ${e.batch}, attempt ${e.attempt}): ${e.response}` };
    case 'retry_scheduled':
      return { level: 'warn', message: `temporary failure for ${e.email} (attempt ${e.attempt}): ${e.error}; retry at ${iso(e.retryAt)}` };
    case 'failed':
      return {
        level: 'error',
        message: `failed for ${e.email} (attempt ${e.attempt}): ${e.error}${e.suppressed ? '; address suppressed (bounced)' : ''}`,
      };
    case 'in_doubt':
      return { level: 'warn', message: `IN DOUBT for ${e.email}: ${e.error}; not resent unless you run: aremko-mail resolve ${e.campaignId} --resend` };
    case 'waiting':
      return { level: 'info', message: `waiting until ${iso(e.until)} (${e.reason})` };
    case 'stopped':
      return { level: 'info', message: `stopped: campaign is ${e.status}` };
    case 'completed':
      return { level: 'info', message: `campaign completed: ${e.counts.sent} sent, ${e.counts.failed} failed, ${e.counts.in_doubt} in doubt` };
    case 'run_ended':
      return {
        level: e.outcome === 'unavailable' ? 'error' : 'info',
        message: `run ended (${RUN_OUTCOME[e.outcome] ?? e.outcome}): ${e.sent} sent, ${e.failed} failed, ${e.retried} to retry, ${e.inDoubt} in doubt`,
      };
    case 'transport_error':
      return { level: 'error', message: `mail server unavailable: ${e.error}; nothing marked failed` };
  }
}

/** The row stored in the database event log. */
export function toStoredEvent(e: EngineEvent): NewEvent {
  const { at, campaignId, type, ...data } = e;
  const { level, message } = describe(e);
  return { at, campaignId, type, level, message, data };
}

export function textLine(e: EngineEvent): string {
  const { level, message } = describe(e);
  return `${iso(e.at)} ${level.padEnd(5)} #${e.campaignId} ${e.type.padEnd(15)} ${message}`;
}

export function jsonLine(e: EngineEvent): string {
  const { level, message } = describe(e);
  return JSON.stringify({ ...e, at: iso(e.at), level, message });
}

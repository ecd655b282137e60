/**
 * Everything that goes into a campaign's log, as data. The engine emits these while it works
 * (the run's stdout, the TUI), the store keeps them (the `logs` command, the TUI's log), and
 * event-log.ts is the one place that turns them into words — nothing stores its own sentences.
 *
 * Attempts (sent, failed, retry, in doubt, requeued) are stored as one compact row each, the
 * recipient's history; everything else is a campaign event.
 */
import type { Reaped } from './store.js';
import type { RecipientStatus, WaitReason } from './types.js';

interface Base {
  /** Epoch ms (from the injected clock). */
  at: number;
  campaignId: number;
}

interface AttemptBase extends Base {
  recipientId: number;
  email: string;
  /** Which attempt of this recipient (1 for the first). */
  attempt: number;
  batch: number | null;
}

/** One attempt's end: the per-send rows of the log and a recipient's history. */
export type AttemptEvent =
  | (AttemptBase & { type: 'sent'; response: string; messageId: string; providerId: string | null })
  | (AttemptBase & { type: 'retry_scheduled'; retryAt: number; error: string })
  | (AttemptBase & { type: 'failed'; error: string; suppressed: boolean })
  | (AttemptBase & { type: 'in_doubt'; error: string })
  /** Its runner died; resent under the same idempotency key, which the provider still honours. */
  | (AttemptBase & { type: 'requeued'; error: string });

/** Why a run stopped working on a campaign. */
export const RUN_OUTCOMES = [
  'completed',
  'paused',
  'cancelled',
  'not_sending',
  'deadline',
  'stopped',
  'lease_lost',
  'unavailable',
  'database_error',
  'error',
  'missing',
] as const;
export type RunOutcome = (typeof RUN_OUTCOMES)[number];

export type CampaignEvent =
  | (Base & { type: 'runner_joined'; owner: string })
  /** `owner` was dead (lease expired, or its process gone from this host); `by` took over. */
  | (Base & { type: 'runner_reaped'; owner: string; by: string; inDoubt: number; requeued: number })
  | (Base & { type: 'lease_lost'; owner: string })
  | (Base & { type: 'batch_started'; batch: number; batchSize: number })
  | (Base & { type: 'batch_finished'; batch: number; nextBatchAt: number | null })
  | (Base & { type: 'waiting'; until: number; reason: WaitReason })
  /** An email API asked for a pause (HTTP 429): nobody claims until `until`. */
  | (Base & { type: 'throttled'; until: number; error: string })
  | (Base & { type: 'stopped'; status: string })
  | (Base & { type: 'completed'; counts: Record<RecipientStatus | 'total', number> })
  | (Base & { type: 'transport_error'; error: string })
  /** This runner is done with the campaign: why, and what it did. */
  | (Base & { type: 'run_ended'; outcome: RunOutcome; sent: number; failed: number; retried: number; inDoubt: number })
  | (Base & { type: 'status'; from: string; to: string })
  | (Base & { type: 'import'; file: string; imported: number; duplicates: number; suppressed: number; invalid: number })
  | (Base & { type: 'resolve'; mode: 'resend' | 'mark-sent'; count: number; emails: string[] | null });

/** What the log holds: the store writes these rows as they are. */
export type LoggedEvent = CampaignEvent;

/** What the engine reports to its listeners. */
export type EngineEvent = CampaignEvent | AttemptEvent;
export type EngineEventType = EngineEvent['type'];

/** Every event type, for tests and translations that must cover them all. */
export const EVENT_TYPES = [
  'sent',
  'retry_scheduled',
  'failed',
  'in_doubt',
  'requeued',
  'runner_joined',
  'runner_reaped',
  'lease_lost',
  'batch_started',
  'batch_finished',
  'waiting',
  'throttled',
  'stopped',
  'completed',
  'transport_error',
  'run_ended',
  'status',
  'import',
  'resolve',
] as const satisfies readonly EngineEventType[];

export const ATTEMPT_EVENT_TYPES = ['sent', 'retry_scheduled', 'failed', 'in_doubt', 'requeued'] as const;

export function isAttemptEvent(e: EngineEvent): e is AttemptEvent {
  return (ATTEMPT_EVENT_TYPES as readonly string[]).includes(e.type);
}

export type { Reaped };

/**
 * What the engine reports while it works. The log printer (text or JSON lines), the database
 * event log and the TUI all consume these; nothing else is a source of truth for "what happened".
 */
import type { RecipientStatus } from './types.js';

interface Base {
  /** Epoch ms (from the injected clock). */
  at: number;
  campaignId: number;
}

export type EngineEvent =
  | (Base & { type: 'lease_acquired'; owner: string; tookOverFrom: string | null; markedInDoubt: number })
  | (Base & { type: 'lease_held'; holder: string; expiresAt: number })
  | (Base & { type: 'lease_lost' })
  | (Base & { type: 'batch_started'; batch: number; batchSize: number })
  | (Base & { type: 'batch_finished'; batch: number; nextBatchAt: number | null })
  | (Base & { type: 'sent'; recipientId: number; email: string; batch: number; attempt: number; response: string; messageId: string })
  | (Base & { type: 'retry_scheduled'; recipientId: number; email: string; attempt: number; retryAt: number; error: string })
  | (Base & { type: 'failed'; recipientId: number; email: string; attempt: number; error: string; suppressed: boolean })
  | (Base & { type: 'in_doubt'; recipientId: number; email: string; error: string })
  | (Base & { type: 'waiting'; until: number; reason: 'interval' | 'rate' | 'window' | 'retry' | 'deadline' })
  | (Base & { type: 'stopped'; status: string })
  | (Base & { type: 'completed'; counts: Record<RecipientStatus | 'total', number> })
  | (Base & { type: 'transport_error'; error: string })
  /** This runner is done with the campaign: why, and what it did. */
  | (Base & { type: 'run_ended'; outcome: string; sent: number; failed: number; retried: number; inDoubt: number });

export type EngineEventType = EngineEvent['type'];

/**
 * What the TUI's screens see: the snapshot the controller publishes (controller.ts), its log
 * lines, the notices it raises and the runs of this process.
 */
import type { CampaignOutcome } from '../core/engine.js';
import type { CampaignStatus, CampaignSummary, EventLevel } from '../core/types.js';
import type { Pictures, RecipientHistory, RecipientPage } from './view-feeds.js';

export interface LogLine {
  /** Unique and stable: `e<id>` (every line is a stored event; the engine stores its decisions). */
  key: string;
  at: number;
  level: EventLevel;
  type: string;
  data: Record<string, unknown>;
  /** The stored English message: shown for event types the TUI does not know. */
  message: string;
}

export type Notice = { level: EventLevel; at: number } & (
  | { code: 'no_transport' }
  | { code: 'bad_transport'; error: string }
  | { code: 'sending_now' | 'already_running' | 'paused' | 'cancelled' | 'no_pending' | 'no_in_doubt' | 'no_failed'; id: number }
  | { code: 'resolved'; id: number; mode: 'resend' | 'mark-sent'; count: number }
  | { code: 'resolved_one'; id: number; mode: 'resend' | 'mark-sent'; email: string }
  /** The recipient is not (or no longer) in doubt: nothing to resolve. */
  | { code: 'not_in_doubt'; id: number; email: string }
  /** The store this TUI was given cannot list recipients or their history yet. */
  | { code: 'not_startable' | 'not_pausable' | 'not_cancellable'; id: number; status: CampaignStatus }
  | { code: 'missing_fields'; id: number; fields: { name: string; count: number }[] }
  | { code: 'run_ended'; id: number; outcome: CampaignOutcome; error: string | null }
  | { code: 'error'; text: string }
);
export type NoticeBody = Notice extends infer N ? (N extends Notice ? Omit<N, 'level' | 'at'> : never) : never;

export interface RunInfo {
  campaignId: number;
  state: 'running' | 'stopping';
  startedAt: number;
}

export interface CampaignStats {
  perMinute: number | null;
  msPerMessage: number | null;
}

export interface Snapshot {
  loaded: boolean;
  campaigns: CampaignSummary[];
  /** Engines running in this process, by campaign id. */
  runs: Record<number, RunInfo>;
  /** "host:pid" of this process: a lease with this owner and a run here is "this window". */
  ownerName: string;
  watchedId: number | null;
  /** The watched campaign's log, oldest first, at most `logLimit` lines. */
  log: LogLine[];
  /** Older lines exist in the database than the buffer holds. */
  logTruncated: boolean;
  stats: Record<number, CampaignStats>;
  /**
   * Each registered runner's liveness by its token, as core/status.ts's `runnerAlive` judged it at
   * the last look: false once its lease expired or its process is gone from this host, null when
   * it runs on another host with a valid lease. (Expiry after the look: compare `expiresAt`.)
   */
  alive: Record<string, boolean | null>;
  notice: Notice | null;
  transportLabel: string | null;
  fatal: string | null;
  recipients: RecipientPage | null;
  history: RecipientHistory | null;
  pictures: Pictures | null;
}

/** Words about a campaign's state shared by the screens: who is sending it, what it waits for, notices. */
import type { CampaignSummary, Waiting } from '../core/types.js';
import type { Notice, Snapshot } from './controller.js';
import { outcomeText } from './event-text.js';
import { type Formatter, type Messages, t } from './i18n.js';

/**
 * A runner of the campaign as the truth has it. `running` is alive, or on another host with a
 * lease still valid (nothing here can tell more); `gone` ran on this host and its process is
 * gone; `expired` stopped renewing its lease. Only `this` and `running` are sending.
 */
export type RunnerState =
  | { kind: 'this'; owner: string }
  | { kind: 'running'; owner: string }
  | { kind: 'gone'; owner: string }
  | { kind: 'expired'; owner: string; at: number };

/** This window first (when it sends the campaign), then every registered runner, oldest first. */
export function runnersOf(s: CampaignSummary, snap: Snapshot, now: number): RunnerState[] {
  const out: RunnerState[] = [];
  const mine = snap.runs[s.campaign.id] !== undefined;
  if (mine) out.push({ kind: 'this', owner: snap.ownerName });
  for (const r of s.runners) {
    if (r.expiresAt <= now) out.push({ kind: 'expired', owner: r.owner, at: r.expiresAt });
    else if (r.owner === snap.ownerName) {
      if (!mine) out.push({ kind: 'this', owner: r.owner });
    } else if (snap.alive[r.token] === false) out.push({ kind: 'gone', owner: r.owner });
    else out.push({ kind: 'running', owner: r.owner });
  }
  return out;
}

export const isSending = (r: RunnerState) => r.kind === 'this' || r.kind === 'running';

/** The detail's "Sending:" words: one entry per runner. */
export function runnerTexts(runners: RunnerState[], m: Messages, fmt: Formatter, tz: string | null, now: number): string[] {
  return runners.map((r) => {
    switch (r.kind) {
      case 'this':
        return `${m.thisWindow} (${r.owner})`;
      case 'running':
        return t(m.otherRun, { owner: r.owner });
      case 'gone':
        return t(m.runnerGone, { owner: r.owner });
      case 'expired':
        return t(m.runnerExpired, { owner: r.owner, time: fmt.time(r.at, tz, now) });
    }
  });
}

/**
 * Texts as rows of `width` columns after a label of `labelWidth`: a text too long is broken at
 * its " — " (what happened — what comes next) rather than cut off.
 */
export function fitRows(texts: string[], labelWidth: number, width: number): string[] {
  const rows: string[] = [];
  for (const text of texts) {
    const dash = text.indexOf(' — ');
    if (labelWidth + [...text].length <= width || dash < 0) rows.push(text);
    else rows.push(text.slice(0, dash), text.slice(dash + 1));
  }
  return rows;
}

/** What holds a sending campaign back, from the store's `waiting` (null: nothing, or it is over). */
export function waitOf(s: CampaignSummary, now: number): Waiting | null {
  const w = s.waiting;
  return s.campaign.status === 'sending' && w && w.until > now ? w : null;
}

/**
 * The list's second line after the counts: who sends (or that its runner is gone), then what it
 * waits for ("next batch in 0:27", "outside the send window until 09:00:00"). Short words: the
 * detail says it in full.
 */
export function standingText(s: CampaignSummary, snap: Snapshot, now: number, m: Messages, fmt: Formatter): string[] {
  const c = s.campaign;
  if (c.status !== 'sending') return [];
  const runners = runnersOf(s, snap, now);
  const parts: string[] = [];
  // A dead runner first: on a narrow line it is what must not be cut off.
  for (const r of runners) {
    if (r.kind === 'gone') parts.push(t(m.listGone, { owner: r.owner }));
    else if (r.kind === 'expired') parts.push(t(m.listExpired, { owner: r.owner, time: fmt.time(r.at, c.timeZone, now) }));
  }
  const live = runners.filter(isSending);
  const wait = waitOf(s, now);
  if (wait?.reason === 'interval') parts.push(t(m.nextBatchIn, { d: fmt.countdown(wait.until - now) }));
  else if (wait) parts.push(t(m.listWait[wait.reason], { time: fmt.time(wait.until, c.timeZone, now) }));
  else if (live.length === 0) parts.push(m.nextBatchNow);
  if (live.length > 0) parts.push(t(m.sendingBy, { who: live.map((r) => (r.kind === 'this' ? m.thisWindow : r.owner)).join(', ') }));
  return parts;
}

export function noticeText(n: Notice, m: Messages, fmt: Formatter): string {
  const N = m.notice;
  switch (n.code) {
    case 'no_transport':
      return N.no_transport;
    case 'bad_transport':
      return t(N.bad_transport, { error: n.error });
    case 'sending_now':
    case 'already_running':
    case 'paused':
    case 'cancelled':
    case 'no_pending':
    case 'no_in_doubt':
    case 'no_failed':
      return t(N[n.code], { id: n.id });
    case 'resolved':
      return t(n.mode === 'resend' ? N.resolved_resend : N.resolved_mark, { id: n.id, n: fmt.num(n.count) });
    case 'resolved_one':
      return t(n.mode === 'resend' ? N.resolved_one_resend : N.resolved_one_mark, { id: n.id, email: n.email });
    case 'not_in_doubt':
      return t(N.not_in_doubt, { id: n.id, email: n.email });
    case 'not_startable':
    case 'not_pausable':
    case 'not_cancellable':
      return t(N[n.code], { id: n.id, status: m.statusIs[n.status] });
    case 'missing_fields':
      return t(N.missing_fields, {
        id: n.id,
        fields: n.fields.map((f) => t(N.missing_field, { name: f.name, n: fmt.num(f.count) })).join(', '),
      });
    case 'run_ended': {
      switch (n.outcome) {
        case 'completed':
          return t(N.run_completed, { id: n.id });
        case 'paused':
          return t(N.run_paused, { id: n.id });
        case 'cancelled':
          return t(N.run_cancelled, { id: n.id });
        case 'stopped':
        case 'deadline':
          return t(N.run_stopped, { id: n.id });
        case 'lease_lost':
          return t(N.run_lease_lost, { id: n.id });
        case 'unavailable':
          return t(N.run_unavailable, { id: n.id, error: n.error ?? '' });
        default:
          return t(N.run_other, { id: n.id, outcome: outcomeText(m, n.outcome) });
      }
    }
    case 'error':
      return t(N.error, { text: n.text });
  }
}

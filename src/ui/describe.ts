/** Words about a campaign's state shared by the screens: who is sending it, what comes next, notices. */
import type { CampaignSummary } from '../core/types.js';
import type { Notice, Snapshot } from './controller.js';
import { outcomeText } from './event-text.js';
import { type Formatter, type Messages, t } from './i18n.js';

export type Sender = { kind: 'this'; owner: string } | { kind: 'other'; owner: string } | { kind: 'none' };

/** A live lease names who sends; ours (with an engine here) is "this window". */
export function senderOf(s: CampaignSummary, snap: Snapshot, now: number): Sender {
  const id = s.campaign.id;
  const mine = snap.runs[id] !== undefined;
  if (mine) return { kind: 'this', owner: snap.ownerName };
  const other = s.runners.find((r) => r.expiresAt > now && r.owner !== snap.ownerName);
  if (other) return { kind: 'other', owner: other.owner };
  return { kind: 'none' };
}

export function senderText(sender: Sender, m: Messages): string {
  if (sender.kind === 'this') return `${m.thisWindow} (${sender.owner})`;
  if (sender.kind === 'other') return t(m.otherRun, { owner: sender.owner });
  return '';
}

/** "next batch in 0:27" / "next batch due now" / "sending: this window" for the list's second line. */
export function nextText(s: CampaignSummary, snap: Snapshot, now: number, m: Messages, fmt: Formatter): string | null {
  const c = s.campaign;
  if (c.status !== 'sending') return null;
  const sender = senderOf(s, snap, now);
  const by = sender.kind === 'none' ? null : t(m.sendingBy, { who: sender.kind === 'this' ? m.thisWindow : sender.owner });
  if (c.batchClaimed === 0 && c.nextBatchAt !== null && c.nextBatchAt > now) {
    const next = t(m.nextBatchIn, { d: fmt.countdown(c.nextBatchAt - now) });
    return by ? `${next} · ${by}` : next;
  }
  return by ?? m.nextBatchNow;
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

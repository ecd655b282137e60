/** The contract's status document and one-line status, built from a CampaignSummary. Shared by CLI and TUI. */
import { printable } from './printable.js';
import type { CampaignSummary, Runner, StatusCounts, Waiting } from './types.js';

/** What this process can know about runners: its host name and whether a local pid lives. */
export interface Observer {
  host: string;
  isAlive(pid: number): boolean;
}

export interface RunnerJson {
  owner: string;
  expires_at: string;
  alive: boolean | null;
}

export interface StatusJson {
  id: number;
  name: string;
  status: string;
  counts: StatusCounts;
  batch_size: number;
  interval_seconds: number;
  batches_sent: number;
  next_batch_at: string | null;
  lease: RunnerJson | null;
  runners: RunnerJson[];
  waiting: { reason: Waiting['reason']; until: string } | null;
  last_error: string | null;
}

/** Epoch ms as ISO 8601; null for a value no date can hold (a corrupted or hand-edited row). */
export function isoOrNull(ms: number | null): string | null {
  if (ms === null || !Number.isFinite(ms)) return null;
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}

/**
 * Is the runner alive? false once its lease expired, or when it ran on this host and its process
 * is gone; null when it runs on another host with a lease still valid (nothing here can tell).
 */
export function runnerAlive(r: Runner, now: number, here: Observer): boolean | null {
  if (r.expiresAt <= now) return false;
  if (r.host === here.host) return here.isAlive(r.pid);
  return null;
}

const runnerJson = (r: Runner, now: number, here: Observer): RunnerJson => ({
  owner: r.owner,
  expires_at: isoOrNull(r.expiresAt) ?? '',
  alive: runnerAlive(r, now, here),
});

/** The runner the contract's `lease` shows: the oldest whose lease has not expired. */
export function leaseHolder(s: CampaignSummary, now: number): Runner | null {
  return s.runners.find((r) => r.expiresAt > now) ?? null;
}

export function statusJson(s: CampaignSummary, now: number, here: Observer): StatusJson {
  const c = s.campaign;
  const scheduled = c.status === 'sending' || c.status === 'paused';
  const holder = leaseHolder(s, now);
  return {
    id: c.id,
    name: c.name,
    status: c.status,
    counts: {
      total: s.counts.total,
      pending: s.counts.pending,
      sending: s.counts.sending,
      sent: s.counts.sent,
      failed: s.counts.failed,
      suppressed: s.counts.suppressed,
      in_doubt: s.counts.in_doubt,
    },
    batch_size: c.batchSize,
    interval_seconds: c.intervalSeconds,
    batches_sent: c.batchesSent,
    next_batch_at: scheduled ? isoOrNull(c.nextBatchAt) : null,
    lease: holder ? runnerJson(holder, now, here) : null,
    runners: s.runners.map((r) => runnerJson(r, now, here)),
    waiting: s.waiting ? { reason: s.waiting.reason, until: isoOrNull(s.waiting.until) ?? '' } : null,
    last_error: c.lastError,
  };
}

/** A time as the campaign's operator reads it: in its zone when it has one, else UTC. */
export function formatInZone(ms: number, timeZone: string | null): string {
  if (!Number.isFinite(ms) || Number.isNaN(new Date(ms).getTime())) return 'an unusable time';
  if (!timeZone) return new Date(ms).toISOString().replace('.000Z', 'Z');
  try {
    const parts = new Intl.DateTimeFormat('en-CA', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    }).format(ms);
    return `${parts.replace(',', '')} ${timeZone}`;
  } catch {
    return new Date(ms).toISOString();
  }
}

const WAIT_WORDS: Record<Waiting['reason'], string> = {
  interval: 'next batch due',
  rate: 'held by the rate limit until',
  window: 'outside its send window until',
  retry: 'next retries due',
};

/** Who works on the campaign, in words that stay true when a runner died; and who lives. */
function runnersLine(s: CampaignSummary, now: number, here: Observer): { parts: string[]; live: string[] } {
  const parts: string[] = [];
  const live: string[] = [];
  for (const r of s.runners) {
    const alive = runnerAlive(r, now, here);
    if (r.expiresAt <= now) parts.push(`lease of ${r.owner} expired at ${formatInZone(r.expiresAt, s.campaign.timeZone)} — the next run takes over`);
    else if (alive === false) parts.push(`${r.owner} is not running — the next run takes over`);
    else live.push(r.owner);
  }
  if (live.length > 0) parts.unshift(`sending now by ${live.join(', ')}`);
  return { parts, live };
}

/** "where is it?" in one line. */
export function statusLine(s: CampaignSummary, now: number, here: Observer): string {
  const c = s.campaign;
  const n = s.counts;
  const parts = [`#${c.id} ${printable(c.name)}: ${c.status}`, `${n.sent}/${n.total} sent`];
  if (n.pending) parts.push(`${n.pending} pending`);
  if (n.sending) parts.push(`${n.sending} in flight`);
  if (n.failed) parts.push(`${n.failed} failed`);
  if (n.in_doubt) parts.push(`${n.in_doubt} IN DOUBT (see: aremko-mail resolve ${c.id})`);
  if (n.suppressed) parts.push(`${n.suppressed} suppressed`);
  parts.push(
    c.batchClaimed
      ? `batch ${c.batchesSent + 1} in progress (${c.batchClaimed}/${c.batchSize} claimed)`
      : `${c.batchesSent} batch${c.batchesSent === 1 ? '' : 'es'} done`,
  );
  const runners = runnersLine(s, now, here);
  parts.push(...runners.parts);
  if (c.status === 'sending') {
    if (s.waiting) parts.push(`${WAIT_WORDS[s.waiting.reason]} ${formatInZone(s.waiting.until, c.timeZone)}`);
    // Nobody alive works on it (none registered, or only dead ones): it is due, but for the next run.
    else if (runners.live.length === 0 && c.nextBatchAt !== null) parts.push('next batch due now (waiting for a run)');
  }
  if (c.lastError) parts.push(`last error: ${printable(c.lastError)}`);
  return parts.join(' · ');
}

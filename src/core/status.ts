/** The contract's status document, built from a CampaignSummary. Shared by CLI and TUI. */
import type { CampaignSummary, StatusCounts } from './types.js';

export interface StatusJson {
  id: number;
  name: string;
  status: string;
  counts: StatusCounts;
  batch_size: number;
  interval_seconds: number;
  batches_sent: number;
  next_batch_at: string | null;
  lease: { owner: string; expires_at: string } | null;
  last_error: string | null;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function statusJson(s: CampaignSummary): StatusJson {
  const c = s.campaign;
  const scheduled = c.status === 'sending' || c.status === 'paused';
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
    next_batch_at: scheduled ? iso(c.nextBatchAt) : null,
    lease: s.lease ? { owner: s.lease.owner, expires_at: iso(s.lease.expiresAt)! } : null,
    last_error: c.lastError,
  };
}

/** "where is it?" in one line. */
export function statusLine(s: CampaignSummary, now: number): string {
  const c = s.campaign;
  const n = s.counts;
  const parts = [`#${c.id} ${c.name}: ${c.status}`, `${n.sent}/${n.total} sent`];
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
  if (s.lease && s.lease.expiresAt > now) parts.push(`sending now by ${s.lease.owner}`);
  else if (c.status === 'sending' && c.nextBatchAt !== null)
    parts.push(c.nextBatchAt > now ? `next batch ${new Date(c.nextBatchAt).toISOString()}` : 'next batch due now');
  if (c.lastError) parts.push(`last error: ${c.lastError}`);
  return parts.join(' · ');
}

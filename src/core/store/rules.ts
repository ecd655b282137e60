/**
 * The rules of a campaign's state, written once for every backend: who may claim which
 * recipient and when (status, lease, batch, interval, send window, rate, retry time, provider
 * throttling), what recording an answer does, when a batch closes and a campaign completes, what
 * the operator may change (rules-runners.ts holds the runners' own: leases and the takeover of a
 * dead one). Each function runs inside one transaction a backend opens
 * (`Tx`). Every rule that writes a campaign's recipients or runners locks the campaign row first
 * (on PostgreSQL; SQLite has one writer anyway): runners on many hosts take these decisions one at
 * a time, the limits hold for all of them together, and all take their locks in the same order.
 */
import type { AttemptEvent, LoggedEvent } from '../events.js';
import { describe, eventData } from '../event-log.js';
import type { AttemptResult, ClaimOptions, ClaimResult, SettleResult } from '../store.js';
import type { Campaign, CampaignState, CampaignStatus, CampaignSummary, Recipient, Runner, StatusCounts, Waiting } from '../types.js';
import { DEDUPE_ELSEWHERE, DEDUPE_EXPIRED } from '../stored-errors.js';
import { laterBy } from '../types.js';
import type { AttemptRow, RecipientResultPatch, RecordedRecipient, Tx, UnsafeResend } from './tx.js';

type Schedule = typeof import('../schedule.js');
let schedule: Schedule | null = null;
/** Send windows need luxon: loaded the first time a campaign has a window. */
async function loadSchedule(): Promise<Schedule> {
  schedule ??= await import('../schedule.js');
  return schedule;
}

export async function logEvent(t: Tx, e: LoggedEvent): Promise<void> {
  const { level, message } = describe(e);
  await t.insertEvent(e, level, message);
}

// ---- waits ------------------------------------------------------------------------------------

/** Attempts in the rate limit's sliding window now (every attempt counts from its claim); null without a limit. */
type RateUsage = { used: number; edge: number | null } | null;

async function rateUsage(t: Tx, c: CampaignState, now: number): Promise<RateUsage> {
  return c.rate ? t.rateUsage(c.id, now - c.rate.windowSeconds * 1000, c.rate.count) : null;
}

/**
 * What keeps a `sending` campaign from claiming now, if anything: the next batch's due time, the
 * send window, the rate limit over every attempt in its sliding window (`usage`), a provider's
 * 429. When several hold it back, the one that lasts longest is what it waits for.
 */
export async function timeGate(c: CampaignState, now: number, usage: RateUsage): Promise<Waiting | null> {
  const waits: Waiting[] = [];
  if (c.batchClaimed === 0 && c.nextBatchAt !== null && c.nextBatchAt > now) waits.push({ reason: 'interval', until: c.nextBatchAt });
  if (c.throttledUntil !== null && c.throttledUntil > now) waits.push({ reason: 'rate', until: c.throttledUntil });
  if (c.window && c.timeZone) {
    const { inWindow, nextWindowStart } = await loadSchedule();
    if (!inWindow(now, c.window, c.timeZone)) waits.push({ reason: 'window', until: nextWindowStart(now, c.window, c.timeZone) });
  }
  if (c.rate && usage) {
    // When the oldest of the newest `count` attempts leaves the window, one more may go.
    if (usage.used >= c.rate.count && usage.edge !== null) waits.push({ reason: 'rate', until: usage.edge + c.rate.windowSeconds * 1000 + 1 });
  }
  if (waits.length === 0) return null;
  // On a tie the later-listed reason (window, rate) says more than `interval`.
  return waits.reduce((a, b) => (b.until >= a.until ? b : a));
}

/** How many more the rate limit lets go now (Infinity without one). */
function rateRoom(c: CampaignState, usage: RateUsage): number {
  if (!c.rate || !usage) return Infinity;
  return Math.max(0, c.rate.count - usage.used);
}

/** The `waiting` of status: why a sending campaign is not sending now. */
export async function waitingOf(t: Tx, c: Campaign, counts: StatusCounts, now: number): Promise<Waiting | null> {
  if (c.status !== 'sending') return null;
  if (c.batchClaimed >= c.batchSize && c.batchClaimed > 0) return null; // a full batch finishing
  const gate = await timeGate(c, now, await rateUsage(t, c, now));
  if (gate) return gate;
  if (counts.pending === 0) return null;
  const next = await t.nextPendingAt(c.id);
  return next !== null && next > now ? { reason: 'retry', until: next } : null;
}

export async function summaries(t: Tx, ids: number[] | undefined, now: number): Promise<CampaignSummary[]> {
  const campaigns = await t.campaigns(ids);
  const out: CampaignSummary[] = [];
  for (const campaign of campaigns) {
    const counts = await t.counts(campaign.id);
    out.push({ campaign, counts, runners: await t.runners(campaign.id), waiting: await waitingOf(t, campaign, counts, now) });
  }
  return out;
}

/** The log row of an attempt that ended without an answer. */
export function attemptRow(row: RecordedRecipient, type: AttemptEvent['type'], now: number, detail: string): AttemptRow {
  return {
    campaignId: row.campaignId,
    recipientId: row.recipientId,
    at: now,
    type,
    attempt: row.attempts,
    batch: row.batch,
    claimedAt: row.claimedAt ?? now,
    detail,
    providerId: null,
    extra: null,
  };
}

// ---- claiming -------------------------------------------------------------------------------

/**
 * A claim whose statement is under way: its rows come back in the pipeline of the transaction's
 * COMMIT (PostgreSQL), so the campaign row is held one round trip less than if the rules awaited
 * them before committing. `claimAnswered` makes the ClaimResult of its rows.
 */
export interface ClaimUnderWay {
  kind: 'under_way';
  recipients: Promise<Recipient[]>;
  batch: number;
  batchStarted: boolean;
  campaign: CampaignState;
  upcoming: Promise<Recipient[]> | null;
}

/** What a step's transaction decided about its claim: `under_way` until its rows are back. */
export type StepClaim = ClaimResult | ClaimUnderWay | null;

/**
 * Decides whether the runner `token` may claim now and how many (every rule checked here; `c` is
 * the campaign as read, locked, in this transaction), and issues the claim of up to `max` due
 * recipients. The claim is not awaited: see ClaimUnderWay.
 */
async function claim(
  t: Tx,
  c: CampaignState | null,
  campaignId: number,
  token: string,
  now: number,
  max: number,
  options: ClaimOptions,
  reads: ClaimReads,
): Promise<ClaimResult | ClaimUnderWay> {
  if (!c) return { kind: 'stopped', status: 'cancelled' };
  if (c.status !== 'sending') return { kind: 'stopped', status: c.status };
  const me = await reads.runner;
  if (!me || me.campaignId !== campaignId || me.expiresAt <= now) return { kind: 'lost_lease' };
  if (c.batchClaimed >= c.batchSize) return { kind: 'batch_full' };
  // Read once for both the gate and the room: on PostgreSQL each read is a round trip with the
  // campaign row held.
  const usage = await rateUsage(t, c, now);
  const wait = await timeGate(c, now, usage);
  if (wait) return { kind: 'wait', ...wait };

  // Requeued recipients that only their provider's memory of the idempotency key kept from being
  // delivered twice: once it forgot the key, or through a transport that has no such memory (an
  // operator who switched to SMTP or another API), a resend is a guess. In doubt instead.
  const unsafe = await reads.unsafe;
  for (const [expired, detail] of [[true, DEDUPE_EXPIRED], [false, DEDUPE_ELSEWHERE]] as const) {
    const ids = unsafe.filter((u) => u.expired === expired).map((u) => u.id);
    if (ids.length === 0) continue;
    const rows = await t.markUnanswered(ids, 'in_doubt', detail, now);
    await t.insertAttempts(rows.map((r) => attemptRow(r, 'in_doubt', now, detail)));
  }

  const room = Math.min(max, c.batchSize - c.batchClaimed, rateRoom(c, usage));
  if (room <= 0) return nothingClaimed(t, campaignId, now);
  const batch = c.batchesSent + 1;
  const idempotentUntil = options.idempotencyWindowMs !== null ? now + options.idempotencyWindowMs : null;
  // Not awaited: it goes with the COMMIT (see IssuedStatements), and counts its claims in the batch.
  const recipients = settledLater(t.claimDue(campaignId, token, now, batch, room, idempotentUntil));
  // After the claim in the same transaction: the recipients it takes are no longer due.
  const upcoming = options.peek ? settledLater(t.peekDue(campaignId, now, options.peek)) : null;
  return { kind: 'under_way', recipients, batch, batchStarted: c.batchClaimed === 0, campaign: c, upcoming };
}

/** The claim a step made, once its rows are back; null when it found nothing due to claim (see nothingClaimed). */
export async function claimAnswered(claim: ClaimUnderWay): Promise<Extract<ClaimResult, { kind: 'claimed' }> | null> {
  const recipients = await claim.recipients;
  if (recipients.length === 0) return null;
  return {
    kind: 'claimed',
    recipients,
    batch: claim.batch,
    batchStarted: claim.batchStarted,
    campaign: { ...claim.campaign, batchClaimed: claim.campaign.batchClaimed + recipients.length },
    upcoming: claim.upcoming,
  };
}

/**
 * Why a claim that was allowed found nobody to take: retries not due yet (or every due one held
 * by another runner's claim), the last ones still in flight, or nothing left. Read after the
 * claim's transaction, in a read of its own: the answer only tells the runner when to look
 * again, and closing a batch or completing re-checks under the campaign's lock (`settle`).
 */
export async function nothingClaimed(t: Tx, campaignId: number, now: number): Promise<ClaimResult> {
  const counts = await t.counts(campaignId);
  if (counts.pending > 0) {
    const next = await t.nextPendingAt(campaignId);
    return { kind: 'wait', reason: 'retry', until: Math.max(next ?? now, now + 250) };
  }
  return counts.sending > 0 ? { kind: 'draining' } : { kind: 'done' };
}

// ---- recording --------------------------------------------------------------------------------

function resultPatch(r: AttemptResult): RecipientResultPatch {
  const base = { lastError: r.detail, nextAttemptAt: null, sentAt: null, messageId: r.messageId, providerId: r.providerId ?? null, refund: false, dedupeUntil: null };
  switch (r.outcome) {
    case 'sent':
      return { ...base, status: 'sent', lastError: null, sentAt: r.at };
    case 'retry':
      return { ...base, status: 'pending', nextAttemptAt: r.retryAt ?? r.at, dedupeUntil: r.dedupeUntil ?? null };
    case 'failed':
      return { ...base, status: 'failed' };
    case 'in_doubt':
      return { ...base, status: 'in_doubt' };
    case 'refunded':
      return { ...base, status: 'pending', nextAttemptAt: 0, refund: true };
  }
}

const ATTEMPT_TYPE = { sent: 'sent', retry: 'retry_scheduled', failed: 'failed', in_doubt: 'in_doubt' } as const;

/**
 * Records answers, each only if `token` still holds its recipient (false for one it no longer
 * does): one statement for every recipient update, one for their attempt rows, whatever the
 * number of answers. The attempt rows' insert is left under way: nothing here needs its answer,
 * and the backend reports the commit only once it has succeeded (IssuedStatements).
 */
export async function recordAll(t: Tx, token: string, results: AttemptResult[]): Promise<{ recorded: boolean[] }> {
  if (results.length === 0) return { recorded: [] };
  const rows = await t.recordResults(token, results.map((r) => ({ recipientId: r.recipientId, patch: resultPatch(r) })));
  const attempts: AttemptRow[] = [];
  for (let i = 0; i < results.length; i++) {
    const r = results[i]!;
    const row = rows[i];
    if (!row) continue;
    if (r.outcome === 'refunded') {
      // Never reached the server (or the provider asked us to wait): not an attempt, and its
      // place in the batch goes back.
      await t.addBatchClaims(row.campaignId, -1);
      if (r.throttleUntil) {
        const c = await t.campaign(row.campaignId);
        if (c && (c.throttledUntil ?? 0) < r.throttleUntil) await t.updateCampaign(row.campaignId, { throttledUntil: r.throttleUntil });
      }
      continue;
    }
    if (r.suppress) await t.addSuppressions([row.email], r.suppress, r.at);
    const extra: Record<string, unknown> = {};
    if (r.outcome === 'retry') extra.retryAt = r.retryAt ?? r.at;
    if (r.outcome === 'failed') extra.suppressed = !!r.suppress;
    attempts.push({
      campaignId: row.campaignId,
      recipientId: r.recipientId,
      at: r.at,
      type: ATTEMPT_TYPE[r.outcome],
      attempt: row.attempts,
      batch: row.batch,
      claimedAt: row.claimedAt ?? r.at,
      detail: r.detail ?? '',
      providerId: r.providerId ?? null,
      extra: Object.keys(extra).length > 0 ? extra : null,
    });
  }
  void t.insertAttempts(attempts);
  return { recorded: rows.map((row) => row !== null) };
}

export async function step(
  t: Tx,
  campaignId: number,
  token: string,
  now: number,
  results: AttemptResult[],
  max: number,
  options: ClaimOptions,
): Promise<{ recorded: boolean[]; claim: StepClaim }> {
  // Every write that touches a campaign's recipients takes the campaign row first: one lock
  // order for all runners (PostgreSQL would otherwise find deadlocks between their steps).
  const locked = t.campaign(campaignId, { lock: true, state: true });
  // Issued with the lock, not after it: PostgreSQL gets them in one pipeline (SQLite answers
  // each at once). Recording the answers changes neither: the runner's row is only ever renewed
  // meanwhile (never taken away without the campaign's lock), and an answer never makes a
  // recipient pending with its dedupe window already over, nor sets one but through a transport
  // that deduplicates (this runner's own).
  const reads: ClaimReads | null =
    max > 0 ? { runner: settledLater(t.runner(token)), unsafe: settledLater(t.unsafeResends(campaignId, now, options.idempotencyWindowMs !== null)) } : null;
  // The answers' update goes in that pipeline too (it needs nothing the lock reads); the server
  // still runs it after the lock is taken. Its attempt rows are not awaited: the backend reports
  // the commit only once every statement has succeeded (IssuedStatements).
  const recording = settledLater(recordAll(t, token, results));
  let c = await locked;
  const { recorded } = await recording;
  if (!reads) return { recorded, claim: null };
  // A refund gives a batch place back, a 429 throttles: then the campaign is not as read.
  if (results.some((r) => r.outcome === 'refunded')) c = await t.campaign(campaignId, { state: true });
  return { recorded, claim: await claim(t, c, campaignId, token, now, max, options, reads) };
}

/** What a claim reads, issued at the start of its step. */
interface ClaimReads {
  runner: Promise<Runner | null>;
  /** Pending recipients a resend could deliver twice (Tx.unsafeResends). */
  unsafe: Promise<UnsafeResend[]>;
}

/** A query whose answer is awaited later: its failure is kept for then, not reported as unhandled now. */
function settledLater<T>(p: Promise<T>): Promise<T> {
  p.catch(() => undefined);
  return p;
}

// ---- batches and completion -----------------------------------------------------------------

/**
 * Closes the open batch once it has all its claims (or nothing is left to claim) and nothing of
 * the campaign is in flight at any runner; completes the campaign when nothing is pending or in
 * flight. Any runner may do it: the first to see the moment does.
 */
export async function settle(t: Tx, campaignId: number, now: number): Promise<SettleResult> {
  const c = await t.campaign(campaignId, { lock: true });
  if (!c) return { kind: 'stopped', status: 'cancelled' };
  if (c.status !== 'sending') return { kind: 'stopped', status: c.status };
  const counts = await t.counts(campaignId);
  if (counts.sending > 0) return { kind: 'busy' };
  const full = c.batchClaimed >= c.batchSize;
  const nothingLeft = counts.pending === 0;
  if (!full && !nothingLeft) return { kind: 'open' };
  let closedBatch: number | null = null;
  let nextBatchAt = c.nextBatchAt;
  let batchesSent = c.batchesSent;
  if (c.batchClaimed > 0) {
    closedBatch = c.batchesSent + 1;
    batchesSent = closedBatch;
    nextBatchAt = nothingLeft ? null : laterBy(now, c.intervalSeconds * 1000);
    await t.updateCampaign(campaignId, { batchesSent, batchClaimed: 0, nextBatchAt });
    await logEvent(t, { type: 'batch_finished', at: now, campaignId, batch: closedBatch, nextBatchAt });
  }
  const completed = nothingLeft;
  if (completed) {
    await t.updateCampaign(campaignId, { status: 'completed', completedAt: now, nextBatchAt: null, throttledUntil: null });
    await logEvent(t, { type: 'completed', at: now, campaignId, counts });
  }
  const campaign = (await t.campaign(campaignId))!;
  return { kind: 'settled', closedBatch, nextBatchAt: completed ? null : nextBatchAt, completed, campaign };
}

// ---- the operator's changes -------------------------------------------------------------------

export async function transition(
  t: Tx,
  id: number,
  from: readonly CampaignStatus[],
  to: CampaignStatus,
  now: number,
): Promise<{ ok: true; campaign: Campaign } | { ok: false; status: CampaignStatus | null }> {
  const c = await t.campaign(id, { lock: true });
  if (!c || !from.includes(c.status)) return { ok: false, status: c?.status ?? null };
  const starting = c.status === 'draft' && to === 'sending';
  await t.updateCampaign(id, {
    status: to,
    ...(starting ? { startedAt: now, nextBatchAt: now } : {}),
    completedAt: to === 'completed' || to === 'cancelled' ? now : null,
  });
  await logEvent(t, { type: 'status', at: now, campaignId: id, from: c.status, to });
  return { ok: true, campaign: (await t.campaign(id))! };
}

export async function resolveInDoubt(
  t: Tx,
  campaignId: number,
  mode: 'resend' | 'mark-sent',
  now: number,
  emails: string[] | null,
): Promise<number> {
  const c = await t.campaign(campaignId, { lock: true });
  if (!c) return 0;
  const count = await t.resolveInDoubt(campaignId, mode, now, emails);
  if (mode === 'resend' && count > 0 && c.status === 'completed') {
    await t.updateCampaign(campaignId, { status: 'sending', completedAt: null, nextBatchAt: c.nextBatchAt ?? now });
    await logEvent(t, { type: 'status', at: now, campaignId, from: 'completed', to: 'sending' });
  }
  await logEvent(t, { type: 'resolve', at: now, campaignId, mode, count, emails });
  return count;
}

export { eventData };

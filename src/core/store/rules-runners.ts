/**
 * The rules of a campaign's runners, written once for every backend (see rules.ts): a runner
 * joins with a lease, renews it on a timer, leaves handing over or releasing its claims; one
 * whose lease expired or whose process is gone is taken over by any other, its in-flight
 * recipients marked in doubt (never resent on a guess). Each function runs inside one
 * transaction a backend opens (`Tx`).
 */
import type { AttemptRow, Tx } from './tx.js';
import type { Reaped, RunnerIdentity } from '../store.js';
import type { Runner } from '../types.js';
import { RUNNER_GONE, STILL_DEDUPLICATED } from '../stored-errors.js';
import { attemptRow, logEvent } from './rules.js';

/**
 * Takes over every dead runner of the campaign except `me`: lease expired, or named in
 * `localDead` (its process is gone from this host). Their `sending` recipients become
 * `in_doubt` — or `pending` again when the provider still deduplicates their idempotency key,
 * so resending cannot deliver twice. Recipients claimed by no registered runner at all (a crash
 * while the runner's row was being written, a database copied mid-run) are treated the same.
 * The campaign row is locked first, so no claim commits while this looks.
 */
export async function reap(t: Tx, campaignId: number, me: RunnerIdentity, now: number, localDead: string[]): Promise<Reaped[]> {
  const campaign = await t.campaign(campaignId, { lock: true });
  if (!campaign) return [];
  const runners = await t.runners(campaignId);
  const dead = runners.filter((r) => r.token !== me.token && (r.expiresAt <= now || localDead.includes(r.token)));
  if (dead.length > 0) await t.deleteRunners(dead.map((r) => r.token));
  const orphans = await t.orphans(campaignId);
  if (orphans.length === 0 && dead.length === 0) return [];

  const ownerOf = new Map(runners.map((r) => [r.token, r.owner]));
  const byOwner = new Map<string, Reaped>(dead.map((r) => [r.owner, { owner: r.owner, inDoubt: 0, requeued: 0 }]));
  const groups = new Map<string, { inDoubt: number[]; requeue: number[] }>();
  for (const o of orphans) {
    const owner = (o.claimToken && ownerOf.get(o.claimToken)) || 'unknown';
    let r = byOwner.get(owner);
    if (!r) byOwner.set(owner, (r = { owner, inDoubt: 0, requeued: 0 }));
    let g = groups.get(owner);
    if (!g) groups.set(owner, (g = { inDoubt: [], requeue: [] }));
    if (o.idempotentUntil !== null && o.idempotentUntil > now) {
      r.requeued++;
      g.requeue.push(o.id);
    } else {
      r.inDoubt++;
      g.inDoubt.push(o.id);
    }
  }
  const attempts: AttemptRow[] = [];
  for (const [owner, g] of groups) {
    const error = RUNNER_GONE(owner);
    for (const row of await t.markUnanswered(g.inDoubt, 'in_doubt', error, now)) attempts.push(attemptRow(row, 'in_doubt', now, error));
    const again = error + STILL_DEDUPLICATED;
    for (const row of await t.markUnanswered(g.requeue, 'pending', again, now)) attempts.push(attemptRow(row, 'requeued', now, again));
  }
  await t.insertAttempts(attempts);
  const reaped = [...byOwner.values()];
  for (const r of reaped) await logEvent(t, { type: 'runner_reaped', at: now, campaignId, owner: r.owner, by: `${me.host}:${me.pid}`, inDoubt: r.inDoubt, requeued: r.requeued });
  return reaped;
}

/**
 * Registers a runner (its lease starts now). Taking over the dead is `reap`'s, in a transaction
 * of its own: registering never waits for the campaign's lock.
 */
export async function register(t: Tx, campaignId: number, me: RunnerIdentity, now: number, ttlMs: number): Promise<Runner> {
  const runner: Runner = { campaignId, owner: `${me.host}:${me.pid}`, host: me.host, pid: me.pid, token: me.token, startedAt: now, expiresAt: now + ttlMs };
  await t.insertRunner(runner);
  await logEvent(t, { type: 'runner_joined', at: now, campaignId, owner: runner.owner });
  return runner;
}

/**
 * Renews a runner's lease: its own row only, no campaign lock, so a renewal never waits behind
 * another runner's transaction (one stalled by a dying network would otherwise let every lease
 * expire). False when the row is gone: another runner took this one for dead, and then it is. A
 * lease that expired unnoticed (a suspended process) and still stands is simply renewed: nobody
 * took anything over. Reaping the dead is a second step (`reap`), under the campaign lock.
 */
export async function renew(t: Tx, token: string, now: number, ttlMs: number): Promise<boolean> {
  return t.renewRunner(token, now + ttlMs);
}

/** See Store.leaveCampaign. */
export async function leave(t: Tx, campaignId: number, token: string, now: number, handedOver: number[]): Promise<void> {
  await t.campaign(campaignId, { lock: true });
  const mine = await t.claimedBy(campaignId, token);
  if (mine.length > 0) {
    const asked = new Set(handedOver);
    // The same words as a takeover's (the TUI says them in the operator's language); a runner
    // that holds claims still has its row, unless another took it for dead meanwhile.
    const error = RUNNER_GONE((await t.runner(token))?.owner ?? 'unknown');
    const doubt = await t.markUnanswered(mine.filter((id) => asked.has(id)), 'in_doubt', error, now);
    await t.insertAttempts(doubt.map((r) => attemptRow(r, 'in_doubt', now, error)));
    const released = await t.releaseClaims(mine.filter((id) => !asked.has(id)));
    if (released > 0) await t.addBatchClaims(campaignId, -released);
  }
  await t.deleteRunners([token]);
}

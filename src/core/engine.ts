/**
 * The durable sending engine. A campaign is a cursor over its recipients in the database;
 * this loop only ever holds what is in flight. For each message:
 *   claim (committed, synced) → send → record the answer (committed) — never the other way round.
 * The pause between batches is a stored due time, so a process that dies loses nothing and the
 * next run (cron, TUI, operator) carries on from the database.
 *
 * Clock, store and transport are injected so tests can run time forward and break the server.
 */
import { EventEmitter } from 'node:events';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import type { EngineEvent } from './events.js';
import { toStoredEvent } from './event-log.js';
import { MessageBuilder, type OutgoingMessage } from './message.js';
import { inWindow, nextWindowStart, retryDelayMs } from './schedule.js';
import type { ClaimResult, EngineStore, LeaseOwner, PendingResult, ResultUpdate } from './store.js';
import type { SendOutcome, Transport } from './transport/index.js';
import type { Campaign, Lease, Recipient } from './types.js';

export interface Clock {
  now(): number;
  /** Resolves after `ms` (or at once when `signal` aborts). */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) => delay(ms, undefined, { signal }).catch(() => undefined),
};

export type CampaignOutcome =
  | 'completed'
  | 'paused'
  | 'cancelled'
  | 'not_sending'
  | 'deadline'
  | 'stopped'
  | 'lease_held'
  | 'lease_lost'
  | 'unavailable'
  | 'missing';

export interface CampaignRunResult {
  campaignId: number;
  outcome: CampaignOutcome;
  status: string | null;
  sent: number;
  failed: number;
  retried: number;
  inDoubt: number;
  error: string | null;
}

export interface EngineOptions {
  store: EngineStore;
  transport: Transport;
  clock?: Clock;
  /** Lease identity; default this host, this pid, a random token. */
  owner?: LeaseOwner;
  leaseTtlMs?: number;
  /** How often a waiting runner re-reads the campaign (pause, resume, new imports). */
  pollMs?: number;
  /** Start no send after this long; exit once nothing is due before it. */
  maxRuntimeMs?: number | null;
  /** Make each campaign's next batch due now. */
  ignoreSchedule?: boolean;
  /** How long stop() lets in-flight sends finish. */
  drainTimeoutMs?: number;
  /** Is a process of this host alive? (lease takeover of a dead local holder) */
  isProcessAlive?: (pid: number) => boolean;
  random?: () => number;
}

export function defaultOwner(): LeaseOwner {
  return { host: hostname(), pid: process.pid, token: randomBytes(12).toString('hex') };
}

export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Emits 'event' (EngineEvent) for every step; the caller prints, the TUI renders. */
export class Engine extends EventEmitter<{ event: [EngineEvent] }> {
  private readonly store: EngineStore;
  private readonly transport: Transport;
  private readonly clock: Clock;
  private readonly owner: LeaseOwner;
  private readonly leaseTtlMs: number;
  private readonly pollMs: number;
  private readonly drainTimeoutMs: number;
  private readonly alive: (pid: number) => boolean;
  private readonly random: () => number;
  private readonly stopController = new AbortController();
  private deadline: number | null = null;

  constructor(private readonly options: EngineOptions) {
    super();
    this.store = options.store;
    this.transport = options.transport;
    this.clock = options.clock ?? systemClock;
    this.owner = options.owner ?? defaultOwner();
    this.leaseTtlMs = options.leaseTtlMs ?? 60_000;
    this.pollMs = options.pollMs ?? 1_000;
    this.drainTimeoutMs = options.drainTimeoutMs ?? 30_000;
    this.alive = options.isProcessAlive ?? isProcessAlive;
    this.random = options.random ?? Math.random;
  }

  get ownerName(): string {
    return `${this.owner.host}:${this.owner.pid}`;
  }

  get stopping(): boolean {
    return this.stopController.signal.aborted;
  }

  /** Graceful stop: no new claims; in-flight sends finish (bounded) and are recorded. */
  stop(): void {
    this.stopController.abort();
  }

  async run(campaignIds: number[]): Promise<CampaignRunResult[]> {
    if (this.options.maxRuntimeMs != null) this.deadline = this.clock.now() + this.options.maxRuntimeMs;
    return Promise.all(campaignIds.map((id) => this.runCampaign(id)));
  }

  private async emitEvent(e: EngineEvent, persist: boolean): Promise<void> {
    if (persist) await this.store.addEvent(toStoredEvent(e));
    this.emit('event', e);
  }

  private canTakeOver = (holder: Lease): boolean => holder.host === this.owner.host && !this.alive(holder.pid);

  private async runCampaign(campaignId: number): Promise<CampaignRunResult> {
    const result: CampaignRunResult = {
      campaignId,
      outcome: 'stopped',
      status: null,
      sent: 0,
      failed: 0,
      retried: 0,
      inDoubt: 0,
      error: null,
    };
    const campaign = await this.store.getCampaign(campaignId);
    if (!campaign) return { ...result, outcome: 'missing', error: `campaign ${campaignId} does not exist` };
    result.status = campaign.status;
    if (campaign.status !== 'sending') return { ...result, outcome: 'not_sending' };

    const now = this.clock.now();
    const lease = await this.store.acquireLease(campaignId, this.owner, now, this.leaseTtlMs, this.canTakeOver);
    if (!lease.acquired) {
      await this.emitEvent(
        { type: 'lease_held', at: now, campaignId, holder: lease.holder.owner, expiresAt: lease.holder.expiresAt },
        true,
      );
      return { ...result, outcome: 'lease_held', error: `being sent by ${lease.holder.owner}` };
    }
    await this.emitEvent(
      {
        type: 'lease_acquired',
        at: now,
        campaignId,
        owner: this.ownerName,
        tookOverFrom: lease.tookOverFrom?.owner ?? null,
        markedInDoubt: lease.markedInDoubt,
      },
      true,
    );
    if (this.options.ignoreSchedule) await this.store.makeBatchDue(campaignId, now);
    try {
      await new CampaignLoop(this, campaign, result).run();
    } finally {
      await this.store.releaseLease(campaignId, this.owner.token);
    }
    const after = await this.store.getCampaign(campaignId);
    result.status = after?.status ?? null;
    const { outcome, sent, failed, retried, inDoubt } = result;
    await this.emitEvent({ type: 'run_ended', at: this.clock.now(), campaignId, outcome, sent, failed, retried, inDoubt }, true);
    return result;
  }

  // ---- used by CampaignLoop -------------------------------------------------------------
  /** @internal */ get internals() {
    return {
      store: this.store,
      transport: this.transport,
      clock: this.clock,
      token: this.owner.token,
      leaseTtlMs: this.leaseTtlMs,
      pollMs: this.pollMs,
      drainTimeoutMs: this.drainTimeoutMs,
      random: this.random,
      deadline: this.deadline,
      stopSignal: this.stopController.signal,
      emit: (e: EngineEvent, persist: boolean) => this.emitEvent(e, persist),
    };
  }
}

/** A recorded-or-not send outcome and the event to emit once it is on disk. */
interface Finished {
  result: PendingResult;
  event: EngineEvent;
}

/**
 * One campaign's loop. Each turn is one store `step`: record every answer that has arrived,
 * then claim enough recipients to refill the pool — one synced commit for both. Answers that
 * arrive together ride in the same commit, so a pool of N costs about one commit per N
 * messages, while "claimed but not recorded" never exceeds the pool.
 */
class CampaignLoop {
  private readonly inFlight = new Set<Promise<void>>();
  /** Outcomes received from the server and not yet committed. */
  private finished: Finished[] = [];
  private readonly builder: MessageBuilder;
  private lastRenewAt: number;
  private lastWait: { until: number; reason: string } | null = null;
  /** Set when the server cannot be reached or refuses the login: stop claiming. */
  private fatal: string | null = null;
  private readonly x;

  constructor(
    engine: Engine,
    private campaign: Campaign,
    private readonly result: CampaignRunResult,
  ) {
    this.x = engine.internals;
    this.builder = new MessageBuilder(campaign);
    this.lastRenewAt = this.x.clock.now();
  }

  private get id() {
    return this.campaign.id;
  }

  async run(): Promise<void> {
    try {
      while (!(await this.turn()));
    } finally {
      await this.drain();
    }
  }

  /** One turn of the loop; true when the run for this campaign is over. */
  private async turn(): Promise<boolean> {
    const x = this.x;
    const now = x.clock.now();
    const blocker = this.claimBlocker(now);
    const room = blocker ? 0 : x.transport.pool - this.inFlight.size;

    if (room === 0 && this.finished.length === 0) {
      if (this.inFlight.size > 0) {
        await this.nextAnswer();
        return false;
      }
      // Nothing in flight and nothing may be claimed now.
      switch (blocker) {
        case 'stopped':
        case 'unavailable':
        case 'deadline':
          this.result.outcome = blocker;
          return true;
        case 'window': {
          const until = nextWindowStart(now, this.campaign.window!, this.campaign.timeZone!);
          if (await this.waitUntil(until, 'window')) return false;
          this.result.outcome = x.stopSignal.aborted ? 'stopped' : 'deadline';
          return true;
        }
      }
    }
    if (room > 0 && !(await this.renewIfDue(now))) {
      this.result.outcome = 'lease_lost';
      await x.emit({ type: 'lease_lost', at: now, campaignId: this.id }, true);
      return true;
    }

    const batch = this.finished.splice(0);
    const step = await x.store.step(this.id, x.token, now, batch.map((f) => f.result), room);
    for (let i = 0; i < batch.length; i++) if (step.recorded[i]) await x.emit(batch[i]!.event, false);
    if (!step.claim) return false;
    return this.handle(step.claim, now);
  }

  /** Why no new recipient may be claimed right now, if so. */
  private claimBlocker(now: number): 'stopped' | 'unavailable' | 'deadline' | 'window' | null {
    const x = this.x;
    if (x.stopSignal.aborted) return 'stopped';
    if (this.fatal) return 'unavailable';
    if (x.deadline !== null && now >= x.deadline) return 'deadline';
    const { window, timeZone } = this.campaign;
    if (window && timeZone && !inWindow(now, window, timeZone)) return 'window';
    return null;
  }

  /** Returns true when the loop must end. */
  private async handle(claim: ClaimResult, now: number): Promise<boolean> {
    const x = this.x;
    switch (claim.kind) {
      case 'claimed': {
        this.campaign = claim.campaign;
        this.lastWait = null;
        if (claim.batchStarted)
          await x.emit({ type: 'batch_started', at: now, campaignId: this.id, batch: claim.batch, batchSize: this.campaign.batchSize }, true);
        for (const r of claim.recipients) this.track(this.sendOne(r, claim.batch));
        return false;
      }
      case 'batch_full':
      case 'done':
        if (this.unsettled) {
          await this.settle();
          return false;
        }
        return this.closeBatch();
      case 'draining':
        if (this.unsettled) {
          await this.settle();
          return false;
        }
        // `sending` rows this runner did not claim: impossible while we hold the lease (taking
        // it marks them in_doubt). Say so rather than spin.
        this.result.error = 'recipients in flight that this runner did not claim';
        this.result.outcome = 'stopped';
        return true;
      case 'wait':
        if (this.unsettled) {
          await this.settle();
          return false;
        }
        if (!(await this.waitUntil(claim.until, claim.reason))) {
          this.result.outcome = x.stopSignal.aborted ? 'stopped' : 'deadline';
          return true;
        }
        return false;
      case 'stopped':
        await this.drain();
        this.result.outcome =
          claim.status === 'completed' ? 'completed' : claim.status === 'paused' ? 'paused' : claim.status === 'cancelled' ? 'cancelled' : 'not_sending';
        await x.emit({ type: 'stopped', at: x.clock.now(), campaignId: this.id, status: claim.status }, true);
        return true;
      case 'lost_lease':
        await this.drain();
        this.result.outcome = 'lease_lost';
        await x.emit({ type: 'lease_lost', at: x.clock.now(), campaignId: this.id }, true);
        return true;
    }
  }

  /** Ends the open batch (next one due `interval` later), or completes the campaign. */
  private async closeBatch(): Promise<boolean> {
    const x = this.x;
    const before = (await x.store.getCampaign(this.id))!;
    const after =
      before.batchClaimed > 0 ? await x.store.closeBatch(this.id, x.token, x.clock.now()) : await x.store.completeIfDone(this.id, x.clock.now());
    if (before.batchClaimed > 0)
      await x.emit(
        {
          type: 'batch_finished',
          at: x.clock.now(),
          campaignId: this.id,
          batch: before.batchesSent + 1,
          nextBatchAt: after.status === 'sending' ? after.nextBatchAt : null,
        },
        true,
      );
    this.campaign = after;
    if (after.status !== 'completed') return false;
    const [summary] = await x.store.summaries([this.id]);
    await x.emit({ type: 'completed', at: x.clock.now(), campaignId: this.id, counts: summary!.counts }, false);
    this.result.outcome = 'completed';
    return true;
  }

  private track(p: Promise<void>): void {
    const tracked = p.finally(() => this.inFlight.delete(tracked));
    this.inFlight.add(tracked);
  }

  /** Sends in flight, or answers not yet committed: the database does not show everything yet. */
  private get unsettled(): boolean {
    return this.inFlight.size > 0 || this.finished.length > 0;
  }

  /** Answers waiting to be committed go in the next turn's step; otherwise wait for one. */
  private async settle(): Promise<void> {
    if (this.finished.length === 0) await this.nextAnswer();
  }

  /**
   * Waits for the next server answer, then lets every other socket that is ready deliver its
   * answer too (setImmediate runs after pending I/O), so they share one commit.
   */
  private async nextAnswer(): Promise<void> {
    if (this.inFlight.size > 0) await Promise.race(this.inFlight);
    await new Promise((resolve) => setImmediate(resolve));
  }

  /** Lets in-flight sends finish (bounded when stopping) and records every answer. */
  private async drain(): Promise<void> {
    if (this.inFlight.size > 0) {
      const all = Promise.allSettled([...this.inFlight]);
      if (!this.x.stopSignal.aborted) await all;
      else {
        const timeout = new AbortController();
        await Promise.race([all, this.x.clock.sleep(this.x.drainTimeoutMs, timeout.signal)]);
        timeout.abort();
      }
    }
    if (this.finished.length > 0) {
      const batch = this.finished.splice(0);
      const step = await this.x.store.step(this.id, this.x.token, this.x.clock.now(), batch.map((f) => f.result), 0);
      for (let i = 0; i < batch.length; i++) if (step.recorded[i]) await this.x.emit(batch[i]!.event, false);
    }
  }

  /**
   * Sleeps until `until` in steps of `pollMs` (each turn re-reads the campaign: pause, resume
   * and imports by other processes are seen). False when the run must end instead: stop
   * requested, or the deadline comes first (with --max-runtime a run exits as soon as nothing
   * is due before it).
   */
  private async waitUntil(until: number, reason: 'interval' | 'rate' | 'window' | 'retry'): Promise<boolean> {
    const x = this.x;
    const now = x.clock.now();
    await this.announceWait(until, reason, now);
    if (x.deadline !== null && until > x.deadline) return false;
    await x.clock.sleep(Math.max(0, Math.min(until - now, x.pollMs)), x.stopSignal);
    return !x.stopSignal.aborted;
  }

  private async announceWait(until: number, reason: 'interval' | 'rate' | 'window' | 'retry', now: number): Promise<void> {
    if (this.lastWait && this.lastWait.until === until && this.lastWait.reason === reason) return;
    this.lastWait = { until, reason };
    await this.x.emit({ type: 'waiting', at: now, campaignId: this.id, until, reason }, true);
  }

  private async renewIfDue(now: number): Promise<boolean> {
    if (now - this.lastRenewAt < this.x.leaseTtlMs / 4) return true;
    const ok = await this.x.store.renewLease(this.id, this.x.token, now, this.x.leaseTtlMs);
    if (ok) this.lastRenewAt = now;
    return ok;
  }

  /** Builds and sends one message, then queues its outcome for the next commit. */
  private async sendOne(recipient: Recipient, batch: number): Promise<void> {
    const x = this.x;
    let outcome!: SendOutcome;
    let messageId: string | undefined;
    let message: OutgoingMessage | null = null;
    try {
      message = await this.builder.build(recipient);
    } catch (err) {
      outcome = { kind: 'failed', error: `could not build the message: ${(err as Error).message}`, unknownMailbox: false };
    }
    if (message) {
      messageId = message.messageId;
      try {
        outcome = await x.transport.send({ from: message.envelopeFrom, to: recipient.email, raw: message.raw, messageId });
      } catch (err) {
        // The transport classifies every SMTP outcome itself; a throw is a bug, and we cannot
        // know whether the message left: never risk sending twice.
        outcome = { kind: 'in_doubt', error: `transport error: ${(err as Error).message}` };
      }
    }
    const at = x.clock.now();
    const base = { at, campaignId: this.id, recipientId: recipient.id, email: recipient.email };
    const attempt = recipient.attempts;
    let update!: ResultUpdate;
    let event!: EngineEvent;
    switch (outcome.kind) {
      case 'sent':
        update = { status: 'sent', sentAt: at, messageId, lastError: null };
        event = { ...base, type: 'sent', batch, attempt, response: outcome.response, messageId: messageId! };
        this.result.sent++;
        break;
      case 'retry':
        if (attempt >= this.campaign.maxAttempts) {
          const error = `${outcome.error} (gave up after ${attempt} attempts)`;
          update = { status: 'failed', lastError: error, messageId };
          event = { ...base, type: 'failed', attempt, error, suppressed: false };
          this.result.failed++;
        } else {
          const retryAt = at + retryDelayMs(this.campaign.retryDelaySeconds, attempt, x.random);
          update = { status: 'pending', lastError: outcome.error, nextAttemptAt: retryAt, messageId };
          event = { ...base, type: 'retry_scheduled', attempt, retryAt, error: outcome.error };
          this.result.retried++;
        }
        break;
      case 'failed':
        update = { status: 'failed', lastError: outcome.error, messageId, suppress: outcome.unknownMailbox ? 'bounced' : undefined };
        event = { ...base, type: 'failed', attempt, error: outcome.error, suppressed: outcome.unknownMailbox };
        this.result.failed++;
        break;
      case 'in_doubt':
        update = { status: 'in_doubt', lastError: outcome.error, messageId };
        event = { ...base, type: 'in_doubt', error: outcome.error };
        this.result.inDoubt++;
        break;
      case 'unavailable':
        // The server was never reached with this message: not an attempt, not a failure.
        update = { status: 'pending', lastError: outcome.error, refundAttempt: true, nextAttemptAt: 0 };
        event = { at, campaignId: this.id, type: 'transport_error', error: outcome.error };
        if (!this.fatal) {
          this.fatal = outcome.error;
          this.result.error = outcome.error;
          await x.store.setLastError(this.id, `mail server unavailable: ${outcome.error}`);
        }
        break;
    }
    if (outcome.kind === 'sent' && this.campaign.lastError !== null) {
      // The server answers again: the stored error no longer describes the campaign.
      this.campaign = { ...this.campaign, lastError: null };
      await x.store.setLastError(this.id, null);
    }
    this.finished.push({ result: { recipientId: recipient.id, update, event: toStoredEvent(event) }, event });
  }
}

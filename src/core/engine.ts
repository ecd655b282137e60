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
import addressparser from 'nodemailer/lib/addressparser/index.js';
import type { EngineEvent } from './events.js';
import { toStoredEvent } from './event-log.js';
import { MessageBuilder, type OutgoingMessage } from './message.js';
import { inWindow, nextWindowStart, retryDelayMs } from './schedule.js';
import type { ClaimResult, LeaseOwner, ResultUpdate, Store } from './store.js';
import type { SendOutcome, Transport } from './transport.js';
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
  store: Store;
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

function envelopeFrom(from: string): string {
  const parsed = addressparser(from, { flatten: true });
  return parsed[0]?.address || from;
}

/** Emits 'event' (EngineEvent) for every step; the caller prints, the TUI renders. */
export class Engine extends EventEmitter<{ event: [EngineEvent] }> {
  private readonly store: Store;
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
        false,
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

/** One campaign's claim → send → record loop, with up to `pool` sends in flight. */
class CampaignLoop {
  private readonly inFlight = new Set<Promise<void>>();
  private readonly builder: MessageBuilder;
  private readonly from: string;
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
    this.from = envelopeFrom(campaign.from);
    this.lastRenewAt = this.x.clock.now();
  }

  private get id() {
    return this.campaign.id;
  }

  async run(): Promise<void> {
    const x = this.x;
    try {
      for (;;) {
        if (x.stopSignal.aborted) return this.finish('stopped');
        if (this.fatal) return this.finish('unavailable');
        const now = x.clock.now();
        if (x.deadline !== null && now >= x.deadline) return this.finish('deadline');
        if (!(await this.renewIfDue(now))) return this.finish('lease_lost');

        if (this.campaign.window && this.campaign.timeZone && !inWindow(now, this.campaign.window, this.campaign.timeZone)) {
          if (this.inFlight.size > 0) {
            await this.settleOne();
            continue;
          }
          const until = nextWindowStart(now, this.campaign.window, this.campaign.timeZone);
          if (!(await this.waitUntil(until, 'window'))) return this.finish('deadline');
          continue;
        }
        if (this.inFlight.size >= x.transport.pool) {
          await this.settleOne();
          continue;
        }

        const claim = await x.store.claimNext(this.id, x.token, now);
        const done = await this.handle(claim, now);
        if (done) return;
      }
    } finally {
      await this.drain();
    }
  }

  /** Returns true when the loop must end. */
  private async handle(claim: ClaimResult, now: number): Promise<boolean> {
    const x = this.x;
    switch (claim.kind) {
      case 'claimed': {
        this.campaign = claim.campaign;
        this.lastWait = null;
        if (claim.campaign.batchClaimed === 1)
          await x.emit({ type: 'batch_started', at: now, campaignId: this.id, batch: claim.batch, batchSize: this.campaign.batchSize }, true);
        this.track(this.sendOne(claim.recipient, claim.batch));
        return false;
      }
      case 'batch_full':
      case 'done': {
        if (this.inFlight.size > 0) {
          await this.settleOne();
          return false;
        }
        const before = await x.store.getCampaign(this.id);
        const after =
          before && before.batchClaimed > 0
            ? await x.store.closeBatch(this.id, x.token, x.clock.now())
            : await x.store.completeIfDone(this.id, x.clock.now());
        if (before && before.batchClaimed > 0)
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
        if (after.status === 'completed') {
          const [summary] = await x.store.summaries([this.id]);
          await x.emit({ type: 'completed', at: x.clock.now(), campaignId: this.id, counts: summary!.counts }, false);
          this.result.outcome = 'completed';
          return true;
        }
        return false;
      }
      case 'draining': {
        if (this.inFlight.size > 0) await this.settleOne();
        else {
          // Rows in `sending` that are not ours: impossible while we hold the lease (taking it
          // marks them in_doubt). Say so rather than spin.
          this.result.error = 'recipients in flight that this runner did not claim';
          this.result.outcome = 'stopped';
          return true;
        }
        return false;
      }
      case 'wait': {
        if (this.inFlight.size > 0) {
          await this.settleOne();
          return false;
        }
        if (!(await this.waitUntil(claim.until, claim.reason))) {
          this.result.outcome = this.x.stopSignal.aborted ? 'stopped' : 'deadline';
          return true;
        }
        return false;
      }
      case 'stopped': {
        await this.drain();
        if (claim.status === 'completed') this.result.outcome = 'completed';
        else this.result.outcome = claim.status === 'paused' ? 'paused' : claim.status === 'cancelled' ? 'cancelled' : 'not_sending';
        await x.emit({ type: 'stopped', at: x.clock.now(), campaignId: this.id, status: claim.status }, false);
        return true;
      }
      case 'lost_lease': {
        await this.drain();
        this.result.outcome = 'lease_lost';
        await x.emit({ type: 'lease_lost', at: x.clock.now(), campaignId: this.id }, true);
        return true;
      }
    }
  }

  private finish(outcome: CampaignOutcome): void {
    this.result.outcome = outcome;
  }

  private track(p: Promise<void>): void {
    const tracked = p.finally(() => this.inFlight.delete(tracked));
    this.inFlight.add(tracked);
  }

  private async settleOne(): Promise<void> {
    if (this.inFlight.size > 0) await Promise.race(this.inFlight);
  }

  /** Lets in-flight sends finish and be recorded; bounded when stopping. */
  private async drain(): Promise<void> {
    if (this.inFlight.size === 0) return;
    const all = Promise.allSettled([...this.inFlight]);
    if (!this.x.stopSignal.aborted) {
      await all;
      return;
    }
    const timeout = new AbortController();
    await Promise.race([all, this.x.clock.sleep(this.x.drainTimeoutMs, timeout.signal)]);
    timeout.abort();
  }

  /**
   * Sleeps until `until` in steps of `pollMs` (re-reading state at each step happens in the
   * main loop). Returns false when the run must end instead: stop requested, or the deadline
   * comes first (with --max-runtime a run exits as soon as nothing is due before it).
   */
  private async waitUntil(until: number, reason: 'interval' | 'rate' | 'window' | 'retry'): Promise<boolean> {
    const x = this.x;
    const now = x.clock.now();
    if (x.deadline !== null && until > x.deadline) {
      await this.announceWait(until, reason, now);
      return false;
    }
    await this.announceWait(until, reason, now);
    await x.clock.sleep(Math.max(0, Math.min(until - now, x.pollMs)), x.stopSignal);
    return !x.stopSignal.aborted;
  }

  private async announceWait(until: number, reason: string, now: number): Promise<void> {
    if (this.lastWait && this.lastWait.until === until && this.lastWait.reason === reason) return;
    this.lastWait = { until, reason };
    await this.x.emit({ type: 'waiting', at: now, campaignId: this.id, until, reason: reason as any }, false);
  }

  private async renewIfDue(now: number): Promise<boolean> {
    if (now - this.lastRenewAt < this.x.leaseTtlMs / 4) return true;
    const ok = await this.x.store.renewLease(this.id, this.x.token, now, this.x.leaseTtlMs);
    if (ok) this.lastRenewAt = now;
    return ok;
  }

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
        outcome = await x.transport.send({ from: this.from, to: recipient.email, raw: message.raw, messageId });
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
    const recorded = await x.store.recordResult(recipient.id, x.token, update, toStoredEvent(event));
    if (recorded) await x.emit(event, false);
    if (outcome.kind === 'sent' && this.campaign.lastError !== null) {
      // The server answers again: the stored error no longer describes the campaign.
      this.campaign = { ...this.campaign, lastError: null };
      await x.store.setLastError(this.id, null);
    }
  }
}

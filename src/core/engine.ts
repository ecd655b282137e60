/**
 * The durable sending engine. A campaign is a cursor over its recipients in the database;
 * a runner only ever holds what is in flight. For each message:
 *   claim (committed, synced) → send → record the answer (committed) — never the other way round.
 * The pause between batches is a stored due time, so a process that dies loses nothing and the
 * next run (cron, TUI, operator) carries on from the database.
 *
 * Any number of runners — in this process, in others, on other hosts sharing a PostgreSQL
 * database — may work on one campaign: each registers with a lease it renews on a timer, the
 * store hands each recipient to exactly one of them, and whoever finds a dead runner takes over
 * its in-flight recipients (in_doubt, never resent on their own).
 *
 * Clock, store and transport are injected so tests can run time forward and break the server.
 */
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { isProcessAlive } from './process.js';
import { CampaignLoop } from './campaign-loop.js';
import { type Clock, systemClock } from './clock.js';
import { type EngineEvent, isAttemptEvent, type RunOutcome } from './events.js';
import type { EngineStore, Reaped, RunnerIdentity } from './store.js';
import type { DkimSigner } from './dkim.js';
import type { Transport } from './transport/index.js';

export type { Clock } from './clock.js';
export { systemClock } from './clock.js';

/** Why a run stopped working on a campaign (RUN_OUTCOMES in events.ts). */
export type CampaignOutcome = RunOutcome;

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
  /** Runner identity; default this host, this pid, a random token. */
  owner?: RunnerIdentity;
  /** A runner whose lease is this much past its last renewal is dead (renewed every quarter). */
  leaseTtlMs?: number;
  /** How often a waiting runner re-reads the campaign (pause, resume, new imports, other runners). */
  pollMs?: number;
  /** Start no send after this long; exit once nothing is due before it. */
  maxRuntimeMs?: number | null;
  /** Make each campaign's next batch due now. */
  ignoreSchedule?: boolean;
  /** How long stop() lets in-flight sends finish. */
  drainTimeoutMs?: number;
  /** How long a runner keeps trying to write to a database that refuses (full disk, restart) before it gives up. */
  storePatienceMs?: number;
  /** Is a process of this host alive? (takeover of a dead runner on this host, at once) */
  isProcessAlive?: (pid: number) => boolean;
  random?: () => number;
  /** Signs every message (SMTP, outbox, raw-MIME APIs); the key stays in this process. */
  dkim?: DkimSigner | null;
}

export function defaultOwner(): RunnerIdentity {
  return { host: hostname(), pid: process.pid, token: randomBytes(12).toString('hex') };
}

export { isProcessAlive } from './process.js';

/** What a CampaignLoop needs of its engine. */
export interface EngineContext {
  store: EngineStore;
  transport: Transport;
  clock: Clock;
  owner: RunnerIdentity;
  ownerName: string;
  leaseTtlMs: number;
  pollMs: number;
  drainTimeoutMs: number;
  storePatienceMs: number;
  random: () => number;
  dkim: DkimSigner | null;
  deadline: number | null;
  stopSignal: AbortSignal;
  /** Reports an event to listeners; `persist` also stores it in the campaign's log. */
  emit(e: EngineEvent, persist: boolean): Promise<void>;
  /** Tokens of this campaign's runners on this host whose process is gone. */
  localDead(campaignId: number): Promise<string[]>;
  /** Emits the runner_reaped events the store has already logged. */
  reported(campaignId: number, reaped: Reaped[]): Promise<void>;
}

/** Emits 'event' (EngineEvent) for every step; the caller prints, the TUI renders. */
export class Engine extends EventEmitter<{ event: [EngineEvent] }> {
  private readonly context: EngineContext;
  private readonly stopController = new AbortController();
  private readonly alive: (pid: number) => boolean;

  constructor(private readonly options: EngineOptions) {
    super();
    const owner = options.owner ?? defaultOwner();
    this.alive = options.isProcessAlive ?? isProcessAlive;
    const store = options.store;
    this.context = {
      store,
      transport: options.transport,
      clock: options.clock ?? systemClock,
      owner,
      ownerName: `${owner.host}:${owner.pid}`,
      leaseTtlMs: options.leaseTtlMs ?? 60_000,
      pollMs: options.pollMs ?? 1_000,
      drainTimeoutMs: options.drainTimeoutMs ?? 30_000,
      storePatienceMs: options.storePatienceMs ?? 10_000,
      random: options.random ?? Math.random,
      dkim: options.dkim ?? null,
      deadline: null,
      stopSignal: this.stopController.signal,
      emit: async (e, persist) => {
        // Attempts reach the log with their recipient's update, in the same commit (store.step).
        if (persist && !isAttemptEvent(e)) await store.addEvent(e);
        this.emit('event', e);
      },
      localDead: async () => [], // per campaign: see runCampaign
      reported: async (campaignId, reaped) => {
        const at = this.context.clock.now();
        for (const r of reaped)
          this.emit('event', { type: 'runner_reaped', at, campaignId, owner: r.owner, by: this.context.ownerName, inDoubt: r.inDoubt, requeued: r.requeued });
      },
    };
  }

  get ownerName(): string {
    return this.context.ownerName;
  }

  get stopping(): boolean {
    return this.stopController.signal.aborted;
  }

  /** Graceful stop: no new claims; in-flight sends finish (bounded) and are recorded. */
  stop(): void {
    this.stopController.abort();
  }

  async run(campaignIds: number[]): Promise<CampaignRunResult[]> {
    if (this.options.maxRuntimeMs != null) this.context.deadline = this.context.clock.now() + this.options.maxRuntimeMs;
    return Promise.all(campaignIds.map((id) => this.runCampaign(id)));
  }

  private async runCampaign(campaignId: number): Promise<CampaignRunResult> {
    // One runner per campaign: its own token (a lease each), the same host:pid for people.
    const base = this.context;
    const owner = { ...base.owner, token: `${base.owner.token}.${campaignId}` };
    const x: EngineContext = {
      ...base,
      owner,
      localDead: async (id) =>
        (await base.store.listRunners(id)).filter((r) => r.host === owner.host && r.token !== owner.token && !this.alive(r.pid)).map((r) => r.token),
    };
    const result: CampaignRunResult = { campaignId, outcome: 'stopped', status: null, sent: 0, failed: 0, retried: 0, inDoubt: 0, error: null };
    const campaign = await x.store.getCampaign(campaignId);
    if (!campaign) return { ...result, outcome: 'missing', error: `campaign ${campaignId} does not exist` };
    result.status = campaign.status;
    if (campaign.status !== 'sending') return { ...result, outcome: 'not_sending' };

    const now = x.clock.now();
    const joined = await x.store.joinCampaign(campaignId, x.owner, now, x.leaseTtlMs, await x.localDead(campaignId));
    this.emit('event', { type: 'runner_joined', at: now, campaignId, owner: x.ownerName });
    await x.reported(campaignId, joined.reaped);
    if (this.options.ignoreSchedule) await x.store.makeBatchDue(campaignId, now);
    try {
      await new CampaignLoop(x, campaign, result).run();
    } catch (err) {
      // One campaign that cannot be worked on (a stored template that no longer compiles, say)
      // never stops the others of this run.
      result.outcome = 'error';
      result.error = (err as Error)?.message ?? String(err);
    }
    const after = await x.store.getCampaign(campaignId).catch(() => null);
    result.status = after?.status ?? result.status;
    const { outcome, sent, failed, retried, inDoubt } = result;
    await x.emit({ type: 'run_ended', at: x.clock.now(), campaignId, outcome, sent, failed, retried, inDoubt }, outcome !== 'database_error' && outcome !== 'error').catch(() => undefined);
    return result;
  }
}

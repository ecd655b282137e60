/**
 * One runner's loop over one campaign. Each turn is one store `step`: record every answer that
 * has arrived, then claim enough recipients to refill the pool — one synced commit for both.
 * Answers that arrive together ride in the same commit, so a pool of N costs about one commit per
 * N messages, while "claimed but not recorded" never exceeds the pool.
 *
 * The store decides everything that other runners must agree on (what may be claimed, waits,
 * batch closing, completion); this loop decides only what is its own: how many it can have in
 * flight, when to stop (signal, deadline, lost lease, an unreachable server or database).
 */
import { BuiltAhead } from './built-ahead.js';
import type { CampaignRunResult, EngineContext } from './engine.js';
import type { AttemptEvent } from './events.js';
import { Heartbeat } from './lease.js';
import { idempotencyKeyFor, MessageBuilder, messageIdFor, type OutgoingMessage } from './message.js';
import { interpretOutcome } from './outcome.js';
import type { AttemptResult, ClaimResult } from './store.js';
import { TemplateError } from './templates.js';
import { AROUND } from './stored-errors.js';
import type { SendOutcome } from './transport/index.js';
import type { Campaign, Recipient, WaitReason } from './types.js';

/** An answer from the server, waiting to be committed, and what to report once it is. */
interface Finished {
  result: AttemptResult;
  event: AttemptEvent | null;
}

type Blocker = 'stopped' | 'unavailable' | 'lease_lost' | 'database_error' | 'error' | 'deadline';

export class CampaignLoop {
  private readonly inFlight = new Map<Promise<void>, number>();
  /** Outcomes received from the server and not yet committed. */
  private finished: Finished[] = [];
  private lastWait: { until: number; reason: string } | null = null;
  /** Set when the server cannot be reached or refuses the login: stop claiming. */
  private fatal: string | null = null;
  /** The campaign's stored templates cannot render: claim nothing more, hold the campaign. */
  private templateProblem: string | null = null;
  /** The database refuses our writes (since when): claim nothing more, keep trying to record. */
  private storeError: { message: string; since: number } | null = null;
  private throttledUntil = 0;
  private readonly idempotencyWindowMs: number | null;
  /** Messages composed while others are in flight, for the recipients the next claim will likely take. */
  private ahead: BuiltAhead | null = null;
  private readonly lease: Heartbeat;

  constructor(
    private readonly x: EngineContext,
    private campaign: Campaign,
    private readonly result: CampaignRunResult,
  ) {
    this.idempotencyWindowMs = x.transport.idempotencyWindowMs;
    this.lease = new Heartbeat(x, campaign.id);
  }

  private get id() {
    return this.campaign.id;
  }

  /** Works on the campaign until it is over for this runner, then unregisters the runner. */
  async run(): Promise<void> {
    const x = this.x;
    const stopBeating = this.lease.start();
    try {
      try {
        const builder = new MessageBuilder(this.campaign, { dkim: x.dkim });
        // MIME only for a transport that sends it (a JSON API takes the parts).
        this.ahead = new BuiltAhead(builder, x.transport.pool, x.transport.takes !== 'parts');
      } catch (err) {
        if (!(err instanceof TemplateError)) throw err;
        this.templateProblem = err.message;
      }
      if (!this.templateProblem) while (!(await this.turnSafely()));
    } finally {
      await this.drain();
      stopBeating();
      if (this.templateProblem) await this.holdForTemplates(this.templateProblem);
      // Whatever went to the transport and is not recorded — still unanswered after the drain (a
      // stop's 30 s ran out), or answered while the database refused to write — is in doubt now,
      // not later. Claims never handed over (a commit we never saw confirmed) go back to pending.
      const handedOver = [...this.inFlight.values(), ...this.finished.filter((f) => f.result.outcome !== 'refunded').map((f) => f.result.recipientId)];
      await x.store.leaveCampaign(this.id, x.owner.token, x.clock.now(), handedOver).catch(() => undefined);
    }
  }

  private async turnSafely(): Promise<boolean> {
    try {
      const done = await this.turn();
      this.storeError = null;
      return done;
    } catch (err) {
      const now = this.x.clock.now();
      const message = (err as Error)?.message ?? String(err);
      this.storeError ??= { message, since: now };
      this.result.error = message;
      // Keep trying to record what is in flight for a while; then give up (the next runner
      // marks anything still `sending` in_doubt).
      if (this.inFlight.size === 0 && now - this.storeError.since >= this.x.storePatienceMs) {
        this.result.outcome = 'database_error';
        return true;
      }
      await this.x.clock.sleep(this.x.pollMs, new AbortController().signal);
      return false;
    }
  }

  /** One turn of the loop; true when the run for this campaign is over. */
  private async turn(): Promise<boolean> {
    const x = this.x;
    await this.lease.beforeClaim();
    const now = x.clock.now();
    const blocker = this.claimBlocker(now);
    const room = blocker ? 0 : x.transport.pool - this.inFlight.size;

    if (room === 0 && this.finished.length === 0) {
      if (this.inFlight.size > 0) {
        await this.nextAnswer();
        return false;
      }
      // Nothing in flight and nothing may be claimed now.
      this.result.outcome = blocker!;
      if (blocker === 'database_error') throw new Error(this.storeError!.message);
      return true;
    }

    const answers = this.finished.slice();
    const step = await x.store.stepEarly(this.id, x.owner.token, now, answers.map((f) => f.result), room, {
      idempotencyWindowMs: this.idempotencyWindowMs,
      peek: room > 0 ? (this.ahead?.wanted(room) ?? 0) : 0,
    });
    // Claimed recipients start at once: their messages are built, and the SMTP envelope goes
    // out, while the commit is under way; no byte of a message leaves before it is on disk
    // (sendOne, OutgoingEnvelope.ready). A commit that fails ends here as a database error, its
    // answers still waiting (sends that saw it fail queue a refund of their claim).
    if (step.claim?.kind === 'claimed') this.startClaimed(step.claim, step.durable);
    await step.durable;
    if (step.claim?.kind === 'claimed' && step.claim.upcoming) this.ahead?.fill(step.claim.upcoming);
    // Answers that arrived meanwhile were queued after these.
    this.finished.splice(0, answers.length);
    for (let i = 0; i < answers.length; i++) if (step.recorded[i] && answers[i]!.event) await x.emit(answers[i]!.event!, false);
    if (!step.claim) return false;
    if (step.claim.kind !== 'claimed') return this.handle(step.claim, now);
    // Logged once the claim is on disk (before any of its answers, which go in a later step).
    if (step.claim.batchStarted)
      await x.emit({ type: 'batch_started', at: now, campaignId: this.id, batch: step.claim.batch, batchSize: this.campaign.batchSize }, true);
    return false;
  }

  /** Starts sending what a step claimed; `ready` resolves once the claim is on disk. */
  private startClaimed(claim: Extract<ClaimResult, { kind: 'claimed' }>, ready: Promise<void>): void {
    this.campaign = { ...this.campaign, ...claim.campaign };
    this.lastWait = null;
    for (const r of claim.recipients) this.track(this.sendOne(r, claim.batch, ready), r.id);
  }

  /** Why no new recipient may be claimed right now, if so. */
  private claimBlocker(now: number): Blocker | null {
    const x = this.x;
    if (x.stopSignal.aborted) return 'stopped';
    if (this.fatal) return 'unavailable';
    if (this.lease.lost) return 'lease_lost';
    if (this.storeError) return 'database_error';
    if (this.templateProblem) return 'error';
    if (x.deadline !== null && now >= x.deadline) return 'deadline';
    return null;
  }

  /** What to do when a step claimed nothing; true when the loop must end. */
  private async handle(claim: Exclude<ClaimResult, { kind: 'claimed' }>, now: number): Promise<boolean> {
    const x = this.x;
    switch (claim.kind) {
      case 'batch_full':
      case 'done':
      case 'draining':
        if (this.unsettled) {
          await this.settleOwn();
          return false;
        }
        return this.settle(now);
      case 'wait':
        if (this.unsettled) {
          await this.settleOwn();
          return false;
        }
        return !(await this.waitUntil(claim.until, claim.reason));
      case 'stopped':
        await this.drain();
        this.result.outcome =
          claim.status === 'completed' ? 'completed' : claim.status === 'paused' ? 'paused' : claim.status === 'cancelled' ? 'cancelled' : 'not_sending';
        await x.emit({ type: 'stopped', at: x.clock.now(), campaignId: this.id, status: claim.status }, true);
        return true;
      case 'lost_lease':
        await this.drain();
        this.result.outcome = 'lease_lost';
        await x.emit({ type: 'lease_lost', at: x.clock.now(), campaignId: this.id, owner: x.ownerName }, true);
        return true;
    }
  }

  /**
   * Closes the open batch (next one due `interval` later) or completes the campaign — once
   * nothing of it is in flight at any runner. While another runner still has sends in flight,
   * looks again after a poll.
   */
  private async settle(now: number): Promise<boolean> {
    const x = this.x;
    const s = await x.store.settle(this.id, now);
    switch (s.kind) {
      case 'open':
        return false;
      case 'busy':
        return !(await this.pause(now + x.pollMs));
      case 'stopped':
        this.result.outcome = s.status === 'completed' ? 'completed' : s.status === 'paused' ? 'paused' : s.status === 'cancelled' ? 'cancelled' : 'not_sending';
        return true;
      case 'settled': {
        this.campaign = s.campaign;
        const at = x.clock.now();
        if (s.closedBatch !== null) await x.emit({ type: 'batch_finished', at, campaignId: this.id, batch: s.closedBatch, nextBatchAt: s.nextBatchAt }, false);
        if (!s.completed) return false;
        const [summary] = await x.store.summaries([this.id], at);
        await x.emit({ type: 'completed', at, campaignId: this.id, counts: summary!.counts }, false);
        this.result.outcome = 'completed';
        return true;
      }
    }
  }

  private track(p: Promise<void>, recipientId: number): void {
    const tracked: Promise<void> = p.finally(() => this.inFlight.delete(tracked));
    this.inFlight.set(tracked, recipientId);
  }

  /** Sends in flight, or answers not yet committed: the database does not show everything yet. */
  private get unsettled(): boolean {
    return this.inFlight.size > 0 || this.finished.length > 0;
  }

  /** Answers waiting to be committed go in the next turn's step; otherwise wait for one. */
  private async settleOwn(): Promise<void> {
    if (this.finished.length === 0) await this.nextAnswer();
  }

  /**
   * Waits for the next server answer, then lets every other socket that is ready deliver its
   * answer too (setImmediate runs after pending I/O), so they share one commit.
   */
  private async nextAnswer(): Promise<void> {
    if (this.inFlight.size > 0) await Promise.race(this.inFlight.keys());
    await new Promise((resolve) => setImmediate(resolve));
  }

  /**
   * Lets in-flight sends finish and records every answer — bounded (drainTimeoutMs) when
   * stopping, and when this runner was taken for dead or lost its database: then the others (or
   * the next run) have those recipients in doubt already, and hanging on a dead connection for
   * minutes helps nobody.
   */
  private async drain(): Promise<void> {
    if (this.inFlight.size > 0) {
      const all = Promise.allSettled([...this.inFlight.keys()]);
      if (!this.x.stopSignal.aborted && !this.lease.lost && !this.storeError) await all;
      else {
        const timeout = new AbortController();
        await Promise.race([all, this.x.clock.sleep(this.x.drainTimeoutMs, timeout.signal)]);
        timeout.abort();
      }
    }
    // A database that refuses writes gets a few more chances to take the answers.
    for (let tries = 0; this.finished.length > 0 && tries < 3; tries++) {
      const answers = this.finished.slice();
      try {
        const step = await this.x.store.step(this.id, this.x.owner.token, this.x.clock.now(), answers.map((f) => f.result), 0);
        this.finished.splice(0, answers.length);
        for (let i = 0; i < answers.length; i++) if (step.recorded[i] && answers[i]!.event) await this.x.emit(answers[i]!.event!, false);
      } catch (err) {
        this.result.error ??= (err as Error).message;
        await this.x.clock.sleep(this.x.pollMs, new AbortController().signal);
      }
    }
  }

  /**
   * Sleeps until `until` in steps of `pollMs` (each turn re-reads the campaign: pause, resume,
   * imports and other runners are seen). False when the run must end instead: stop requested,
   * or the deadline comes first (with --max-runtime a run exits as soon as nothing is due before it).
   */
  private async waitUntil(until: number, reason: WaitReason): Promise<boolean> {
    const x = this.x;
    const now = x.clock.now();
    if (!this.lastWait || this.lastWait.until !== until || this.lastWait.reason !== reason) {
      this.lastWait = { until, reason };
      await x.emit({ type: 'waiting', at: now, campaignId: this.id, until, reason }, true);
    }
    return this.pause(until);
  }

  /** Sleeps towards `until` (at most one poll); false when the run must end instead. */
  private async pause(until: number): Promise<boolean> {
    const x = this.x;
    const now = x.clock.now();
    if (x.deadline !== null && until > x.deadline) {
      this.result.outcome = x.stopSignal.aborted ? 'stopped' : 'deadline';
      return false;
    }
    await x.clock.sleep(Math.max(0, Math.min(until - now, x.pollMs)), x.stopSignal);
    if (x.stopSignal.aborted) {
      this.result.outcome = 'stopped';
      return false;
    }
    return true;
  }

  /**
   * A campaign whose stored templates cannot render (written by an older version, or edited by
   * hand) is paused with the reason, instead of failing every recipient; other campaigns go on.
   */
  private async holdForTemplates(problem: string): Promise<void> {
    const x = this.x;
    this.result.outcome = 'error';
    this.result.error = `its templates cannot render (${problem}); it was paused`;
    await x.store.setLastError(this.id, `templates cannot render: ${problem}`).catch(() => undefined);
    const paused = await x.store.transition(this.id, ['sending'], 'paused', x.clock.now()).catch(() => null);
    if (paused?.ok) await x.emit({ type: 'stopped', at: x.clock.now(), campaignId: this.id, status: 'paused' }, true).catch(() => undefined);
  }

  /**
   * Builds and sends one message, then queues its outcome for the next commit. `ready` resolves
   * once the claim is on disk: a transport that `waitsForReady` gets it with the message (SMTP
   * sends the envelope meanwhile), any other one the message only after it resolved.
   */
  private async sendOne(recipient: Recipient, batch: number, ready: Promise<void>): Promise<void> {
    const x = this.x;
    let outcome!: SendOutcome;
    let message: OutgoingMessage | null = null;
    try {
      message = await this.ahead!.take(recipient);
    } catch (err) {
      // A template that cannot render is the campaign's problem, not this recipient's: nothing
      // was sent, the attempt does not count, and the campaign is held for the operator.
      if (err instanceof TemplateError) {
        this.templateProblem ??= err.message;
        this.finished.push({ result: { recipientId: recipient.id, at: this.x.clock.now(), outcome: 'refunded', detail: err.message, messageId: messageIdFor(this.campaign, recipient.id) }, event: null });
        return;
      }
      outcome = { kind: 'failed', error: AROUND.not_built((err as Error).message), unknownMailbox: false };
    }
    const messageId = message?.messageId ?? messageIdFor(this.campaign, recipient.id);
    if (message && !x.transport.waitsForReady) {
      const unwritten = await ready.then(
        () => null,
        (err: unknown) => (err as Error)?.message ?? String(err),
      );
      if (unwritten !== null) {
        // The claim never reached the disk: nothing was sent, and the attempt does not count.
        this.finished.push({ result: { recipientId: recipient.id, at: x.clock.now(), outcome: 'refunded', detail: AROUND.not_sent(unwritten), messageId }, event: null });
        return;
      }
    }
    if (message) {
      try {
        outcome = await x.transport.send({
          from: message.envelopeFrom,
          to: recipient.email,
          raw: message.raw,
          messageId,
          parts: message.parts,
          // Stable across runs and hosts: a provider that deduplicates by key sees one message.
          idempotencyKey: idempotencyKeyFor(this.campaign, recipient.id),
          idempotentUntil: recipient.idempotentUntil,
          ready,
        });
      } catch (err) {
        // The transport classifies every outcome itself; a throw is a bug, and we cannot know
        // whether the message left: never risk sending twice.
        outcome = { kind: 'in_doubt', error: AROUND.transport_error((err as Error).message) };
      }
    }
    this.finished.push(await this.interpret(recipient, batch, messageId, outcome));
  }

  /**
   * Records what one outcome means (interpretOutcome) in the run's counters, and acts on what it
   * says about the whole campaign: a server that cannot be used, a provider's "slow down", a
   * stored error that no longer holds.
   */
  private async interpret(recipient: Recipient, batch: number, messageId: string, outcome: SendOutcome): Promise<Finished> {
    const x = this.x;
    const at = x.clock.now();
    const { result, event, count } = interpretOutcome(outcome, { campaign: this.campaign, recipient, batch, messageId, at, random: x.random });
    if (count) this.result[count]++;
    switch (outcome.kind) {
      case 'sent':
        if (this.campaign.lastError !== null) {
          // The server answers again: the stored error no longer describes the campaign.
          this.campaign = { ...this.campaign, lastError: null };
          await x.store.setLastError(this.id, null).catch(() => undefined);
        }
        break;
      case 'unavailable':
        if (!this.fatal) {
          this.fatal = outcome.error;
          this.result.error = outcome.error;
          await x.store.setLastError(this.id, `mail server unavailable: ${outcome.error}`).catch(() => undefined);
          await x.emit({ at, campaignId: this.id, type: 'transport_error', error: outcome.error }, true);
        }
        break;
      case 'throttled':
        if (outcome.until > this.throttledUntil) {
          this.throttledUntil = outcome.until;
          await x.emit({ at, campaignId: this.id, type: 'throttled', until: outcome.until, error: outcome.error }, true);
        }
        break;
    }
    return { result, event };
  }
}

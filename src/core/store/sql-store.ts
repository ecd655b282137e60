/**
 * The Store contract on top of any SQL backend: every method opens one transaction of the
 * backend and applies the shared rules (rules.ts) through the backend's row primitives (Tx).
 * What stays per backend — opening and migrating, bulk import, streaming reads, noticing other
 * processes' commits — is the backend's own.
 */
import { storedEvent } from '../event-log.js';
import type {
  AttemptResult,
  BatchStats,
  ClaimOptions,
  ClaimResult,
  ImportSession,
  ImportSessionOptions,
  NewEvent,
  Reaped,
  RecipientQuery,
  RunnerIdentity,
  SettleResult,
  StepResult,
  Store,
} from '../store.js';
import type {
  Campaign,
  CampaignSettings,
  CampaignStatus,
  CampaignSummary,
  Recipient,
  RecipientStatus,
  Runner,
  StoredEvent,
  Suppression,
} from '../types.js';
import * as rules from './rules.js';
import * as runners from './rules-runners.js';
import type { Tx } from './tx.js';

export interface TxOptions {
  /**
   * The engine's short units of work: a backend whose calls can hang on a dead network gives up
   * after a while (and reconnects) rather than leave a runner stuck without knowing it.
   */
  watchdog?: boolean;
}

export interface Backend {
  readonly kind: 'sqlite' | 'postgres';
  readonly display: string;
  /** A consistent read (one snapshot). */
  read<T>(fn: (t: Tx) => Promise<T>, options?: TxOptions): Promise<T>;
  /** A write transaction, committed (durably) before the promise resolves. */
  write<T>(fn: (t: Tx) => Promise<T>, options?: TxOptions): Promise<T>;
  /**
   * A write transaction, answered once its statements have run — on SQLite once committed, before
   * the flush; on PostgreSQL before the server has answered COMMIT. `durable` resolves once the
   * commit is on disk, and rejects if it is not (a failed flush, or on PostgreSQL a transaction
   * that did not commit); a rejection nobody has awaited yet is not reported as unhandled.
   */
  writeEarly<T>(fn: (t: Tx) => Promise<T>, options?: TxOptions): Promise<{ value: T; durable: Promise<void> }>;
  beginImport(campaignId: number, options?: ImportSessionOptions): Promise<ImportSession>;
  iterateRecipients(campaignId: number, status?: RecipientStatus): AsyncIterable<Recipient>;
  changeMarker(): Promise<number>;
  close(): Promise<void>;
}

const NO_IDEMPOTENCY: ClaimOptions = { idempotencyWindowMs: null };
const ENGINE_CALL: TxOptions = { watchdog: true };

export class SqlStore implements Store {
  readonly kind: 'sqlite' | 'postgres';
  readonly display: string;

  constructor(protected readonly backend: Backend) {
    this.kind = backend.kind;
    this.display = backend.display;
  }

  close(): Promise<void> {
    return this.backend.close();
  }

  async createCampaign(settings: CampaignSettings, now: number): Promise<Campaign> {
    return this.backend.write(async (t) => (await t.campaign(await t.insertCampaign(settings, now)))!);
  }

  getCampaign(id: number): Promise<Campaign | null> {
    return this.backend.read((t) => t.campaign(id));
  }

  listCampaigns(): Promise<Campaign[]> {
    return this.backend.read((t) => t.campaigns());
  }

  summaries(ids?: number[], now: number = Date.now()): Promise<CampaignSummary[]> {
    return this.backend.read((t) => rules.summaries(t, ids, now));
  }

  transition(id: number, from: readonly CampaignStatus[], to: CampaignStatus, now: number) {
    return this.backend.write((t) => rules.transition(t, id, from, to, now));
  }

  setLastError(id: number, message: string | null): Promise<void> {
    return this.backend.write((t) => t.updateCampaign(id, { lastError: message }));
  }

  makeBatchDue(id: number, now: number): Promise<void> {
    return this.backend.write(async (t) => {
      const c = await t.campaign(id, { lock: true });
      if (c && (c.nextBatchAt === null || c.nextBatchAt > now)) await t.updateCampaign(id, { nextBatchAt: now });
    });
  }

  beginImport(campaignId: number, options?: ImportSessionOptions): Promise<ImportSession> {
    return this.backend.beginImport(campaignId, options);
  }

  missingFields(campaignId: number, fields: string[]): Promise<Map<string, number>> {
    return this.backend.read((t) => t.missingFields(campaignId, fields));
  }

  getRecipient(campaignId: number, email: string): Promise<Recipient | null> {
    return this.backend.read((t) => t.recipientByEmail(campaignId, email.trim()));
  }

  firstRecipient(campaignId: number): Promise<Recipient | null> {
    return this.backend.read((t) => t.firstRecipient(campaignId));
  }

  iterateRecipients(campaignId: number, status?: RecipientStatus): AsyncIterable<Recipient> {
    return this.backend.iterateRecipients(campaignId, status);
  }

  listRecipients(campaignId: number, query: RecipientQuery): Promise<{ total: number; rows: Recipient[] }> {
    return this.backend.read((t) => t.listRecipients(campaignId, query));
  }

  async recipientHistory(campaignId: number, recipientId: number): Promise<StoredEvent[]> {
    const rows = await this.backend.read((t) => t.events(campaignId, { recipientId, limit: 10_000 }));
    return rows.map(storedEvent);
  }

  activity(campaignId: number, now: number, minutes: number): Promise<number[]> {
    const from = Math.floor(now / 60_000) * 60_000 - (minutes - 1) * 60_000;
    return this.backend.read((t) => t.sentPerMinute(campaignId, from, minutes));
  }

  batchStats(campaignId: number, limit: number): Promise<BatchStats[]> {
    return this.backend.read((t) => t.batchStats(campaignId, limit));
  }

  resolveInDoubt(campaignId: number, mode: 'resend' | 'mark-sent', now: number, emails?: string[]): Promise<number> {
    const list = emails && emails.length > 0 ? emails.map((e) => e.trim()) : null;
    return this.backend.write((t) => rules.resolveInDoubt(t, campaignId, mode, now, list));
  }

  addSuppressions(emails: string[], reason: string, now: number): Promise<number> {
    return this.backend.write((t) => t.addSuppressions(emails.map((e) => e.trim()), reason, now));
  }

  removeSuppressions(emails: string[]): Promise<number> {
    return this.backend.write((t) => t.removeSuppressions(emails.map((e) => e.trim())));
  }

  listSuppressions(): Promise<Suppression[]> {
    return this.backend.read((t) => t.listSuppressions());
  }

  changeMarker(): Promise<number> {
    return this.backend.changeMarker();
  }

  addEvent(event: NewEvent): Promise<void> {
    return this.backend.write((t) => rules.logEvent(t, event));
  }

  async listEvents(campaignId: number | null, options: { afterId?: number; limit?: number } = {}): Promise<StoredEvent[]> {
    const rows = await this.backend.read((t) => t.events(campaignId, { afterId: options.afterId, limit: options.limit ?? 100 }));
    return rows.map(storedEvent);
  }

  pruneEvents(before: number, campaignId?: number): Promise<number> {
    return this.backend.write((t) => t.pruneEvents(before, campaignId ?? null));
  }

  listRunners(campaignId: number): Promise<Runner[]> {
    return this.backend.read((t) => t.runners(campaignId), ENGINE_CALL);
  }

  async joinCampaign(campaignId: number, me: RunnerIdentity, now: number, ttlMs: number, localDead: string[]): Promise<{ runner: Runner; reaped: Reaped[] }> {
    const runner = await this.backend.write((t) => runners.register(t, campaignId, me, now, ttlMs), ENGINE_CALL);
    return { runner, reaped: await this.reapDead(campaignId, me, now, localDead) };
  }

  renewLease(token: string, now: number, ttlMs: number): Promise<boolean> {
    return this.backend.write((t) => runners.renew(t, token, now, ttlMs), ENGINE_CALL);
  }

  reapDead(campaignId: number, me: RunnerIdentity, now: number, localDead: string[]): Promise<Reaped[]> {
    return this.backend.write((t) => runners.reap(t, campaignId, me, now, localDead), ENGINE_CALL);
  }

  leaveCampaign(campaignId: number, token: string, now: number, handedOver: number[]): Promise<void> {
    return this.backend.write((t) => runners.leave(t, campaignId, token, now, handedOver), ENGINE_CALL);
  }

  async step(campaignId: number, token: string, now: number, results: AttemptResult[], max: number, options: ClaimOptions = NO_IDEMPOTENCY): Promise<StepResult> {
    const { recorded, claim } = await this.backend.write((t) => rules.step(t, campaignId, token, now, results, max, options), ENGINE_CALL);
    return { recorded, claim: await this.claimOf(claim, campaignId, now, Promise.resolve()) };
  }

  async stepEarly(
    campaignId: number,
    token: string,
    now: number,
    results: AttemptResult[],
    max: number,
    options: ClaimOptions = NO_IDEMPOTENCY,
  ): Promise<StepResult & { durable: Promise<void> }> {
    const { value, durable } = await this.backend.writeEarly((t) => rules.step(t, campaignId, token, now, results, max, options), ENGINE_CALL);
    return { recorded: value.recorded, claim: await this.claimOf(value.claim, campaignId, now, durable), durable };
  }

  /**
   * A step's claim once its rows are back (on PostgreSQL they arrive ahead of the COMMIT's answer,
   * so a claim is known before it is durable, as `stepEarly` promises). A claim that found nobody
   * due asks why in a read after its commit.
   */
  private async claimOf(claim: rules.StepClaim, campaignId: number, now: number, durable: Promise<void>): Promise<ClaimResult | null> {
    if (claim?.kind !== 'under_way') return claim;
    // A claim whose transaction failed (a lost connection, the watchdog giving up on a dead
    // network) ends as that failure, in the backend's words, even when its rows never come.
    const answered = rules.claimAnswered(claim);
    const claimed = await Promise.race([
      answered.catch(async (err: unknown) => {
        await durable;
        throw err;
      }),
      durable.then(() => answered),
    ]);
    if (claimed) return claimed;
    await durable;
    return this.backend.read((t) => rules.nothingClaimed(t, campaignId, now), ENGINE_CALL);
  }

  settle(campaignId: number, now: number): Promise<SettleResult> {
    return this.backend.write((t) => rules.settle(t, campaignId, now), ENGINE_CALL);
  }
}

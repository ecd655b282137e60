/**
 * The TUI's status manager: the only part of the UI that talks to the store and the engine.
 *
 * - Polls the store cheaply (one `summaries()` read plus the new events of the watched campaign
 *   via `afterId`) every `pollMs`, so changes made by other processes (a cron run, `pause` from
 *   another shell, an import) show up within a second.
 * - Sends from this window through LocalRuns (local-runs.ts: the transport and an in-process
 *   Engine per campaign); its engines' events ask for an early refresh. What the keys do to a
 *   campaign is `actions` (campaign-actions.ts).
 * - Publishes immutable snapshots to subscribers (React's useSyncExternalStore), at most one
 *   every `minEmitMs` (10 a second by default) however fast the engine goes, and only when
 *   something changed: watching a paused campaign costs one small query a second and no render.
 * - Keeps its log buffer bounded.
 * - Judges which runners are alive with the Observer it is given (this host, its pids): a lease
 *   left by a process that is gone is never shown as someone sending.
 * - For the failed / in-doubt list, a recipient's history and the pictures (sends per minute,
 *   per-batch outcomes) it reads only what the screen on show needs (`watchRecipients`,
 *   `watchHistory`, `watchPictures`), and the pictures at most every few seconds.
 */
import { EventEmitter } from 'node:events';
import type { EngineOptions } from '../core/engine.js';
import { type Observer, runnerAlive } from '../core/status.js';
import type { Store } from '../core/store.js';
import { redactUrl, type Transport } from '../core/transport/index.js';
import type { CampaignSummary, EventLevel, StoredEvent } from '../core/types.js';
import { UserError } from '../core/types.js';
import { CampaignActions } from './campaign-actions.js';
import { RateMeter } from './eta.js';
import { LocalRuns } from './local-runs.js';
import { hostname } from 'node:os';
import type { RecipientQuery, UiStoreExtras } from './store-extras.js';
import type { Pictures, RecipientHistory, RecipientPage } from './view-feeds.js';
import { ViewFeeds } from './view-feeds.js';

export type { Pictures, RecipientHistory, RecipientPage };
export type { CampaignStats, LogLine, Notice, NoticeBody, RunInfo, Snapshot } from './snapshot.js';
import type { CampaignStats, LogLine, Notice, NoticeBody, Snapshot } from './snapshot.js';

export interface ControllerOptions {
  store: Store;
  /** What the views read; default: the store itself (tests hand in a counting wrapper). */
  views?: UiStoreExtras;
  /** From --transport / AREMKO_MAIL_TRANSPORT; null: none configured. */
  transportUrl: string | null;
  /** This host and its processes: which runners are alive (the CLI's `observer`). */
  observer: Observer;
  /** Builds the transport on the first send; default: core/transport's parse + create. */
  makeTransport?: (url: string) => Promise<Transport>;
  /** Extra Engine options (tests: pollMs, clock…). */
  engineOptions?: Partial<Omit<EngineOptions, 'store' | 'transport'>>;
  pollMs?: number;
  minEmitMs?: number;
  logLimit?: number;
  now?: () => number;
}

export const DEFAULT_POLL_MS = 1000;
export const DEFAULT_MIN_EMIT_MS = 100;
export const DEFAULT_LOG_LIMIT = 1000;
/** More new events than this in one poll: reload the newest instead of reading them all. */
const TAIL_BATCH = 500;

function toLine(e: StoredEvent): LogLine {
  return {
    key: `e${e.id}`,
    at: e.at,
    level: e.level,
    type: e.type,
    data: e.data && typeof e.data === 'object' ? e.data : {},
    message: e.message,
  };
}

export class TuiController extends EventEmitter<{ change: [] }> {
  private readonly store: Store;
  private readonly pollMs: number;
  private readonly minEmitMs: number;
  private readonly logLimit: number;
  private readonly now: () => number;
  private readonly views: UiStoreExtras;
  private readonly feeds: ViewFeeds;
  /** The newest state, published to screens at most every `minEmitMs`. */
  private snapshot: Snapshot;
  /**
   * What screens see (`getSnapshot`): the last published state. A screen that re-renders for its
   * own reasons (a key) between two publications must not see newer data than the last
   * publication, or a later publication equal to that one would be skipped and leave it stale.
   */
  private published: Snapshot;
  private signature = '';

  /** Sending from this process. */
  private readonly local: LocalRuns;
  /** What the keys do to a campaign: send, pause, cancel, resolve (campaign-actions.ts). */
  readonly actions: CampaignActions;
  private readonly meters = new Map<number, RateMeter>();

  private pollTimer: NodeJS.Timeout | null = null;
  private quickTimer: NodeJS.Timeout | null = null;
  private emitTimer: NodeJS.Timeout | null = null;
  private lastEmitAt = 0;
  private lastRefreshAt = 0;
  private refreshing: Promise<void> | null = null;
  private refreshAgain = false;
  /** data_version at the last read; see readStore. */
  private lastChangeMarker = -1;
  /** The next read may not be skipped: this process changed something itself. */
  private forceRead = false;
  private started = false;
  private disposed = false;
  private lastEventId = 0;
  /** Emits published (for tests and the render-cap check). */
  emits = 0;

  constructor(private readonly options: ControllerOptions) {
    super();
    this.store = options.store;
    this.pollMs = options.pollMs ?? DEFAULT_POLL_MS;
    this.minEmitMs = options.minEmitMs ?? DEFAULT_MIN_EMIT_MS;
    this.logLimit = options.logLimit ?? DEFAULT_LOG_LIMIT;
    this.now = options.now ?? Date.now;
    this.views = options.views ?? options.store;
    this.snapshot = {
      loaded: false,
      campaigns: [],
      runs: {},
      ownerName: `${hostname()}:${process.pid}`,
      watchedId: null,
      log: [],
      logTruncated: false,
      stats: {},
      alive: {},
      notice: null,
      transportLabel: options.transportUrl ? redactUrl(options.transportUrl) : null,
      fatal: null,
      recipients: null,
      history: null,
      pictures: null,
    };
    this.published = this.snapshot;
    this.local = new LocalRuns({
      store: this.store,
      transportUrl: options.transportUrl,
      makeTransport: options.makeTransport,
      engineOptions: options.engineOptions,
      now: this.now,
      notify: (body, level) => this.notify(body, level),
      fail: (err) => this.fail(err),
      refresh: () => this.refresh(),
      requestRefresh: () => this.requestRefresh(),
      publishRuns: (runs) => this.update({ runs }),
    });
    this.actions = new CampaignActions({
      store: this.store,
      views: this.views,
      local: this.local,
      now: this.now,
      counts: (id) => this.snapshot.campaigns.find((c) => c.campaign.id === id)?.counts,
      notify: (body, level) => this.notify(body, level),
      fail: (err) => this.fail(err),
      refresh: () => this.refresh(),
    });
    this.feeds = new ViewFeeds({
      views: this.views,
      store: this.store,
      now: this.now,
      publish: (patch) => {
        if (!this.disposed) this.update(patch);
      },
      current: () => this.snapshot,
    });
  }

  // ---- subscription (useSyncExternalStore) ------------------------------------------------
  getSnapshot = (): Snapshot => this.published;

  subscribe = (listener: () => void): (() => void) => {
    this.on('change', listener);
    return () => this.off('change', listener);
  };

  /** Starts polling (idempotent). */
  start(): void {
    if (this.started || this.disposed) return;
    this.started = true;
    void this.refresh();
  }

  get isSending(): boolean {
    return this.local.isSending;
  }

  // ---- state publication ------------------------------------------------------------------
  private update(patch: Partial<Snapshot>): void {
    this.snapshot = { ...this.snapshot, ...patch };
    this.scheduleEmit();
  }

  private scheduleEmit(): void {
    if (this.disposed) return;
    const wait = this.lastEmitAt + this.minEmitMs - this.now();
    if (wait <= 0 && !this.emitTimer) return this.emitNow();
    if (this.emitTimer) return;
    this.emitTimer = setTimeout(() => {
      this.emitTimer = null;
      this.emitNow();
    }, Math.max(0, wait));
  }

  private emitNow(): void {
    if (this.disposed) return;
    const sig = this.signatureOf(this.snapshot);
    if (sig === this.signature) return;
    this.signature = sig;
    this.published = this.snapshot;
    this.lastEmitAt = this.now();
    this.emits++;
    this.emit('change');
  }

  /** Everything a screen shows, minus the templates (large, and never on screen). */
  private signatureOf(s: Snapshot): string {
    return JSON.stringify([
      s.loaded,
      s.campaigns.map((x) => {
        const { html, text, subject, ...rest } = x.campaign;
        void html;
        void text;
        void subject;
        return [rest, x.counts, x.runners.map((r) => [r.owner, r.expiresAt]), x.waiting];
      }),
      s.runs,
      s.watchedId,
      s.log.length,
      s.log[s.log.length - 1]?.key,
      s.logTruncated,
      s.stats,
      s.alive,
      s.notice,
      s.fatal,
      s.recipients,
      s.history && [s.history.recipientId, s.history.recipient, s.history.events.length, s.history.events[s.history.events.length - 1]?.id],
      s.pictures,
    ]);
  }

  notify(body: NoticeBody, level: EventLevel = 'info'): void {
    this.update({ notice: { ...body, level, at: this.now() } as Notice });
  }

  clearNotice(): void {
    if (this.snapshot.notice) this.update({ notice: null });
  }

  // ---- polling ----------------------------------------------------------------------------
  /** Asks for a refresh soon (engine events): at most one every `minEmitMs`. */
  requestRefresh(): void {
    if (this.disposed || this.quickTimer) return;
    const wait = Math.max(0, this.lastRefreshAt + this.minEmitMs - this.now());
    this.quickTimer = setTimeout(() => {
      this.quickTimer = null;
      void this.refresh();
    }, wait);
  }

  /**
   * Reads the store now (coalesced: a call during a refresh runs one more afterwards). The
   * periodic poll passes `force` false, letting a quiet database be skipped; every other caller
   * (this process just changed something) gets a full read.
   */
  refresh(force = true): Promise<void> {
    if (this.disposed) return Promise.resolve();
    if (force) this.forceRead = true;
    if (this.refreshing) {
      this.refreshAgain = true;
      return this.refreshing;
    }
    this.refreshing = (async () => {
      try {
        do {
          this.refreshAgain = false;
          await this.readStore();
        } while (this.refreshAgain && !this.disposed);
      } catch (err) {
        if (!this.disposed) this.update({ fatal: (err as Error).message });
      } finally {
        this.refreshing = null;
        this.lastRefreshAt = this.now();
        this.schedulePoll();
      }
    })();
    return this.refreshing;
  }

  private schedulePoll(): void {
    if (this.disposed || !this.started) return;
    if (this.pollTimer) clearTimeout(this.pollTimer);
    this.pollTimer = setTimeout(() => {
      this.pollTimer = null;
      void this.refresh(false);
    }, this.pollMs);
  }

  private async readStore(): Promise<void> {
    // Watching a quiet database (nothing sending anywhere, nothing committed by another process
    // since the last read) costs one PRAGMA instead of a full read and render.
    const marker = await this.store.changeMarker();
    const quiet =
      this.snapshot.loaded &&
      marker === this.lastChangeMarker &&
      !this.local.isSending &&
      !this.snapshot.campaigns.some((s) => s.campaign.status === 'sending');
    this.lastChangeMarker = marker;
    if (quiet && !this.forceRead) {
      // Nothing was written, but a runner's process may have died since: look again.
      this.update({ alive: this.probe(this.snapshot.campaigns, this.now()) });
      return this.feeds.tick(this.now());
    }
    this.forceRead = false;
    const now = this.now();
    const campaigns = await this.store.summaries(undefined, now);
    const stats: Record<number, CampaignStats> = {};
    for (const s of campaigns) {
      let meter = this.meters.get(s.campaign.id);
      if (!meter) this.meters.set(s.campaign.id, (meter = new RateMeter()));
      meter.add(now, s.counts.sent, s.campaign.batchClaimed > 0);
      const perMinute = meter.perMinute();
      const pace = meter.msPerMessage();
      stats[s.campaign.id] = {
        perMinute: perMinute === null ? null : Math.round(perMinute),
        msPerMessage: pace === null ? null : Math.round(pace),
      };
    }
    const patch: Partial<Snapshot> = { loaded: true, campaigns, stats, alive: this.probe(campaigns, now), fatal: null };

    const id = this.snapshot.watchedId;
    if (id !== null) {
      const watched = id;
      let fresh = await this.store.listEvents(watched, { afterId: this.lastEventId, limit: TAIL_BATCH });
      if (this.snapshot.watchedId !== watched) return this.update(patch); // switched meanwhile
      let log = this.snapshot.log;
      let truncated = this.snapshot.logTruncated;
      if (fresh.length === TAIL_BATCH) {
        // Far behind (a fast send): the newest lines are what matters.
        fresh = await this.store.listEvents(watched, { limit: this.logLimit });
        log = [];
        truncated = true;
      }
      if (fresh.length > 0) {
        this.lastEventId = fresh[fresh.length - 1]!.id;
        log = mergeLines(log, fresh.map(toLine));
        if (log.length > this.logLimit) {
          log = log.slice(log.length - this.logLimit);
          truncated = true;
        }
        patch.log = log;
        patch.logTruncated = truncated;
      }
    }
    this.update(patch);
    await this.feeds.refresh(now);
  }

  /** Every registered runner's liveness, by token. */
  private probe(campaigns: CampaignSummary[], now: number): Record<string, boolean | null> {
    const alive: Record<string, boolean | null> = {};
    for (const s of campaigns) for (const r of s.runners) alive[r.token] = runnerAlive(r, now, this.options.observer);
    return alive;
  }

  // ---- the failed list, a recipient's history, the pictures (view-feeds.ts) ---------------
  /** The page of the failed / in-doubt list to keep fresh; null when it is not on screen. */
  watchRecipients(campaignId: number | null, query?: RecipientQuery): void {
    this.feeds.watchRecipients(campaignId, query);
  }

  /** The recipient whose history is on screen; null for none. */
  watchHistory(campaignId: number | null, recipientId?: number, email?: string): void {
    this.feeds.watchHistory(campaignId, recipientId, email);
  }

  /** The campaign whose pictures are on screen; null for none. */
  watchPictures(campaignId: number | null): void {
    this.feeds.watchPictures(campaignId);
  }

  /** Follows one campaign's log (detail and log screens); null for none. */
  watch(id: number | null): void {
    if (this.snapshot.watchedId === id) return;
    this.lastEventId = 0;
    this.update({ watchedId: id, log: [], logTruncated: false });
    if (id === null) return;
    void (async () => {
      const rows = await this.store.listEvents(id, { limit: this.logLimit });
      if (this.disposed || this.snapshot.watchedId !== id) return;
      const total = rows.length;
      this.lastEventId = rows[rows.length - 1]?.id ?? 0;
      this.update({ log: mergeLines(this.snapshot.log, rows.map(toLine)), logTruncated: total >= this.logLimit });
      void this.refresh();
    })().catch((err) => this.update({ fatal: (err as Error).message }));
  }

  private fail(err: unknown): void {
    const text = err instanceof UserError ? err.message : ((err as Error)?.message ?? String(err));
    this.notify({ code: 'error', text: redactUrl(text) }, 'error');
  }

  /** Stops every engine of this process the way SIGTERM does (LocalRuns.stopAll). */
  stopAll(): Promise<void> {
    return this.local.stopAll();
  }

  /** Stops engines, closes the transport, ends polling. The store stays open (its owner closes it). */
  async dispose(): Promise<void> {
    await this.stopAll();
    this.disposed = true;
    this.feeds.dispose();
    for (const timer of [this.pollTimer, this.quickTimer, this.emitTimer]) if (timer) clearTimeout(timer);
    this.pollTimer = this.quickTimer = this.emitTimer = null;
    await this.refreshing?.catch(() => undefined);
    await this.local.close();
    this.removeAllListeners();
  }
}

/** Appends lines not seen yet, keeping time order. */
function mergeLines(log: LogLine[], lines: LogLine[]): LogLine[] {
  if (lines.length === 0) return log;
  const seen = new Set(log.map((l) => l.key));
  const out = log.slice();
  for (const line of lines) {
    if (seen.has(line.key)) continue;
    let i = out.length;
    while (i > 0 && out[i - 1]!.at > line.at) i--;
    out.splice(i, 0, line);
  }
  return out;
}

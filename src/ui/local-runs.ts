/**
 * Sending from the TUI's own process: the transport (built on the first `s`) and one in-process
 * Engine per campaign the operator sends from this window. The controller owns what is shown;
 * this owns what runs here, and reports through the host it is given (notices, the runs on show,
 * a refresh when the store changed).
 */
import { resumeCampaign, startCampaign } from '../core/campaigns.js';
import { Engine, type EngineOptions } from '../core/engine.js';
import type { Store } from '../core/store.js';
import { compileTemplates } from '../core/templates.js';
import { createTransport, parseTransportUrl, redactUrl, type Transport } from '../core/transport/index.js';
import type { EventLevel } from '../core/types.js';
import type { NoticeBody, RunInfo } from './snapshot.js';

export interface LocalRunsHost {
  store: Store;
  /** From --transport / AREMKO_MAIL_TRANSPORT; null: none configured. */
  transportUrl: string | null;
  /** Builds the transport on the first send; default: core/transport's parse + create. */
  makeTransport?: (url: string) => Promise<Transport>;
  /** Extra Engine options (tests: pollMs, clock…). */
  engineOptions?: Partial<Omit<EngineOptions, 'store' | 'transport'>>;
  now: () => number;
  notify(body: NoticeBody, level?: EventLevel): void;
  /** Something failed: say it (redacted). */
  fail(err: unknown): void;
  /** Read the store now (this process changed it). */
  refresh(): Promise<void>;
  /** Read the store soon (an engine event): coalesced by the host. */
  requestRefresh(): void;
  /** The runs of this process changed (shown in the list and the detail). */
  publishRuns(runs: Record<number, RunInfo>): void;
}

async function defaultMakeTransport(url: string): Promise<Transport> {
  return createTransport(parseTransportUrl(url));
}

export class LocalRuns {
  private transport: Transport | null = null;
  private transportPromise: Promise<Transport> | null = null;
  private readonly engines = new Map<number, { engine: Engine; done: Promise<void> }>();
  private runs: Record<number, RunInfo> = {};
  /** Campaigns whose `s` is being handled (a second `s` meanwhile must not start a second engine). */
  private readonly starting = new Set<number>();
  /** stopAll was called (quit, or the TUI closing): a run that ends `stopped` needs no notice. */
  private stopping = false;
  private readonly makeTransport: (url: string) => Promise<Transport>;

  constructor(private readonly host: LocalRunsHost) {
    this.makeTransport = host.makeTransport ?? defaultMakeTransport;
  }

  get isSending(): boolean {
    return this.engines.size > 0;
  }

  /** `s`: start a draft or resume a paused campaign, and send it from this process. */
  async send(id: number): Promise<void> {
    const { host } = this;
    if (this.engines.has(id) || this.starting.has(id)) return host.notify({ code: 'already_running', id }, 'warn');
    this.starting.add(id);
    try {
      const [s] = await host.store.summaries([id]);
      if (!s) return;
      const status = s.campaign.status;
      if (status === 'completed' || status === 'cancelled') return host.notify({ code: 'not_startable', id, status }, 'warn');
      if (status === 'draft') {
        if (s.counts.pending === 0) return host.notify({ code: 'no_pending', id }, 'warn');
        const fields = compileTemplates(s.campaign).fields.filter((f) => f !== 'email');
        const missing = await host.store.missingFields(id, fields);
        if (missing.size > 0)
          return host.notify({ code: 'missing_fields', id, fields: [...missing].map(([name, count]) => ({ name, count })) }, 'error');
      }
      const transport = await this.ensureTransport();
      if (!transport) return;
      if (status === 'draft') await startCampaign(host.store, id, host.now());
      else if (status === 'paused') await resumeCampaign(host.store, id, host.now());
      this.runEngine(id, transport);
      host.notify({ code: 'sending_now', id });
    } catch (err) {
      host.fail(err);
    } finally {
      this.starting.delete(id);
      void host.refresh();
    }
  }

  /**
   * Stops every engine of this process the way SIGTERM does: no new claims, messages in flight
   * finish (bounded by the engine's drain timeout) and are recorded, leases released.
   */
  async stopAll(): Promise<void> {
    this.stopping = true;
    for (const [id, { engine }] of this.engines) {
      engine.stop();
      if (this.runs[id]) this.setRuns({ ...this.runs, [id]: { ...this.runs[id]!, state: 'stopping' } });
    }
    await Promise.allSettled([...this.engines.values()].map((e) => e.done));
  }

  /** Stops every engine, then closes the transport. */
  async close(): Promise<void> {
    await this.stopAll();
    const transport = this.transport ?? (this.transportPromise ? await this.transportPromise.catch(() => null) : null);
    this.transport = null;
    if (transport) await transport.close().catch(() => undefined);
  }

  private setRuns(runs: Record<number, RunInfo>): void {
    this.runs = runs;
    this.host.publishRuns(runs);
  }

  private async ensureTransport(): Promise<Transport | null> {
    const url = this.host.transportUrl;
    if (!url) {
      this.host.notify({ code: 'no_transport' }, 'error');
      return null;
    }
    if (this.transport) return this.transport;
    this.transportPromise ??= this.makeTransport(url);
    try {
      this.transport = await this.transportPromise;
      return this.transport;
    } catch (err) {
      this.transportPromise = null;
      this.host.notify({ code: 'bad_transport', error: redactUrl((err as Error).message) }, 'error');
      return null;
    }
  }

  private runEngine(id: number, transport: Transport): void {
    const { host } = this;
    const engine = new Engine({ ...host.engineOptions, store: host.store, transport });
    // What the engine did shows through the store (what it waits for included): read it soon.
    engine.on('event', () => host.requestRefresh());
    this.setRuns({ ...this.runs, [id]: { campaignId: id, state: 'running', startedAt: host.now() } });
    const done = engine
      .run([id])
      .then(async ([result]) => {
        if (!result) return;
        // The screen shows the campaign as the run left it before the notice says why it ended.
        await host.refresh();
        if (!(result.outcome === 'stopped' && this.stopping)) {
          const level: EventLevel = result.outcome === 'unavailable' ? 'error' : result.outcome === 'completed' ? 'info' : 'warn';
          host.notify({ code: 'run_ended', id, outcome: result.outcome, error: result.error ? redactUrl(result.error) : null }, level);
        }
      })
      .catch((err) => host.fail(err))
      .finally(() => {
        this.engines.delete(id);
        const runs = { ...this.runs };
        delete runs[id];
        this.setRuns(runs);
        void host.refresh();
      });
    this.engines.set(id, { engine, done });
  }
}

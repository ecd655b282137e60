/**
 * The start of `run`, up to where the engine is needed: its configuration read and checked, the
 * campaigns to work on found, and the two ways a run ends before any sending — no campaign is
 * sending, or (the cron line between batches) nothing is due before --max-runtime.
 *
 * Most cron runs end here, so this module loads nothing of the engine, the transports or the
 * templates, and imports only what the bundle's entry (dist/bundle/aremko-mail.cjs) holds anyway:
 * main.ts runs it there (`endedBeforeTheEngine`) and requires run.cjs only when there is work.
 * See scripts/bundle.mjs.
 */
import { resolveTransportUrl } from '../../core/config.js';
import type { DkimSigner } from '../../core/dkim.js';
import { LIMITS, parseDurationFlag } from '../../core/duration.js';
import type { CampaignRunResult } from '../../core/engine.js';
import { jsonLine, textLine } from '../../core/event-log.js';
import type { EngineEvent } from '../../core/events.js';
import type { Store } from '../../core/store.js';
import type { TransportConfig } from '../../core/transport/types.js';
import { ConfigError } from '../../core/types.js';
import { type GlobalArgs, parseId, withStore } from '../context.js';

export interface RunArgs extends GlobalArgs {
  campaign?: number;
  auto?: boolean;
  'max-runtime'?: string;
  'ignore-schedule'?: boolean;
  'log-format': 'text' | 'json';
  transport?: string;
  'dkim-key'?: string;
  'dkim-selector'?: string;
}

/** What the engine is to do, read from the command line, the environment and the store. */
export interface RunPlan {
  /** the campaigns to work on: the one named, or every one that is sending (never none) */
  ids: number[];
  config: TransportConfig;
  dkim: DkimSigner | null;
  maxRuntimeMs: number | null;
  leaseTtlMs: number | undefined;
}

export function summaryLine(r: CampaignRunResult): string {
  const what: Record<CampaignRunResult['outcome'], string> = {
    completed: 'completed',
    paused: 'paused: stopped claiming',
    cancelled: 'cancelled: stopped claiming',
    not_sending: `not sending (it is ${r.status}${r.status === 'draft' ? `; start it: aremko-mail start ${r.campaignId}` : ''})`,
    deadline: 'nothing more due before --max-runtime; the next run carries on',
    stopped: 'stopped by signal; the next run carries on',
    lease_lost: 'lease lost (another runner took this one for dead); the others carry on',
    unavailable: `mail server unavailable: ${r.error}`,
    database_error: `the database failed: ${r.error}; anything left in flight is marked in_doubt by the next run`,
    error: `could not work on it: ${r.error}`,
    missing: `does not exist`,
  };
  return `campaign ${r.campaignId}: ${what[r.outcome]} — this run: ${r.sent} sent, ${r.failed} failed, ${r.retried} to retry, ${r.inDoubt} in doubt`;
}

/** The last lines of a run: one per campaign, what became of it in this run. */
export function printResults(a: RunArgs, results: CampaignRunResult[]): void {
  for (const r of results) {
    const line = summaryLine(r);
    process.stdout.write(
      a['log-format'] === 'json'
        ? JSON.stringify({ at: new Date().toISOString(), type: 'run_finished', campaignId: r.campaignId, outcome: r.outcome, status: r.status, sent: r.sent, failed: r.failed, retried: r.retried, in_doubt: r.inDoubt, error: r.error, message: line }) + '\n'
        : line + '\n',
    );
  }
}

/**
 * AREMKO_MAIL_LEASE_SECONDS: how long a runner that stops renewing stays "alive" for the others
 * (default 60). Shorter takes over a dead host sooner; it must stay well above the longest stall
 * a live runner may have (a slow disk, a busy database). Tests use a few seconds.
 */
function leaseTtlFromEnv(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const raw = env.AREMKO_MAIL_LEASE_SECONDS;
  if (raw === undefined || raw === '') return undefined;
  const seconds = Number(raw);
  if (!/^\d+$/.test(raw) || seconds < 2 || seconds > 3600)
    throw new ConfigError(`AREMKO_MAIL_LEASE_SECONDS: "${raw}" must be a whole number of seconds from 2 to 3600`);
  return seconds * 1000;
}

/**
 * The `waiting` events of campaigns that all wait past `now + maxRuntimeMs`, as the engine would
 * emit them, or null when any campaign may have work before then: one that is missing or not
 * sending (the engine says why), has recipients in flight (a runner's, or a dead one's to take
 * over), or waits for nothing (the store's `waiting`, the same rules the engine's claim follows).
 */
async function waitsPastDeadline(store: Store, ids: number[], now: number, maxRuntimeMs: number): Promise<EngineEvent[] | null> {
  const deadline = now + maxRuntimeMs;
  const found = await store.summaries(ids, now);
  if (found.length !== ids.length) return null;
  const waits: EngineEvent[] = [];
  for (const s of found) {
    if (s.campaign.status !== 'sending' || s.counts.sending > 0 || !s.waiting || s.waiting.until <= deadline) return null;
    waits.push({ type: 'waiting', at: now, campaignId: s.campaign.id, until: s.waiting.until, reason: s.waiting.reason });
  }
  return waits;
}

/**
 * Reads run's configuration and finds the campaigns to work on. Returns the exit code when the
 * run ends here, having printed what it prints there; otherwise what the engine is to do (and
 * nothing has been printed). Throws ConfigError (exit 2) for a bad configuration.
 */
export async function startRun(a: RunArgs, store: Store): Promise<number | RunPlan> {
  if (a.campaign === undefined && !a.auto) throw new ConfigError('run needs --campaign <id> or --auto');
  if (a.campaign !== undefined && a.auto) throw new ConfigError('use either --campaign <id> or --auto, not both');
  // Configuration first: a bad key file or transport URL is exit 2 even when nothing is sending.
  const [{ parseTransportUrl }, { loadDkim }] = await Promise.all([import('../../core/transport/url.js'), import('../../core/dkim.js')]);
  // Read once, before anything is sent: a bad key file is a configuration error (exit 2).
  const dkim = loadDkim({ dkimKey: a['dkim-key'], dkimSelector: a['dkim-selector'] });
  const maxRuntimeMs = a['max-runtime'] !== undefined ? parseDurationFlag(a['max-runtime'], '--max-runtime', LIMITS.maxRuntime) * 1000 : null;
  const config = parseTransportUrl(resolveTransportUrl(a.transport));
  const leaseTtlMs = leaseTtlFromEnv();

  const ids =
    a.campaign !== undefined
      ? [parseId(a.campaign)]
      : (await store.listCampaigns()).filter((c) => c.status === 'sending').map((c) => c.id);
  if (ids.length === 0) {
    const line = 'no campaign is sending; nothing to do';
    process.stdout.write(a['log-format'] === 'json' ? JSON.stringify({ at: new Date().toISOString(), type: 'idle', message: line }) + '\n' : line + '\n');
    return 0;
  }

  // The cron line between batches: nothing due before the deadline, nothing in flight anywhere.
  // It ends here with what the engine would have said, without loading it (start-up is most of
  // what such a run costs) and without registering a runner that would do nothing.
  if (maxRuntimeMs !== null && !a['ignore-schedule']) {
    const waits = await waitsPastDeadline(store, ids, Date.now(), maxRuntimeMs);
    if (waits) {
      const print = a['log-format'] === 'json' ? jsonLine : textLine;
      for (const w of waits) {
        process.stdout.write(print(w) + '\n');
        process.stdout.write(print({ type: 'run_ended', at: w.at, campaignId: w.campaignId, outcome: 'deadline', sent: 0, failed: 0, retried: 0, inDoubt: 0 }) + '\n');
      }
      printResults(a, ids.map((campaignId) => ({ campaignId, outcome: 'deadline', status: 'sending', sent: 0, failed: 0, retried: 0, inDoubt: 0, error: null })));
      return 0;
    }
  }
  return { ids, config, dkim, maxRuntimeMs, leaseTtlMs };
}

/**
 * `run` as far as `startRun` goes, on a store of its own, for the bundle's entry: true when the
 * run ended there (its exit code set, or its error reported as runHandler would), false when
 * there is work. Nothing is printed on the way to false; the caller then hands the whole command
 * line to runHandler (run.cjs in the bundle), which reads it all again with its own modules — the
 * bundle never passes objects between its files — and decides the same, or, if the campaigns
 * changed in between, what they are now.
 */
export async function endedBeforeTheEngine(a: RunArgs): Promise<boolean> {
  let work = false;
  await withStore(a, async (store) => {
    const start = await startRun(a, store);
    if (typeof start === 'number') return start;
    work = true;
    return undefined;
  });
  return !work;
}

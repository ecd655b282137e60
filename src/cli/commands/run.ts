import type { CommandModule } from 'yargs';
import { resolveTransportUrl } from '../../core/config.js';
import { LIMITS, parseDurationFlag } from '../../core/duration.js';
import type { CampaignRunResult } from '../../core/engine.js';
import type { EngineEvent } from '../../core/events.js';
import type { Store } from '../../core/store.js';
import { jsonLine, textLine } from '../../core/event-log.js';
import { ConfigError, UserError } from '../../core/types.js';
import { type GlobalArgs, parseId, withStore } from '../context.js';
import { terminalWanted } from '../progress.js';
import { RunStatus } from '../run-status.js';

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

/** A run that ends like this failed (exit 1): a named campaign missing or not started, the database or the campaign unusable. */
function failedRun(r: CampaignRunResult): boolean {
  return r.outcome === 'missing' || r.outcome === 'database_error' || r.outcome === 'error' || (r.outcome === 'not_sending' && r.status === 'draft');
}

/** Exit codes: 0 done, 1 failure (see failedRun), 75 mail server unreachable / login refused. */
export function exitCodeFor(results: CampaignRunResult[]): number {
  if (results.some((r) => r.outcome === 'unavailable')) return 75;
  if (results.some(failedRun)) return 1;
  return 0;
}

function summaryLine(r: CampaignRunResult): string {
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
 * Log lines written once per turn of the event loop instead of one write each: at a few hundred
 * sends a second, a write per line was a system call per message. Lines keep their order and
 * reach stdout before anything else the command prints (flush()).
 */
class LineBatcher {
  private pending: string[] = [];
  private scheduled = false;

  line(text: string): void {
    this.pending.push(text);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  flush(): void {
    this.scheduled = false;
    if (this.pending.length === 0) return;
    const chunk = this.pending.join('\n') + '\n';
    this.pending = [];
    process.stdout.write(chunk);
  }
}

/** The last lines of a run: one per campaign, what became of it in this run. */
function printResults(a: RunArgs, results: CampaignRunResult[]): void {
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

export async function runHandler(a: RunArgs): Promise<void> {
  await withStore(a, async (store) => {
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
    const print = a['log-format'] === 'json' ? jsonLine : textLine;
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
        for (const w of waits) {
          process.stdout.write(print(w) + '\n');
          process.stdout.write(print({ type: 'run_ended', at: w.at, campaignId: w.campaignId, outcome: 'deadline', sent: 0, failed: 0, retried: 0, inDoubt: 0 }) + '\n');
        }
        printResults(a, ids.map((campaignId) => ({ campaignId, outcome: 'deadline', status: 'sending', sent: 0, failed: 0, retried: 0, inDoubt: 0, error: null })));
        return 0;
      }
    }

    // The engine pulls in nodemailer and the template engines: loaded only when there is work.
    const [{ Engine }, { createTransport }] = await Promise.all([import('../../core/engine.js'), import('../../core/transport/index.js')]);
    const transport = createTransport(config);
    // The store never holds the thread for a flush to disk (SQLite: see WalFlush): SMTP and
    // rendering go on while each commit reaches the disk.
    const engine = new Engine({ store, transport, maxRuntimeMs, ignoreSchedule: a['ignore-schedule'], dkim, leaseTtlMs });
    // In a terminal with text logs, a line under the log says where each campaign stands.
    const standing = terminalWanted({ json: a['log-format'] === 'json' }) ? new RunStatus(store, ids) : null;
    const out = standing ? null : new LineBatcher();
    engine.on('event', (e) => (standing ? standing.log(print(e)) : out!.line(print(e))));

    let signals = 0;
    const onSignal = (signal: NodeJS.Signals) => {
      signals++;
      standing?.clear();
      if (signals === 1) {
        process.stderr.write(`aremko-mail: ${signal}: no new sends; letting in-flight ones finish (at most 30 s). Again to exit at once.\n`);
        engine.stop();
      } else {
        // In-flight sends stay `sending`; the next runner marks them in_doubt, as after a kill.
        out?.flush();
        process.exit(signal === 'SIGINT' ? 130 : 143);
      }
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    try {
      standing?.start();
      const results = await engine.run(ids);
      out?.flush();
      standing?.stop();
      printResults(a, results);
      const code = exitCodeFor(results);
      if (code === 1) throw new UserError(summaryLine(results.find(failedRun)!));
      return code;
    } finally {
      standing?.stop();
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      await transport.close();
    }
  });
}

export const runOptions = {
  campaign: { type: 'number', describe: 'send this campaign' },
  auto: { type: 'boolean', describe: 'send every campaign that is sending' },
  'max-runtime': { type: 'string', describe: 'start no send after this long (90s, 4m, 1h); exit when nothing is due before it' },
  'ignore-schedule': { type: 'boolean', describe: 'make the next batch due now' },
  'log-format': { choices: ['text', 'json'], default: 'text', describe: 'one log line per event: text, or JSON lines' },
} as const;

export const runCommand: CommandModule<GlobalArgs, RunArgs> = {
  command: 'run',
  describe: 'send due batches (headless; also `aremko-mail --headless …`). Cron: --auto --max-runtime 4m',
  builder: (y) =>
    y
      .options(runOptions)
      .example('$0 run --campaign 3', 'send campaign 3 until it is completed, paused or cancelled')
      .example('$0 --headless --auto --max-runtime 4m', 'the cron line (every 5 minutes)')
      .epilog('Exit codes: 0 done, 1 failure, 2 usage or configuration, 75 mail server unreachable or login refused.') as any,
  handler: runHandler,
};

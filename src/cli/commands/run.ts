import type { CommandModule } from 'yargs';
import type { CampaignRunResult } from '../../core/engine.js';
import { jsonLine, textLine } from '../../core/event-log.js';
import { UserError } from '../../core/types.js';
import { type GlobalArgs, withStore } from '../context.js';
import { terminalWanted } from '../progress.js';
import { RunStatus } from '../run-status.js';
import { printResults, type RunArgs, startRun, summaryLine } from './run-start.js';

export type { RunArgs };

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

export async function runHandler(a: RunArgs): Promise<void> {
  await withStore(a, async (store) => {
    const plan = await startRun(a, store);
    if (typeof plan === 'number') return plan; // nothing sending, or nothing due before --max-runtime
    const { ids, config, dkim, maxRuntimeMs, leaseTtlMs } = plan;
    const print = a['log-format'] === 'json' ? jsonLine : textLine;

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

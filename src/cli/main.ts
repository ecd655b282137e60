#!/usr/bin/env node
/**
 * aremko-mail entry point. Each command lives in ./commands; this file only wires them.
 * Ink/React are imported lazily by the TUI path so other commands start fast.
 */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { campaignCommand } from './commands/campaign.js';
import { cancelCommand } from './commands/cancel.js';
import { pauseCommand } from './commands/pause.js';
import { resumeCommand } from './commands/resume.js';
import { startCommand } from './commands/start.js';
import { demoCommand } from './commands/demo.js';
import { exportCommand } from './commands/export.js';
import { importCommand } from './commands/import.js';
import { logsCommand } from './commands/logs.js';
import { previewCommand } from './commands/preview.js';
import { resolveCommand } from './commands/resolve.js';
import { runCommand } from './commands/run.js';
import { sendTestCommand } from './commands/send-test.js';
import { statusCommand, statusHandler } from './commands/status.js';
import { suppressCommand } from './commands/suppress.js';
import { fail } from './context.js';

/** `aremko-mail --headless …` is `aremko-mail run …`. */
export function normaliseArgv(argv: string[]): string[] {
  const i = argv.indexOf('--headless');
  if (i === -1) return argv;
  const rest = argv.filter((_, j) => j !== i);
  return rest[0] === 'run' ? rest : ['run', ...rest];
}

export async function main(argv: string[]): Promise<void> {
  const cli = yargs(normaliseArgv(argv))
    .scriptName('aremko-mail')
    .usage(
      '$0 [command]\n\nEmail campaigns that never stop halfway and never send twice.\n' +
        'With no command: the live TUI in a terminal, `status` otherwise.',
    )
    .option('db', { type: 'string', global: true, describe: 'SQLite database file [env AREMKO_MAIL_DB] (default data/aremko-mail.db)' })
    .option('transport', {
      type: 'string',
      global: true,
      describe: 'where mail goes [env AREMKO_MAIL_TRANSPORT]: smtp://user:pass@host:587, smtps://…:465, outbox:<dir>; ?pool=N',
    })
    .command(campaignCommand as any)
    .command(statusCommand as any)
    .command(startCommand as any)
    .command(pauseCommand as any)
    .command(resumeCommand as any)
    .command(cancelCommand as any)
    .command(importCommand as any)
    .command(runCommand as any)
    .command(logsCommand as any)
    .command(resolveCommand as any)
    .command(previewCommand as any)
    .command(sendTestCommand as any)
    .command(exportCommand as any)
    .command(suppressCommand as any)
    .command(demoCommand as any)
    .command({
      command: '$0',
      describe: false as any,
      builder: (y) =>
        y
          // --transport is global (above): the TUI sends with it when the operator presses s.
          .option('json', { type: 'boolean', describe: 'print one JSON document on stdout' })
          .option('lang', { type: 'string', choices: ['es', 'en'], describe: 'TUI language (default from LANG: es_* → es)' }),
      handler: async (a: any) => {
        // A terminal on both ends: the live TUI (Ink and React load only here). Otherwise `status`.
        if (process.stdout.isTTY && process.stdin.isTTY && !a.json) {
          const { runTui } = await import('../ui/run-tui.js');
          return runTui(a);
        }
        return statusHandler(a);
      },
    })
    .strictCommands()
    .strictOptions()
    .demandCommand(0)
    .recommendCommands()
    .help()
    .alias('h', 'help')
    .version()
    .wrap(Math.min(100, process.stdout.columns || 100))
    .fail((msg, err, y) => {
      if (err) throw err;
      void y;
      process.stderr.write(`aremko-mail: ${msg}\nRun with --help for usage.\n`);
      process.exit(2);
    });
  try {
    await cli.parseAsync();
  } catch (err) {
    fail(err);
  }
}

await main(hideBin(process.argv));

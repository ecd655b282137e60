/**
 * The yargs command line: every command, its help and its usage errors. Each command lives in
 * ./commands; this file only wires them. main.ts comes here for every command line that
 * fast-path.ts does not take; Ink/React are imported lazily by the TUI path.
 */
import yargs, { type Argv, type CommandModule } from 'yargs';
import { statusCommand, statusHandler } from './commands/status.js';
import { fail } from './context.js';
import { GLOBAL_VALUE_OPTIONS, normaliseArgv } from './fast-path.js';
import { transportFromFile } from '../core/config.js';

/** The commands that send, and so read the transport URL (the TUI is the command-less form). */
const SENDING_COMMANDS = new Set([undefined, 'run', 'send-test']);

type Loader = () => Promise<CommandModule<any, any>>;

/**
 * Every command, in help order, loaded on demand: a command line that names one loads only
 * that module (start-up is most of what `status` costs); help and typos load them all.
 */
const COMMANDS: Record<string, Loader> = {
  campaign: async () => (await import('./commands/campaign.js')).campaignCommand,
  status: async () => statusCommand,
  start: async () => (await import('./commands/start.js')).startCommand,
  pause: async () => (await import('./commands/pause.js')).pauseCommand,
  resume: async () => (await import('./commands/resume.js')).resumeCommand,
  cancel: async () => (await import('./commands/cancel.js')).cancelCommand,
  import: async () => (await import('./commands/import.js')).importCommand,
  run: async () => (await import('./commands/run.js')).runCommand,
  logs: async () => (await import('./commands/logs.js')).logsCommand,
  prune: async () => (await import('./commands/prune.js')).pruneCommand,
  resolve: async () => (await import('./commands/resolve.js')).resolveCommand,
  preview: async () => (await import('./commands/preview.js')).previewCommand,
  'send-test': async () => (await import('./commands/send-test.js')).sendTestCommand,
  export: async () => (await import('./commands/export.js')).exportCommand,
  suppress: async () => (await import('./commands/suppress.js')).suppressCommand,
  demo: async () => (await import('./commands/demo.js')).demoCommand,
  db: async () => (await import('./commands/db.js')).dbCommand,
};

/**
 * The command module(s) a command line needs: the command it names (its first word that is not
 * the value of a global option: `--db run status` is `status` on a database file named "run"), or
 * every command when it names none (help, typos).
 */
export async function commandsFor(argv: string[]): Promise<CommandModule<any, any>[]> {
  let named: string | undefined;
  for (let i = 0; i < argv.length && named === undefined; i++) {
    const token = argv[i]!;
    if (GLOBAL_VALUE_OPTIONS.has(token)) i++;
    else if (Object.hasOwn(COMMANDS, token)) named = token;
  }
  return Promise.all((named ? [named] : Object.keys(COMMANDS)).map((name) => COMMANDS[name]!()));
}

export interface CliOptions {
  /** Help is wrapped at this many columns (default: the terminal's, at most 100). */
  width?: number;
  /** The default command's handler (tests give their own); default: the TUI or `status`. */
  defaultHandler?: (a: any) => Promise<void> | void;
  /** A usage error (unknown option, bad choice…); default: print it in one line and exit 2. */
  onUsageError?: (message: string) => void;
}

function usageError(message: string): void {
  process.stderr.write(`aremko-mail: ${message}\nRun with --help for usage.\n`);
  process.exit(2);
}

/** The yargs instance for these (already normalised) arguments, commands not yet added. */
export function buildCli(args: string[], options: CliOptions = {}): Argv {
  return yargs(args)
    .scriptName('aremko-mail')
    .usage(
      '$0 [command]\n\nEmail campaigns that never stop halfway and never send twice.\n' +
        'With no command: the live TUI in a terminal, `status` otherwise.',
    )
    .option('db', { type: 'string', global: true, describe: 'SQLite file, or postgres://user:pass@host/db?schema=…&sslmode=… [env AREMKO_MAIL_DB] (default data/aremko-mail.db)' })
    .option('transport', {
      type: 'string',
      global: true,
      describe:
        'where mail goes [env AREMKO_MAIL_TRANSPORT]: smtp://user:pass@host:587, smtps://…:465, outbox:<dir>, resend://<key>, ' +
        'postmark://<token>, sendgrid://<key>, mailgun://<key>@<domain>, ses://<key-id>:<secret>@<region>; ?pool=N. ' +
        'A password or key given here is visible to every user of the machine (ps): prefer --transport-file or the environment',
    })
    .option('transport-file', {
      type: 'string',
      global: true,
      describe: 'read the transport URL from this file, e.g. /run/secrets/transport (trailing newline ignored) [env AREMKO_MAIL_TRANSPORT_FILE]',
    })
    .option('dkim-key', {
      type: 'string',
      global: true,
      describe: 'DKIM-sign every message for its From domain with this private key (PEM, RSA or Ed25519; never stored) [env AREMKO_MAIL_DKIM_KEY]',
    })
    .option('dkim-selector', { type: 'string', global: true, describe: 'the DKIM selector (<selector>._domainkey.<domain>) [env AREMKO_MAIL_DKIM_SELECTOR]' })
    .middleware((a) => {
      // A URL kept in a file is read once, here, for the commands that send: they find it as --transport.
      if (!SENDING_COMMANDS.has(a._[0] as string | undefined)) return;
      const url = transportFromFile(a.transport as string | undefined, a['transport-file'] as string | undefined);
      if (url !== undefined) a.transport = url;
    })
    .command({
      command: '$0',
      describe: false as any,
      builder: (y) =>
        y
          // --transport is global (above): the TUI sends with it when the operator presses s.
          .option('json', { type: 'boolean', describe: 'print one JSON document on stdout' })
          .option('lang', { type: 'string', choices: ['es', 'en'], describe: 'TUI language (default from LANG: es_* → es)' }),
      handler: options.defaultHandler ?? defaultCommand,
    })
    .strictCommands()
    .strictOptions()
    .demandCommand(0)
    .recommendCommands()
    .help()
    .alias('h', 'help')
    .version()
    .wrap(options.width ?? Math.min(100, process.stdout.columns || 100))
    .fail((msg, err) => {
      if (err) throw err;
      (options.onUsageError ?? usageError)(msg);
    });
}

/** `aremko-mail` with no command: the TUI in a terminal, `status` otherwise. */
async function defaultCommand(a: any): Promise<void> {
  if (a._.length > 0) {
    process.stderr.write(`aremko-mail: unknown command "${a._[0]}"\nRun with --help for the list of commands.\n`);
    process.exitCode = 2;
    return;
  }
  // A terminal on both ends: the live TUI (Ink and React load only here). Otherwise `status`.
  if (process.stdout.isTTY && process.stdin.isTTY && !a.json) {
    const { runTui } = await import('./tui.js');
    return runTui(a);
  }
  return statusHandler(a);
}

export async function main(argv: string[]): Promise<void> {
  const args = normaliseArgv(argv);
  const cli = buildCli(args);
  for (const command of await commandsFor(args)) cli.command(command);
  try {
    await cli.parseAsync();
  } catch (err) {
    fail(err);
  }
}

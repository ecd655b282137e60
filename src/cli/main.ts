#!/usr/bin/env node
/**
 * aremko-mail entry point. The command lines scripts and cron run most (fast-path.ts: `status`,
 * `run`, `--headless`, no command without a terminal, `--help`) start their command at once;
 * every other line goes to the yargs command line in cli.ts, loaded only then.
 *
 * Shipped as dist/bundle/aremko-mail.cjs (scripts/bundle.mjs), with `help.txt` beside it: the
 * top-level help as yargs printed it at build time, 100 columns wide, in English. It is printed
 * when yargs would print exactly that text: a pipe or a terminal at least 100 columns wide, and a
 * locale yargs has no translation for (or English). Anything else is rendered by yargs live.
 */
import { existsSync, readFileSync } from 'node:fs';
import { endedBeforeTheEngine } from './commands/run-start.js';
import { statusHandler } from './commands/status.js';
import { fail } from './context.js';
import { parseFast, SENDING_FAST_COMMANDS, type FastLine } from './fast-path.js';
import { transportFromFile } from '../core/config.js';

const PREBUILT_HELP = new URL('./help.txt', import.meta.url);
const YARGS_LOCALES = new URL('./locales/', import.meta.url);

/** True when yargs, with this environment, would print its help in English (y18n's lookup). */
function yargsSpeaksEnglish(env: NodeJS.ProcessEnv): boolean {
  const locale = (env.LC_ALL || env.LC_MESSAGES || env.LANG || env.LANGUAGE || 'en_US').replace(/[.:].*/, '');
  const has = (name: string) => existsSync(new URL(`${name}.json`, YARGS_LOCALES));
  let file = locale;
  if (!has(file) && locale.includes('_') && has(locale.split('_')[0]!)) file = locale.split('_')[0]!;
  return file === 'en' || !has(file);
}

function printPrebuiltHelp(): boolean {
  const columns = process.stdout.columns;
  if ((columns !== undefined && columns < 100) || !yargsSpeaksEnglish(process.env)) return false;
  let text: string;
  try {
    text = readFileSync(PREBUILT_HELP, 'utf8');
  } catch {
    return false; // not built with the bundle (tsc's dist/): yargs renders it
  }
  process.stdout.write(text);
  return true;
}

/** Runs a line fast-path.ts took; false when it is better left to yargs after all. */
async function runFast(line: FastLine): Promise<boolean> {
  if (line.command === '--help') return printPrebuiltHelp();
  const a = line.args as any;
  if (line.command === '' && process.stdout.isTTY && process.stdin.isTTY && !a.json) return false; // the TUI
  // What cli.ts's middleware does for the commands that send: a URL kept in a file is read now.
  if (SENDING_FAST_COMMANDS.has(line.command)) {
    try {
      const url = transportFromFile(a.transport, a['transport-file']);
      if (url !== undefined) a.transport = url;
    } catch (err) {
      fail(err);
      return true;
    }
  }
  if (line.command === 'run') {
    // Most runs (cron's) end before the engine: nothing sending, nothing due. That is decided
    // here, in the entry; run.cjs (the engine, the transports, the templates: 230 KB to compile)
    // is loaded only when there is work, and then runs the whole command line itself.
    if (await endedBeforeTheEngine(a)) return true;
    const { runHandler } = await import('./commands/run.js');
    await runHandler(a);
  } else await statusHandler(a);
  return true;
}

async function main(argv: string[]): Promise<void> {
  const line = parseFast(argv);
  try {
    if (!line || !(await runFast(line))) await (await import('./cli.js')).main(argv);
  } catch (err) {
    fail(err);
  }
}

void main(process.argv.slice(2));

/**
 * The shipped bundle (scripts/bundle.mjs → dist/bundle/, what package.json's `bin` names): it is
 * executable, debuggable (source maps lead back to src/), prints the help yargs would print, and
 * its start-up paths load only what they need.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import type { CommandModule } from 'yargs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCli, commandsFor } from '../../src/cli/cli.js';
import { CLI, runCli } from '../helpers/cli.js';

const ROOT = resolve(__dirname, '../..');
const BUNDLE = dirname(CLI);
const TRACE = join(ROOT, 'bench/trace-modules.mjs');

let dir: string;
beforeAll(() => {
  if (!existsSync(CLI)) throw new Error(`build first: npm run build (${CLI} is missing)`);
  dir = mkdtempSync(join(tmpdir(), 'aremko-bundle-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The files a command line loads (bench/trace-modules.mjs), relative to the repository. */
function modulesLoaded(args: string[], db = join(dir, 'x.db')): string[] {
  const out = join(dir, `modules-${Math.random().toString(36).slice(2)}.json`);
  const r = spawnSync(process.execPath, [CLI, ...args], {
    env: { ...process.env, NODE_OPTIONS: `--import=${TRACE}`, BENCH_MODULES_OUT: out, AREMKO_MAIL_DB: db },
    encoding: 'utf8',
  });
  expect(r.status, r.stderr).toBe(0);
  return (JSON.parse(readFileSync(out, 'utf8')) as string[])
    .filter((f) => !f.startsWith('node:') && !f.startsWith('data:') && f !== TRACE)
    .map((f) => relative(ROOT, f));
}
/**
 * What else a command line costs at start: the Node built-ins it loads (process.moduleLoadList)
 * and the Intl formatters it makes (each loads ICU data; NumberFormat ~20 ms), through a preload.
 */
function builtinsAndIntl(args: string[], db: string): { builtins: string[]; intl: string[] } {
  const probe = join(dir, 'probe.cjs');
  writeFileSync(
    probe,
    `const made = [];
for (const name of ['NumberFormat', 'DateTimeFormat', 'Collator', 'PluralRules', 'Segmenter', 'ListFormat', 'RelativeTimeFormat', 'DisplayNames']) {
  Intl[name] = new Proxy(Intl[name], { construct(target, a, nt) { made.push(name); return Reflect.construct(target, a, nt); } });
}
process.on('exit', () => require('node:fs').writeFileSync(process.env.PROBE_OUT, JSON.stringify({
  builtins: process.moduleLoadList.filter((m) => m.startsWith('NativeModule ')).map((m) => m.slice(13)),
  intl: made,
})));
`,
  );
  const out = join(dir, `probe-${Math.random().toString(36).slice(2)}.json`);
  const r = spawnSync(process.execPath, [CLI, ...args], { env: { ...process.env, NODE_OPTIONS: `--require=${probe}`, PROBE_OUT: out, AREMKO_MAIL_DB: db }, encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(readFileSync(out, 'utf8'));
}

/** A `run` line that ends before the engine loads nothing of Node that `status --json` does not, and makes no Intl formatter. */
function expectNoMoreThanStatus(args: string[], db: string): void {
  const status = builtinsAndIntl(['status', '--json'], db);
  const run = builtinsAndIntl(args, db);
  expect(run.builtins.filter((m) => !status.builtins.includes(m))).toEqual([]);
  expect(run.intl).toEqual([]);
}

/**
 * What a line that opens a SQLite store loads of ours: the entry and better-sqlite3's JavaScript
 * bundled in one file (scripts/bundle.mjs); of node_modules, only better-sqlite3's native addon.
 */
const WITH_SQLITE = ['dist/bundle/aremko-mail.cjs', 'dist/bundle/better-sqlite3.cjs'];
const ADDON_ONLY = (files: string[]) => expect(files.filter((f) => f.includes('node_modules/'))).toEqual(['node_modules/better-sqlite3/build/Release/better_sqlite3.node']);

const packagesIn = (files: string[]) => [...new Set(files.filter((f) => f.includes('node_modules/')).map((f) => f.split('node_modules/').pop()!.split('/')[0]!))].sort();

describe('the bundle', () => {
  it('is the executable file package.json names as bin, with a #! line', () => {
    accessSync(CLI, constants.X_OK);
    expect(readFileSync(CLI, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
    expect(relative(ROOT, CLI)).toBe('dist/bundle/aremko-mail.cjs');
  });

  it('maps every file it ships back to src/ through its source map', () => {
    const files = readdirSync(BUNDLE).filter((f) => /\.(c|m)?js$/.test(f));
    expect(files).toEqual(expect.arrayContaining(['aremko-mail.cjs', 'run.cjs', 'better-sqlite3.cjs', 'cli.mjs']));
    for (const f of files) {
      expect(readFileSync(join(BUNDLE, f), 'utf8'), f).toContain(`//# sourceMappingURL=${f}.map`);
      expect(existsSync(join(BUNDLE, `${f}.map`)), `${f}.map`).toBe(true);
    }
    // A function of ours in each of the three entry files, and where its source is.
    const probes: [string, string, string][] = [
      ['aremko-mail.cjs', 'function parseFast(', 'src/cli/fast-path.ts'],
      ['run.cjs', 'async function runHandler(', 'src/cli/commands/run.ts'],
      ['cli.mjs', 'async function main(', 'src/cli/cli.ts'],
    ];
    for (const [file, needle, source] of probes) {
      const code = readFileSync(join(BUNDLE, file), 'utf8');
      expect(code).toContain(`//# sourceMappingURL=${file}.map`);
      const at = code.indexOf(needle);
      expect(at, `${needle} in ${file}`).toBeGreaterThan(-1);
      const line = code.slice(0, at).split('\n').length - 1;
      const column = at - code.lastIndexOf('\n', at) - 1;
      const map = new SourceMap(JSON.parse(readFileSync(join(BUNDLE, `${file}.map`), 'utf8')));
      const entry = map.findEntry(line, column) as { originalSource?: string; originalLine?: number };
      expect(resolve(BUNDLE, entry.originalSource ?? ''), file).toBe(join(ROOT, source));
      const original = readFileSync(join(ROOT, source), 'utf8').split('\n')[entry.originalLine!]!;
      expect(original, `${file} → ${source}:${entry.originalLine! + 1}`).toContain(needle.replace(/\($/, ''));
    }
  });

  it('prints the same --help as yargs renders it (in English, 100 columns)', async () => {
    const saved = { LC_ALL: process.env.LC_ALL, LANG: process.env.LANG };
    process.env.LC_ALL = 'en_US.UTF-8';
    let live = '';
    try {
      const cli = buildCli(['--help'], { width: 100 });
      for (const c of await commandsFor(['--help'])) cli.command(c as CommandModule<any, any>);
      await cli.parseAsync(['--help'], {}, (_err, _argv, output) => (live = output));
    } finally {
      for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    expect(live).toContain('aremko-mail status [id]');
    const r = await runCli(['--help'], { env: { LC_ALL: undefined, LC_MESSAGES: undefined, LANG: 'en_US.UTF-8', LANGUAGE: undefined } });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(live + '\n');
    const bare = await runCli(['-h'], { env: { LC_ALL: undefined, LC_MESSAGES: undefined, LANG: undefined, LANGUAGE: undefined } });
    expect(bare.stdout).toBe(live + '\n');
  });

  it('lets yargs render the help in the operator\'s language', async () => {
    const r = await runCli(['--help'], { env: { LC_ALL: undefined, LC_MESSAGES: undefined, LANG: 'es_CL.UTF-8' } });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Comandos:');
    expect(r.stdout).toContain('aremko-mail status [id]');
    const usage = await runCli(['status', '--bogus'], { env: { LC_ALL: undefined, LC_MESSAGES: undefined, LANG: 'es_CL.UTF-8' } });
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('Argumento desconocido: bogus');
  });

  it('prints its own version (the package.json above the bundle)', async () => {
    const r = await runCli(['--version']);
    expect(r.stdout.trim()).toBe(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version);
  });

  it('starts `status --json`, `--help` and an idle `run` without yargs or any sending code', () => {
    const status = modulesLoaded(['status', '--json']);
    expect(status.filter((f) => f.startsWith('dist/'))).toEqual(WITH_SQLITE);
    ADDON_ONLY(status);

    const help = modulesLoaded(['--help']);
    expect(help).toEqual(['dist/bundle/aremko-mail.cjs']);

    // run.cjs (the engine, the transports, the templates) only when there is work: see below.
    const idle = modulesLoaded(['run', '--auto', '--transport', `outbox:${join(dir, 'out')}`]);
    expect(idle.filter((f) => f.startsWith('dist/'))).toEqual(WITH_SQLITE);
    ADDON_ONLY(idle);
    expectNoMoreThanStatus(['run', '--auto', '--transport', `outbox:${join(dir, 'out')}`], join(dir, 'x.db'));
  });

  it('ends the cron line with nothing due before its deadline without loading the engine, saying what it waits for', async () => {
    const env = { AREMKO_MAIL_DB: join(dir, 'cron.db'), AREMKO_MAIL_TRANSPORT: `outbox:${join(dir, 'cron-out')}` };
    writeFileSync(join(dir, 'm.html'), '<p>Hola {{nombre}}</p>');
    writeFileSync(join(dir, 'r.csv'), 'email,nombre\na@example.com,A\nb@example.com,B\nc@example.com,C\n');
    const steps = [
      ['campaign', 'create', '--name', 'c', '--from', 'A <a@aremko.cl>', '--subject', 'Hola', '--html', join(dir, 'm.html'), '--batch-size', '1', '--interval', '1h'],
      ['import', '1', join(dir, 'r.csv')],
      ['start', '1'],
      ['--headless', '--auto', '--max-runtime', '4m'], // sends the first batch; the next is due in an hour
    ];
    for (const args of steps) expect((await runCli(args, { env })).code, args.join(' ')).toBe(0);

    const cron = await runCli(['--headless', '--auto', '--max-runtime', '4m'], { env });
    expect(cron.code).toBe(0);
    expect(cron.stdout).toMatch(/#1 waiting .*\(interval\)/);
    expect(cron.stdout).toMatch(/campaign 1: nothing more due before --max-runtime; the next run carries on — this run: 0 sent/);
    const loaded = modulesLoaded(['--headless', '--auto', '--max-runtime', '4m', '--transport', env.AREMKO_MAIL_TRANSPORT], env.AREMKO_MAIL_DB);
    expect(loaded.filter((f) => f.startsWith('dist/'))).toEqual(WITH_SQLITE);
    ADDON_ONLY(loaded);
    expectNoMoreThanStatus(['--headless', '--auto', '--max-runtime', '4m', '--transport', env.AREMKO_MAIL_TRANSPORT], env.AREMKO_MAIL_DB);
    // --ignore-schedule makes the next batch due now: the entry hands the line to run.cjs, whose engine
    // sends it (the second recipient; the next run, the third).
    const working = modulesLoaded(['--headless', '--auto', '--max-runtime', '4m', '--ignore-schedule', '--transport', env.AREMKO_MAIL_TRANSPORT], env.AREMKO_MAIL_DB);
    // One better-sqlite3 for the entry's look and run.cjs's work: the addon keeps the first copy's SqliteError.
    expect(working.filter((f) => f.startsWith('dist/'))).toEqual([...WITH_SQLITE, 'dist/bundle/run.cjs']);
    expect(packagesIn(working)).toContain('nodemailer');
    const longer = await runCli(['--headless', '--auto', '--max-runtime', '4m', '--ignore-schedule'], { env });
    expect(longer.stdout).toMatch(/campaign 1: completed/);
  });

  it('loads yargs for any other command line, and the TUI code only for the TUI', () => {
    const logs = modulesLoaded(['campaign', 'list']);
    expect(logs).toContain('dist/bundle/cli.mjs');
    expect(packagesIn(logs)).not.toContain('ink');
    expect(packagesIn(logs)).not.toContain('react');
    expect(packagesIn(logs)).not.toContain('nodemailer');
  });
});

// Start-up (issue 10, goal 3): the command lines scripts and cron run, as whole processes, against
// `node -e 0` measured in the same rounds, alternated; what `status --json` loads; its profile.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageOf, summarise } from '../profile-summary.mjs';
import { Database, fmt, mb, median } from '../harness.mjs';
import { BENCH, measure } from '../lib.mjs';

export const title = 'Start-up';
const TARGET = 1.5;

export async function run(h) {
  const P = h.P;
  const statusDb = h.path('startup.db');
  h.buildDb(statusDb, 1000);
  // No campaign sending: `run --auto` has nothing to do.
  const idleDb = h.path('startup-idle.db');
  h.buildDb(idleDb, 10, '--status', 'paused');
  // The cron line between two batches: a campaign sending, its next batch due in a day.
  const notDueDb = h.path('startup-notdue.db');
  h.buildDb(notDueDb, 100);
  const d = new Database(notDueDb);
  d.prepare('UPDATE campaigns SET next_batch_at = ?, interval_s = 86400, batch_size = 50').run(Date.now() + 86_400_000);
  d.close();
  const outbox = `outbox:${h.path('startup-outbox')}`;
  const lines = [
    { key: 'node', label: '`node -e 0`', argv: ['-e', '0'], node: true },
    { key: 'statusJson', label: '`status --json`', argv: ['--db', statusDb, 'status', '--json'] },
    { key: 'status', label: '`status`', argv: ['--db', statusDb, 'status'] },
    { key: 'help', label: '`--help`', argv: ['--help'] },
    { key: 'runIdle', label: '`run --auto`, no campaign sending', argv: ['--db', idleDb, 'run', '--auto', '--transport', outbox] },
    { key: 'cronNotDue', label: 'the cron line (`--headless --auto --max-runtime 4m`), next batch not due', argv: ['--db', notDueDb, '--headless', '--auto', '--max-runtime', '4m', '--transport', outbox] },
  ];
  h.log(`startup: ${lines.length - 1} command lines and node -e 0, ${P.startupRuns} alternated rounds`);
  const load = h.noteLoad('startup');
  const times = Object.fromEntries(lines.map((l) => [l.key, []]));
  for (let round = 0; round < P.startupRuns; round++) {
    // Rotate the order each round: no line always runs right after the same one.
    for (let k = 0; k < lines.length; k++) {
      const l = lines[(k + round) % lines.length];
      const r = h.check(l.node ? await measureNode(h, l.argv) : await h.run(l.argv, { timeV: false }), l.label);
      times[l.key].push(r.wallMs);
    }
  }
  const nodeMs = median(times.node);
  const results = lines.filter((l) => !l.node).map((l) => ({ key: l.key, label: l.label, ms: median(times[l.key]), ratio: median(times[l.key]) / nodeMs }));
  const rss = h.check(await h.run(['--db', statusDb, 'status', '--json']), 'status').maxRssKb;

  // What `status --json` and `--help` load: every module file, through public hooks.
  const traced = async (argv) => {
    const out = h.path(`modules-${Math.random().toString(36).slice(2)}.json`);
    h.check(await h.run(argv, { timeV: false, env: { NODE_OPTIONS: `--import=${BENCH('trace-modules.mjs')}`, BENCH_MODULES_OUT: out } }), 'traced');
    return JSON.parse(readFileSync(out, 'utf8')).filter((f) => !f.startsWith('node:') && !f.includes('/bench/') && !f.startsWith('data:'));
  };
  const files = await traced(['--db', statusDb, 'status', '--json']);
  const byPkg = new Map();
  for (const f of files) {
    const k = f.includes('/node_modules/') ? packageOf('file://' + f) : `aremko-mail ${f.replace(/^.*\/app\//, '')}`;
    byPkg.set(k, (byPkg.get(k) ?? 0) + 1);
  }
  const heavy = ['yargs', 'ink', 'react', 'react-reconciler', 'yoga-layout', 'nodemailer', 'handlebars', 'html-to-text', 'luxon', 'csv-parse', 'csv-stringify', 'iconv-lite', 'postgres'];
  const idleFiles = await traced(['--db', idleDb, 'run', '--auto', '--transport', outbox]);
  const notDueFiles = await traced(['--db', notDueDb, '--headless', '--auto', '--max-runtime', '4m', '--transport', outbox]);
  const pkgs = (list) => [...new Set(list.filter((f) => f.includes('/node_modules/')).map((f) => packageOf('file://' + f)))];

  // Where the time of one `status --json` goes, and of the cron line with nothing due.
  const statusProfile = await profileRun(h, ['--db', statusDb, 'status', '--json'], 'status');
  const cronProfile = await profileRun(h, ['--db', notDueDb, '--headless', '--auto', '--max-runtime', '4m', '--transport', outbox], 'cron');

  const sec = {
    runs: P.startupRuns,
    load,
    nodeMs,
    results,
    rssKb: rss,
    files: files.length,
    packages: [...byPkg].sort((a, b) => b[1] - a[1]),
    heavyLoaded: heavy.filter((p) => pkgs(files).includes(p)),
    idlePackages: pkgs(idleFiles),
    notDuePackages: pkgs(notDueFiles),
    statusProfile,
    cronProfile,
  };
  h.R.sections.startup = sec;
  h.log(`  node -e 0 ${fmt(nodeMs)} ms; ${results.map((r) => `${r.key} ${fmt(r.ms)} ms (${fmt(r.ratio, 2)}×)`).join(', ')}`);
}

/** `node -e 0` measured the same way as the CLI lines (stdout a pipe, wall time from here). */
async function measureNode(h, argv) {
  return measure(h.NODE, argv, { timeV: false });
}

/** A CPU profile (100 µs sampling) of one whole command; the main thread's profile, summarised. */
async function profileRun(h, argv, name) {
  const dir = h.path(`prof-startup-${name}`);
  h.check(await measure(h.NODE, ['--cpu-prof', '--cpu-prof-interval', '100', `--cpu-prof-dir=${dir}`, h.CLI, ...argv], { timeV: false }), `${name} profiled`);
  // One file per thread (CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile): the main thread's is 0.
  const files = readdirSync(dir).sort();
  return summarise(join(dir, files.find((f) => /\.\d+\.0\.\d+\.cpuprofile$/.test(f)) ?? files[0]), 12);
}

export function summary(sec) {
  return sec.results.map((r) => ({
    goal: 'I10.3',
    what: `start-up: ${r.label} ÷ \`node -e 0\` (whole process, medians of ${sec.runs})`,
    target: `≤ ${TARGET}`,
    measured: `${fmt(r.ratio, 2)} (${fmt(r.ms)} ms; node ${fmt(sec.nodeMs)} ms)`,
    met: r.ratio <= TARGET,
    load: sec.load,
  }));
}

export function body(sec) {
  const L = [];
  L.push(`Whole processes, stdout a pipe, wall time from the parent; ${sec.runs} rounds, each running every line once in a rotated order; medians. Machine load at the start: ${sec.load}.`, '');
  L.push('| command line | ms | ÷ `node -e 0` |', '|---|---:|---:|');
  L.push(`| \`node -e 0\` | ${fmt(sec.nodeMs)} | 1.00 |`);
  for (const r of sec.results) L.push(`| ${r.label} | ${fmt(r.ms)} | ${fmt(r.ratio, 2)} |`);
  L.push('');
  L.push(`\`status --json\` peak RSS ${fmt(mb(sec.rssKb))} MB. It loads ${sec.files} files: ${sec.packages.map(([k, v]) => `${k} ${v}`).join(', ')}. Heavy packages loaded: ${sec.heavyLoaded.length ? sec.heavyLoaded.join(', ') : 'none'}.`);
  L.push(`Packages loaded by \`run --auto\` with no campaign sending: ${sec.idlePackages.join(', ') || 'none'}; by the cron line with nothing due: ${sec.notDuePackages.join(', ')}.`, '');
  L.push('How: dist/bundle/aremko-mail.cjs (scripts/bundle.mjs) is one CommonJS file for these lines: src/cli/fast-path.ts reads them without yargs, `status` and both stores are in it (better-sqlite3\'s JavaScript bundled beside it, in better-sqlite3.cjs), and the start of `run` (src/cli/commands/run-start.ts: nothing sending, nothing due), run.cjs (the engine) being required only when there is work; `--help` prints the text yargs rendered at build time (help.txt) when yargs would print exactly that. Every other command line loads yargs and its command from ES chunks.', '');
  L.push('CPU profile of one `status --json` (100 µs sampling), self time by package:', '', '| self ms | % | package |', '|---:|---:|---|');
  for (const r of sec.statusProfile.packages) L.push(`| ${fmt(r.ms, 1)} | ${fmt(r.pct, 1)} | ${r.name} |`);
  L.push('', 'The cron line with nothing due (main thread), self time by package:', '', '| self ms | % | package |', '|---:|---:|---|');
  for (const r of sec.cronProfile.packages) L.push(`| ${fmt(r.ms, 1)} | ${fmt(r.pct, 1)} | ${r.name} |`);
  L.push('');
  return L;
}

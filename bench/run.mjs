#!/usr/bin/env node
/**
 * aremko-mail benchmarks (issues 5, 9, 10, 11). Runs the built code (a snapshot of dist/, the CLI
 * package.json's `bin` names) as whole processes and writes bench/RESULTS.md: for every goal its
 * target, the measured value, met or not, and the machine's load at that measurement.
 *
 *   npm run bench                  full run (16–22 min on a 2-core machine, by its load); rewrites bench/RESULTS.md
 *   npm run bench -- --quick       smaller sizes, a few minutes; prints the report
 *   node bench/run.mjs --only startup,throughput [--quick] [--out file.md]
 *       sections (in run order): startup throughput pg-throughput scaleout pg-scale resend dbsize
 *                                import scale memory tui profile
 *       (a partial or quick run prints its report on stdout unless --out is given)
 *   --keep                         keep the work folder (databases, logs, profiles)
 *   BENCH_DIR=<dir>                put the work folder there (default: the OS temp folder); the
 *                                  databases live there, so its disk is the one measured
 *
 * The PostgreSQL sections start a durable server of their own (test/helpers/postgres-server.ts:
 * Debian's postgresql package) and fail when there is none.
 *
 * Whole processes are measured with public tools: wall time with process.hrtime in this (parent)
 * process, peak RSS and CPU with /usr/bin/time -v, CPU of a running child from /proc/<pid>/stat,
 * RSS over time from /proc/<pid>/status. Ratios come from runs alternated in one process tree;
 * every figure is a median unless said otherwise.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHarness, describeMachine, fmt, verdict } from './harness.mjs';
import { startSink } from './lib.mjs';
import * as dbsize from './sections/dbsize.mjs';
import * as importSection from './sections/import.mjs';
import * as memory from './sections/memory.mjs';
import * as pgScale from './sections/pg-scale.mjs';
import * as pgThroughput from './sections/pg-throughput.mjs';
import * as profile from './sections/profile.mjs';
import * as resend from './sections/resend.mjs';
import * as scale from './sections/scale.mjs';
import * as scaleout from './sections/scaleout.mjs';
import * as startup from './sections/startup.mjs';
import * as throughput from './sections/throughput.mjs';
import * as tui from './sections/tui.mjs';

/** Run order (scale reads the database import made). */
const SECTIONS = {
  startup,
  throughput,
  'pg-throughput': pgThroughput,
  scaleout,
  'pg-scale': pgScale,
  resend,
  dbsize,
  import: importSection,
  scale,
  memory,
  tui,
  profile,
};

const argv = process.argv.slice(2);
const flag = (name) => argv.includes(name);
const value = (name) => {
  const i = argv.indexOf(name);
  return i === -1 ? undefined : argv[i + 1];
};
const QUICK = flag('--quick');
const only = value('--only')?.split(',');
if (only && only.some((s) => !Object.hasOwn(SECTIONS, s))) {
  process.stderr.write(`unknown section in --only; known: ${Object.keys(SECTIONS).join(' ')}\n`);
  process.exit(2);
}
const REPO = join(import.meta.dirname, '..');
// Only a full run of every section rewrites bench/RESULTS.md; --quick and --only print the report.
const OUT = value('--out') ?? (only || QUICK ? null : join(REPO, 'bench/RESULTS.md'));
if (!existsSync('/usr/bin/time')) {
  process.stderr.write('bench: /usr/bin/time is needed for peak RSS and CPU of whole processes (Debian/Ubuntu: apt-get install time)\n');
  process.exit(2);
}
if (!existsSync(join(REPO, JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')).bin['aremko-mail']))) {
  process.stderr.write('bench: build first (npm run build)\n');
  process.exit(2);
}

const h = createHarness({ quick: QUICK });
const selected = Object.keys(SECTIONS).filter((s) => !only || only.includes(s));

const GOALS = [
  '**I10.1** throughput ≥ 0.95 × plain nodemailer at pool 1, 5, 10, quiet and with the other core busy · **I10.2** CPU per message ≤ 1.15 × plain · **I10.3** start-up ≤ 1.5 × `node -e 0` · **I10.4** database size and the log at 1,000,000 sends (issue 10)',
  '**I9** PostgreSQL: engine ÷ plain ≥ 0.90 (durable server), 4 runners ≥ 3.5 × one, claims, import and status at 1,000,000 (issue 9) · **I11** Resend transport ÷ a plain script ≥ 0.90 (issue 11) · **I5** the earlier goals: import, scale, memory, TUI (issue 5)',
];

function report(m, failures) {
  const L = [];
  const date = new Date(h.started).toISOString().replace('T', ' ').slice(0, 16) + ' UTC';
  L.push('# aremko-mail benchmarks', '');
  L.push(`Run: ${date}, \`${QUICK ? 'npm run bench -- --quick' : 'npm run bench'}\`${only ? ` (sections: ${only.join(', ')})` : ''}, ${fmt((Date.now() - h.started) / 1000)} s in all. Code: ${m.commit}${m.dirty ? ' (with uncommitted changes in src/)' : ''}.`, '');
  L.push('## Machine', '');
  L.push(`- CPU: ${m.cpu}, ${m.cores} cores; memory ${fmt(m.memGiB, 1)} GiB; ${m.kernel}`);
  L.push(`- Disk of the databases: ${m.disk}`);
  L.push(`- One 4 KiB write + fsync on that disk: ${fmt(m.fsyncMs, 2)} ms (median of 200) — the floor under every synced commit`);
  L.push(`- Node ${m.node}, SQLite ${m.sqlite} (better-sqlite3 ${m.betterSqlite3}), postgres.js ${m.postgresJs}, nodemailer ${m.nodemailer}`);
  L.push(`- Load at the start: \`${m.uptime}\`; at the end: \`${h.R.uptimeEnd}\``);
  L.push(`- Load (1/5/15 min) at each measurement: ${h.R.loads.map((l) => `${l.what} ${l.load}`).join('; ')}`);
  L.push('');
  L.push('This machine is shared: other agents run builds and test suites on it at the same time, so absolute figures move from run to run (see the load). Ratios come from runs alternated in one process tree, which share whatever the disturbance is.', '');
  L.push('## Summary', '', ...GOALS.map((g) => `${g}  `), '');
  L.push('| goal | what | target | measured | | load (1 min) |', '|---|---|---|---|---|---|');
  for (const name of selected) {
    const sec = h.R.sections[name];
    if (!sec) continue;
    for (const r of SECTIONS[name].summary(sec)) L.push(`| ${r.goal} | ${r.what} | ${r.target} | ${r.measured} | ${verdict(r.met)} | ${r.load ?? ''} |`);
  }
  for (const f of failures) L.push(`| — | section ${f.name} | — | failed: ${f.error.split('\n')[0].replace(/\|/g, '\\|')} | **NOT measured** | |`);
  L.push('');
  let n = 0;
  for (const name of selected) {
    const sec = h.R.sections[name];
    if (!sec) continue;
    L.push(`## ${++n}. ${SECTIONS[name].title}`, '', ...SECTIONS[name].body(sec, h));
  }
  return L.join('\n');
}

/** Keeps the hand-written notes of an earlier RESULTS.md (between the markers) when rewriting it. */
function withNotes(text, previous) {
  const re = /<!-- notes -->[\s\S]*<!-- \/notes -->/;
  const notes = previous && re.exec(previous)?.[0];
  return `${text}\n${notes ?? '<!-- notes -->\n## Notes\n\n(analysis goes here; kept when the benchmark rewrites this file)\n<!-- /notes -->'}\n`;
}

let sink;
let failed = false;
const failures = [];
try {
  h.log(`work folder ${h.WORK}${QUICK ? ' (quick)' : ''}; sections: ${selected.join(' ')}`);
  const m = describeMachine(h);
  h.log(`${m.cpu}, ${m.cores} cores, ${m.disk.split(';')[0]}, fsync ${fmt(m.fsyncMs, 2)} ms; load ${h.noteLoad('start')}`);
  sink = await startSink();
  for (const name of selected) {
    const t0 = Date.now();
    try {
      await SECTIONS[name].run(h, { sink });
    } catch (err) {
      // One section failing (no PostgreSQL here, a crash) must not lose the others' figures.
      failed = true;
      failures.push({ name, error: String(err.stack ?? err) });
      h.log(`section ${name} FAILED: ${err.stack ?? err}`);
    }
    h.log(`${name}: ${fmt((Date.now() - t0) / 1000)} s`);
  }
  h.R.uptimeEnd = execFileSync('uptime', { encoding: 'utf8' }).trim();
  const text = report(m, failures);
  if (OUT) {
    writeFileSync(OUT, withNotes(text, existsSync(OUT) ? readFileSync(OUT, 'utf8') : null));
    h.log(`wrote ${OUT}`);
  } else process.stdout.write(text + '\n');
  h.log(`done in ${fmt((Date.now() - h.started) / 1000)} s`);
} catch (err) {
  failed = true;
  process.stderr.write(`bench failed: ${err.stack ?? err}\nwork folder kept: ${h.WORK}\n`);
} finally {
  const received = await sink?.stop();
  if (received !== undefined) h.log(`sink received ${received} messages`);
  await h.stopPg();
  if (!failed && !flag('--keep')) rmSync(h.WORK, { recursive: true, force: true });
  else h.log(`work folder kept: ${h.WORK}`);
  if (failed) process.exitCode = 1;
}

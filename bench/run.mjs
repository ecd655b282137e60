#!/usr/bin/env node
/**
 * aremko-mail benchmarks (issue 5). Runs the built dist/ and the real CLI as child processes and
 * writes bench/RESULTS.md with the figures, the date, the machine and the load.
 *
 *   npm run bench                  full run (< 10 min on a 2-core machine, see RESULTS.md)
 *   npm run bench -- --quick       much smaller sizes, a minute or two; prints the report
 *   node bench/run.mjs --only throughput,startup [--quick] [--out file.md]
 *       sections: throughput import scale memory startup tui profile
 *       (a partial run prints its report on stdout unless --out is given)
 *   --keep                         keep the work folder (databases, logs, profiles)
 *   BENCH_DIR=<dir>                put the work folder there (default: the OS temp folder); the
 *                                  databases live there, so its disk is the one measured
 *
 * The built dist/ is copied into the work folder first (node_modules linked), so a rebuild by
 * someone else while the benchmark runs cannot change the code being measured.
 *
 * Whole processes are measured with public tools: wall time with process.hrtime in this
 * (parent) process, peak RSS and CPU with /usr/bin/time -v, CPU of a running child from
 * /proc/<pid>/stat, RSS over time from /proc/<pid>/status. Ratios come from runs alternated
 * A B A B in one process tree; every figure is a median unless said otherwise.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import {
  closeSync,
  copyFileSync,
  cpSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { markdown as profileMarkdown, packageOf, summarise } from './profile-summary.mjs';
import { BENCH, childPidOf, cpuMsOf, fmt, loadAvg, measure, median, rssOf, sleep, startSink } from './lib.mjs';

const REPO = join(import.meta.dirname, '..');
const require = createRequire(join(REPO, 'package.json'));
const Database = require('better-sqlite3');

// ---- options ---------------------------------------------------------------------------------
const argv = process.argv.slice(2);
const flag = (name) => argv.includes(name);
const value = (name) => {
  const i = argv.indexOf(name);
  return i === -1 ? undefined : argv[i + 1];
};
const QUICK = flag('--quick');
const SECTIONS = ['throughput', 'import', 'scale', 'memory', 'startup', 'tui', 'profile'];
const only = value('--only')?.split(',');
if (only && only.some((s) => !SECTIONS.includes(s))) {
  process.stderr.write(`unknown section in --only; known: ${SECTIONS.join(' ')}\n`);
  process.exit(2);
}
const selected = (s) => !only || only.includes(s);
// Only a full run of every section rewrites bench/RESULTS.md; --quick and --only print the report.
const OUT = value('--out') ?? (only || QUICK ? null : join(REPO, 'bench/RESULTS.md'));

const P = QUICK
  ? { n: 1000, pairs: 2, importRows: 100_000, importRuns: 1, sizes: [10_000, 100_000], claimSteps: 300, claimRounds: 2, statusRuns: 5, memoryN: 10_000, startupRuns: 7, tuiSeconds: 10, profileN: 1000, profileRows: 50_000 }
  : { n: 5000, pairs: 3, importRows: 1_000_000, importRuns: 3, sizes: [10_000, 100_000, 1_000_000], claimSteps: 1000, claimRounds: 3, statusRuns: 10, memoryN: 200_000, startupRuns: 12, tuiSeconds: 30, profileN: 2000, profileRows: 200_000 };
const POOL = 5;
const TUI_RATE = 200;
/** The memory run: a short message with its own text part, pool 20 — see memory() for why. */
const MEMORY_POOL = 20;

if (!existsSync('/usr/bin/time')) {
  process.stderr.write('bench: /usr/bin/time is needed for peak RSS and CPU of whole processes (Debian/Ubuntu: apt-get install time)\n');
  process.exit(2);
}

// ---- work folder and code snapshot -----------------------------------------------------------
const WORK = mkdtempSync(join(process.env.BENCH_DIR ?? os.tmpdir(), 'aremko-bench-'));
process.env.BENCH_TMP = WORK;
const APP = join(WORK, 'app');
mkdirSync(APP);
cpSync(join(REPO, 'dist'), join(APP, 'dist'), { recursive: true });
copyFileSync(join(REPO, 'package.json'), join(APP, 'package.json'));
symlinkSync(join(REPO, 'node_modules'), join(APP, 'node_modules'));
process.env.BENCH_ROOT = APP; // bench scripts import dist/ from here
const CLI = join(APP, 'dist/cli/main.js');
const NODE = process.execPath;
// The CLI reads these; the benchmark always passes --db and --transport itself.
delete process.env.AREMKO_MAIL_DB;
delete process.env.AREMKO_MAIL_TRANSPORT;

const started = Date.now();
const log = (m) => process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${m}\n`);
const R = { sections: {}, loads: [] };
const noteLoad = (what) => R.loads.push({ what, load: loadAvg() });

const db = (name) => join(WORK, name);
const cli = (...a) => [CLI, ...a];
function buildDb(path, n, ...extra) {
  const out = execFileSync(NODE, [BENCH('build-db.mjs'), path, String(n), ...extra], { encoding: 'utf8', env: process.env });
  return JSON.parse(out);
}
function counts(path) {
  const d = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const c = {};
    for (const r of d.prepare(`SELECT status, n FROM campaign_counts WHERE campaign_id = 1`).all()) c[r.status] = r.n;
    return c;
  } finally {
    d.close();
  }
}
function check(r, what) {
  if (r.code !== 0) throw new Error(`${what}: exit ${r.code}\n${r.stderr.slice(-2000)}`);
  return r;
}
const mb = (kb) => kb / 1024;
const pctOf = (part, whole) => (100 * part) / whole;

// ---- machine ---------------------------------------------------------------------------------
function machine() {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const model = /model name\s*:\s*(.+)/.exec(cpuinfo)?.[1]?.trim() ?? os.cpus()[0]?.model;
  const df = execFileSync('df', ['-PT', WORK], { encoding: 'utf8' }).trim().split('\n')[1].split(/\s+/);
  const dev = df[0].replace('/dev/', '');
  let rotational = '?';
  try {
    rotational = `queue/rotational=${readFileSync(`/sys/block/${dev.replace(/\d+$/, '')}/queue/rotational`, 'utf8').trim()}`;
  } catch {}
  const mem = new Database(':memory:');
  const sqlite = mem.prepare('SELECT sqlite_version() AS v').get().v;
  mem.close();
  // What one synced commit costs at least on this disk: write 4 KiB + fdatasync, 200 times.
  const f = join(WORK, 'fsync-probe');
  const fd = openSync(f, 'w');
  const buf = Buffer.alloc(4096, 1);
  const times = [];
  for (let i = 0; i < 200; i++) {
    const t = process.hrtime.bigint();
    writeSync(fd, buf, 0, buf.length, i * 4096);
    fsyncSync(fd);
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  closeSync(fd);
  rmSync(f);
  return {
    cpu: model,
    cores: os.cpus().length,
    memGiB: os.totalmem() / 2 ** 30,
    kernel: `${os.type()} ${os.release()}`,
    disk: `${df[0]} (${rotational}), ${df[1]}, mounted on ${df[6]}; work folder ${WORK}`,
    fsyncMs: median(times),
    node: process.version,
    sqlite,
    betterSqlite3: require('better-sqlite3/package.json').version,
    nodemailer: require('nodemailer/package.json').version,
    commit: spawnSync('git', ['-C', REPO, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).stdout.trim(),
    dirty: spawnSync('git', ['-C', REPO, 'status', '--porcelain', 'src'], { encoding: 'utf8' }).stdout.trim() !== '',
    uptime: execFileSync('uptime', { encoding: 'utf8' }).trim(),
  };
}

// ---- 1. throughput ---------------------------------------------------------------------------
async function engineRun(sink, template, path, { env, timeV = true, nodeArgs = [] } = {}) {
  copyFileSync(template, path);
  const logFd = openSync(path + '.log', 'w');
  try {
    const r = await measure(NODE, [...nodeArgs, ...cli('--db', path, 'run', '--campaign', '1', '--transport', `smtp://127.0.0.1:${sink.port}?pool=${POOL}`)], {
      stdout: logFd,
      env,
      timeV,
    });
    check(r, 'engine run');
    return r;
  } finally {
    closeSync(logFd);
  }
}
async function plainRun(sink, baseline, nodelay = true, nodeArgs = []) {
  const r = await measure(NODE, [...nodeArgs, BENCH('plain-nodemailer.mjs'), baseline, String(sink.port), '--pool', String(POOL), '--nodelay', nodelay ? '1' : '0']);
  check(r, 'plain nodemailer');
  r.result = JSON.parse(r.stdout);
  return r;
}

async function throughput(sink) {
  const N = P.n;
  const template = db('throughput-template.db');
  const baseline = db('throughput-baseline.json');
  buildDb(template, N, '--baseline-json', baseline);
  // a smaller copy for the warm-up and the instrumented runs
  const small = Math.min(N, 2000);
  const smallTemplate = db('throughput-small.db');
  const smallJson = db('throughput-baseline-small.json');
  buildDb(smallTemplate, small, '--baseline-json', smallJson);
  log(`throughput: ${N} recipients, pool ${POOL}, ${P.pairs} alternated pairs (engine, plain nodemailer)`);
  // one warm-up of each (file cache, the sink's JIT), not counted
  await engineRun(sink, smallTemplate, db('tp-warm.db'));
  await plainRun(sink, smallJson);
  const pairs = [];
  for (let i = 0; i < P.pairs; i++) {
    noteLoad(`throughput pair ${i + 1}`);
    const e = await engineRun(sink, template, db(`tp-${i}.db`));
    const c = counts(db(`tp-${i}.db`));
    if (c.sent !== N) throw new Error(`engine run ${i}: ${JSON.stringify(c)}`);
    const p = await plainRun(sink, baseline);
    if (p.result.sent !== N) throw new Error(`plain run ${i}: ${JSON.stringify(p.result)}`);
    pairs.push({ engine: e, plain: p, ratio: p.wallMs / e.wallMs, load: loadAvg() });
    log(`  pair ${i + 1}: engine ${fmt(e.wallMs)} ms (${fmt((N / e.wallMs) * 1000)} msg/s), plain ${fmt(p.wallMs)} ms (${fmt((N / p.wallMs) * 1000)} msg/s), ratio ${fmt(p.wallMs / e.wallMs, 2)}, load ${loadAvg()}`);
  }
  // Commits per message, in a separate instrumented run (the preload costs a little time).
  const commitsFile = db('commits.json');
  const instrumented = await engineRun(sink, smallTemplate, db('tp-commits.db'), {
    env: { NODE_OPTIONS: `--import=${BENCH('count-commits.mjs')}`, BENCH_COMMITS_OUT: commitsFile },
    timeV: false,
  });
  // one file per thread (the engine may commit on a worker thread): thread 0 is the main thread
  const perThread = readdirSync(WORK)
    .filter((f) => f.startsWith('commits.json.'))
    .map((f) => JSON.parse(readFileSync(join(WORK, f), 'utf8')));
  const sum = (k, list = perThread) => list.reduce((a, t) => a + t[k], 0);
  const main = perThread.filter((t) => t.threadId === 0);
  const workers = perThread.filter((t) => t.threadId !== 0);
  const commits = {
    n: small,
    wallMs: instrumented.wallMs,
    writeTransactions: sum('writeTransactions'),
    autocommitWrites: sum('autocommitWrites'),
    readTransactions: sum('readTransactions'),
    writeTransactionMs: sum('writeTransactionMs'),
    commitMs: sum('commitMs'),
    mainThreadMs: sum('writeTransactionMs', main) + sum('autocommitMs', main),
    workerThreads: workers.length,
    workerMs: sum('writeTransactionMs', workers) + sum('autocommitMs', workers),
  };
  // The same run under strace, counting the disk flushes themselves (if strace is installed).
  let syncs = null;
  if (spawnSync('strace', ['-V']).status === 0) {
    const st = db('strace.txt');
    copyFileSync(smallTemplate, db('tp-strace.db'));
    const logFd = openSync(db('tp-strace.log'), 'w');
    spawnSync('strace', ['-f', '-c', '-e', 'trace=fsync,fdatasync', '-o', st, NODE, ...cli('--db', db('tp-strace.db'), 'run', '--campaign', '1', '--transport', `smtp://127.0.0.1:${sink.port}?pool=${POOL}`)], { stdio: ['ignore', logFd, 'pipe'] });
    closeSync(logFd);
    const txt = readFileSync(st, 'utf8');
    // columns: % time, seconds, usecs/call, calls, [errors], syscall
    syncs = txt
      .split('\n')
      .map((l) => l.trim().split(/\s+/))
      .filter((f) => ['fsync', 'fdatasync'].includes(f[f.length - 1]))
      .reduce((a, f) => a + Number(f[3]), 0);
  }
  // For information: nodemailer's pool as shipped (no TCP_NODELAY), on fewer messages (it is slow).
  const tiny = Math.min(N, 500);
  const tinyJson = db('throughput-baseline-tiny.json');
  const full = JSON.parse(readFileSync(smallJson, 'utf8'));
  writeFileSync(tinyJson, JSON.stringify({ ...full, recipients: full.recipients.slice(0, tiny) }));
  const nagle = await plainRun(sink, tinyJson, false);
  const nodelaySmall = await plainRun(sink, tinyJson, true);
  R.sections.throughput = {
    N,
    pairs,
    engineMedianMs: median(pairs.map((p) => p.engine.wallMs)),
    plainMedianMs: median(pairs.map((p) => p.plain.wallMs)),
    ratio: median(pairs.map((p) => p.ratio)),
    commits,
    syncs,
    nagle: { n: tiny, ms: nagle.wallMs, nodelayMs: nodelaySmall.wallMs },
  };
}

// ---- 2. import -------------------------------------------------------------------------------
async function importBench() {
  const rows = P.importRows;
  const csv = db(`import-${rows}.csv`);
  let t = performance.now();
  execFileSync(NODE, [BENCH('gen-csv.mjs'), String(rows), csv]);
  const genMs = performance.now() - t;
  const empty = db('import-empty.db');
  buildDb(empty, 0, '--status', 'draft');
  log(`import: ${rows} rows (${fmt(readFileSync(csv).length / 2 ** 20, 1)} MiB CSV, made in ${fmt(genMs)} ms), ${P.importRuns} run(s)`);
  const runs = [];
  for (let i = 0; i < P.importRuns; i++) {
    const path = db(`import-${i}.db`);
    copyFileSync(empty, path);
    noteLoad(`import run ${i + 1}`);
    const r = check(await measure(NODE, cli('--db', path, 'import', '1', csv, '--json')), 'import');
    const out = JSON.parse(r.stdout);
    if (out.imported !== rows) throw new Error(`import imported ${out.imported} of ${rows}`);
    runs.push(r);
    log(`  run ${i + 1}: ${fmt(r.wallMs / 1000, 1)} s, peak RSS ${fmt(mb(r.maxRssKb))} MB, CPU ${fmt(r.userS + r.sysS, 1)} s, load ${loadAvg()}`);
    if (i < P.importRuns - 1) rmSync(path);
    else R.importedDb = path;
  }
  R.sections.import = {
    rows,
    csvMiB: readFileSync(csv).length / 2 ** 20,
    runs,
    wallMs: median(runs.map((r) => r.wallMs)),
    rssKb: median(runs.map((r) => r.maxRssKb)),
    maxRssKb: Math.max(...runs.map((r) => r.maxRssKb)),
  };
}

// ---- 3. scale --------------------------------------------------------------------------------
async function scale() {
  const big = P.sizes[P.sizes.length - 1];
  let bigDb = R.importedDb;
  const sec = { big, fromImport: Boolean(bigDb) };
  if (bigDb) {
    // The imported campaign is a draft: `start` it the way an operator would (it checks every
    // template field against every recipient).
    const r = check(await measure(NODE, cli('--db', bigDb, 'start', '1'), { timeV: false }), 'start');
    sec.startMs = r.wallMs;
  } else {
    bigDb = db(`scale-${big}.db`);
    sec.buildMs = buildDb(bigDb, big).ms;
  }
  log(`scale: status on ${big} recipients; claims at ${P.sizes.join(', ')}`);
  // status --json, whole command
  const status = { all: [], one: [] };
  for (let i = 0; i < P.statusRuns; i++) {
    status.all.push(check(await measure(NODE, cli('--db', bigDb, 'status', '--json'), { timeV: false }), 'status').wallMs);
    status.one.push(check(await measure(NODE, cli('--db', bigDb, 'status', '1', '--json'), { timeV: false }), 'status 1').wallMs);
  }
  const rss = check(await measure(NODE, cli('--db', bigDb, 'status', '--json')), 'status').maxRssKb;
  sec.status = { allMs: median(status.all), oneMs: median(status.one), rssKb: rss, runs: P.statusRuns };
  // the query inside, in-process
  sec.query = JSON.parse(execFileSync(NODE, [BENCH('scale-probe.mjs'), 'summaries', bigDb, '30'], { encoding: 'utf8' }));
  // time per claim at each size
  const dbs = {};
  for (const n of P.sizes) {
    if (n === big) dbs[n] = bigDb;
    else buildDb((dbs[n] = db(`scale-${n}.db`)), n);
  }
  const claims = Object.fromEntries(P.sizes.map((n) => [n, { sync: [], nosync: [] }]));
  for (let round = 0; round < P.claimRounds; round++) {
    noteLoad(`claims round ${round + 1}`);
    for (const n of P.sizes) {
      for (const mode of ['sync', 'nosync']) {
        const a = ['claims', dbs[n], String(P.claimSteps)];
        if (mode === 'nosync') a.push('--nosync');
        claims[n][mode].push(JSON.parse(execFileSync(NODE, [BENCH('scale-probe.mjs'), ...a], { encoding: 'utf8' })));
      }
    }
  }
  sec.claims = P.sizes.map((n) => ({
    n,
    syncUs: median(claims[n].sync.map((c) => c.medianUs)),
    syncP90Us: median(claims[n].sync.map((c) => c.p90Us)),
    nosyncUs: median(claims[n].nosync.map((c) => c.medianUs)),
    nosyncP90Us: median(claims[n].nosync.map((c) => c.p90Us)),
  }));
  for (const c of sec.claims) log(`  ${c.n}: step ${fmt(c.syncUs)} µs synced, ${fmt(c.nosyncUs)} µs without the flush`);
  log(`  status --json ${fmt(sec.status.allMs)} ms whole command; summaries([1]) ${fmt(sec.query.medianMs, 2)} ms`);
  R.sections.scale = sec;
}

// ---- 4. memory while sending -----------------------------------------------------------------
async function memory(sink) {
  const N = P.memoryN;
  const path = db(`memory-${N}.db`);
  // 200,000 messages must fit in the 10-minute budget with everything else: the message is a
  // short one with its own text part (no html-to-text per message) and the pool is 20 (more in
  // flight at once: if anything, more memory). What is measured — whether memory grows with the
  // campaign — is the same code path as with the demo message.
  buildDb(path, N, '--light');
  log(`memory: run over ${N} recipients to the sink (pool ${MEMORY_POOL}, short message), sampling VmRSS`);
  noteLoad('memory run');
  const samples = [];
  let pid = null;
  let reader = null;
  let timer = null;
  const logFd = openSync(path + '.log', 'w');
  const r = await measure(NODE, cli('--db', path, 'run', '--campaign', '1', '--transport', `smtp://127.0.0.1:${sink.port}?pool=${MEMORY_POOL}`), {
    stdout: logFd,
    onSpawn: (child) => {
      const t0 = Date.now();
      timer = setInterval(() => {
        try {
          pid ??= childPidOf(child.pid) === child.pid ? null : childPidOf(child.pid);
          if (!pid) return;
          reader ??= new Database(path, { readonly: true, fileMustExist: true });
          const sent = reader.prepare(`SELECT coalesce(sum(n), 0) AS n FROM campaign_counts WHERE campaign_id = 1 AND status IN ('sent','failed','in_doubt')`).get().n;
          samples.push({ t: Date.now() - t0, done: sent, ...rssOf(pid) });
        } catch {
          /* the process may be gone between the checks */
        }
      }, 250);
    },
  });
  clearInterval(timer);
  reader?.close();
  closeSync(logFd);
  check(r, 'memory run');
  const c = counts(path);
  if (c.sent !== N) throw new Error(`memory run: ${JSON.stringify(c)}`);
  const at = (p) => samples.find((s) => s.done >= (N * p) / 100);
  const marks = [10, 50, 90].map((p) => ({ p, ...at(p) }));
  const between = samples.filter((s) => s.done >= N * 0.1 && s.done <= N * 0.9).map((s) => s.rssKb);
  R.sections.memory = { N, wallMs: r.wallMs, peakKb: r.maxRssKb, marks, minKb: Math.min(...between), maxKb: Math.max(...between), samples: samples.length };
  log(`  ${fmt(r.wallMs / 1000, 1)} s (${fmt((N / r.wallMs) * 1000)} msg/s), peak RSS ${fmt(mb(r.maxRssKb))} MB; at 10/50/90 %: ${marks.map((m) => fmt(mb(m.rssKb))).join(' / ')} MB`);
}

// ---- 5. start-up -----------------------------------------------------------------------------
async function startup() {
  const path = db('startup.db');
  buildDb(path, 1000);
  log(`startup: status --json ×${P.startupRuns}, and what it loads`);
  noteLoad('startup');
  const node = [];
  const status = [];
  const help = [];
  for (let i = 0; i < P.startupRuns; i++) {
    node.push(check(await measure(NODE, ['-e', ''], { timeV: false }), 'node').wallMs);
    status.push(check(await measure(NODE, cli('--db', path, 'status', '--json'), { timeV: false }), 'status').wallMs);
    help.push(check(await measure(NODE, cli('--help'), { timeV: false }), 'help').wallMs);
  }
  const rss = check(await measure(NODE, cli('--db', path, 'status', '--json')), 'status').maxRssKb;
  // What it loads: every module file, through public hooks (see trace-modules.mjs).
  const modsFile = db('modules.json');
  check(await measure(NODE, cli('--db', path, 'status', '--json'), { timeV: false, env: { NODE_OPTIONS: `--import=${BENCH('trace-modules.mjs')}`, BENCH_MODULES_OUT: modsFile } }), 'status traced');
  const files = JSON.parse(readFileSync(modsFile, 'utf8')).filter((f) => !f.startsWith('node:') && !f.includes('/bench/') && !f.startsWith('data:'));
  const byPkg = new Map();
  for (const f of files) {
    const k = packageOf('file://' + f).replace(/^aremko-mail .*/, 'aremko-mail (dist)');
    byPkg.set(k, (byPkg.get(k) ?? 0) + 1);
  }
  const dist = files.filter((f) => f.includes('/app/dist/')).map((f) => f.replace(/^.*\/app\/dist\//, ''));
  // Where its time goes: a CPU profile of one status --json, by package.
  const profDir = db('prof-status');
  check(await measure(NODE, ['--cpu-prof', '--cpu-prof-interval', '100', `--cpu-prof-dir=${profDir}`, ...cli('--db', path, 'status', '--json')], { timeV: false }), 'status profiled');
  const prof = summarise(join(profDir, readdirSync(profDir)[0]), 12);
  const heavy = ['ink', 'react', 'react-reconciler', 'yoga-layout', 'nodemailer', 'handlebars', 'html-to-text', 'luxon', 'csv-parse', 'csv-stringify', 'iconv-lite', 'mailparser'];
  R.sections.startup = {
    runs: P.startupRuns,
    nodeMs: median(node),
    statusMs: median(status),
    helpMs: median(help),
    rssKb: rss,
    files: files.length,
    packages: [...byPkg].sort((a, b) => b[1] - a[1]),
    dist,
    heavyLoaded: heavy.filter((h) => byPkg.has(h)),
    profile: prof,
  };
  log(`  node alone ${fmt(median(node))} ms, status --json ${fmt(median(status))} ms, --help ${fmt(median(help))} ms; ${files.length} module files; heavy: ${R.sections.startup.heavyLoaded.join(', ') || 'none'}`);
}

// ---- 6. TUI ----------------------------------------------------------------------------------
async function tui(sink) {
  if (spawnSync('tmux', ['-V']).status !== 0) {
    R.sections.tui = { skipped: 'tmux is not installed' };
    return;
  }
  const S = P.tuiSeconds;
  const n = (S + 15) * TUI_RATE;
  const path = db('tui.db');
  // Paused to begin with: the idle window comes first, while nothing has ever been sent (see the
  // report: for a minute after sends stop, the per-minute rate on screen still changes).
  buildDb(path, n, '--rate', `${TUI_RATE}/1`, '--status', 'paused');
  log(`tui: ${S} s idle on a paused campaign, then ${S} s watching it sent at ${TUI_RATE} msg/s by another process (--rate ${TUI_RATE}/s)`);
  const socket = `aremko-bench-${process.pid}`;
  const tmux = (...a) => execFileSync('tmux', ['-L', socket, '-f', '/dev/null', ...a], { encoding: 'utf8' });
  const sentNow = () => counts(path).sent ?? 0;
  const sec = {};
  let sender = null;
  let senderErr = '';
  const senderLog = openSync(path + '.sender.log', 'w');
  try {
    const q = (s) => `'${s.replace(/'/g, `'\\''`)}'`;
    // As an operator starts it: no NODE_ENV, no CI.
    tmux('new-session', '-d', '-s', 'tui', '-x', '80', '-y', '24', `exec env -u CI -u NODE_ENV LANG=en_US.UTF-8 ${q(NODE)} ${q(CLI)} --db ${q(path)} --lang en`);
    const pid = Number(tmux('display-message', '-p', '-t', 'tui', '#{pane_pid}').trim());
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    if (!cmdline.includes('main.js')) throw new Error(`tmux pane runs ${cmdline}, not the TUI`);
    const waitFor = async (text, ms = 15_000) => {
      const end = Date.now() + ms;
      for (;;) {
        const screen = tmux('capture-pane', '-p', '-t', 'tui');
        if (screen.includes(text)) return screen;
        if (Date.now() > end) throw new Error(`TUI: no "${text}" on screen:\n${screen}`);
        await sleep(100);
      }
    };
    const measureWindow = async () => {
      const c0 = cpuMsOf(pid);
      const s0 = sentNow();
      const t0 = process.hrtime.bigint();
      await sleep(S * 1000);
      const c1 = cpuMsOf(pid);
      const s1 = sentNow();
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      return { cpuMs: c1 - c0, wallMs: ms, pctCore: pctOf(c1 - c0, ms), rate: ((s1 - s0) / ms) * 1000, rssKb: rssOf(pid).rssKb, load: loadAvg() };
    };
    await waitFor('#1 bench');
    tmux('send-keys', '-t', 'tui', 'Enter');
    await waitFor('aremko-mail › #1 bench');
    await sleep(2000); // start-up and first renders are not what is measured
    noteLoad('tui idle');
    sec.idle = await measureWindow();
    sec.idle.screen = tmux('capture-pane', '-p', '-t', 'tui');
    log(`  idle (paused): ${fmt(sec.idle.pctCore, 2)} % of a core, RSS ${fmt(mb(sec.idle.rssKb))} MB`);
    check(await measure(NODE, cli('--db', path, 'resume', '1'), { timeV: false }), 'resume');
    sender = spawn(NODE, cli('--db', path, 'run', '--campaign', '1', '--transport', `smtp://127.0.0.1:${sink.port}?pool=${POOL}`), { stdio: ['ignore', senderLog, 'pipe'] });
    sender.stderr.on('data', (d) => (senderErr += d));
    while (sentNow() === 0) await sleep(100);
    await waitFor('sending');
    await sleep(2000);
    noteLoad('tui busy');
    sec.busy = await measureWindow();
    sec.busy.screen = tmux('capture-pane', '-p', '-t', 'tui');
    log(`  busy: ${fmt(sec.busy.pctCore, 2)} % of a core (sender at ${fmt(sec.busy.rate)} msg/s), RSS ${fmt(mb(sec.busy.rssKb))} MB`);
  } finally {
    if (sender && sender.exitCode === null) {
      const done = new Promise((res) => sender.on('close', res));
      sender.kill('SIGTERM');
      await done;
    }
    closeSync(senderLog);
    spawnSync('tmux', ['-L', socket, 'kill-server']);
  }
  if (sender && sender.exitCode !== 0) throw new Error(`sender: exit ${sender.exitCode}: ${senderErr}`);
  R.sections.tui = { seconds: S, rate: TUI_RATE, recipients: n, ...sec };
}

// ---- profiles --------------------------------------------------------------------------------
async function profiles(sink) {
  log(`profile: node --cpu-prof of run (${P.profileN} messages), plain nodemailer, import (${P.profileRows} rows)`);
  const template = db('prof-template.db');
  const baseline = db('prof-baseline.json');
  buildDb(template, P.profileN, '--baseline-json', baseline);
  const out = {};
  const prof = async (name, fn) => {
    const dir = db(`prof-${name}`);
    await fn(['--cpu-prof', `--cpu-prof-dir=${dir}`]);
    out[name] = summarise(join(dir, readdirSync(dir)[0]), 15);
  };
  await prof('engine', (nodeArgs) => engineRun(sink, template, db('prof-engine.db'), { nodeArgs, timeV: false }));
  await prof('plain', (nodeArgs) => plainRun(sink, baseline, true, nodeArgs));
  const csv = db(`prof-${P.profileRows}.csv`);
  execFileSync(NODE, [BENCH('gen-csv.mjs'), String(P.profileRows), csv]);
  buildDb(db('prof-import.db'), 0, '--status', 'draft');
  await prof('import', async (nodeArgs) => check(await measure(NODE, [...nodeArgs, ...cli('--db', db('prof-import.db'), 'import', '1', csv, '--json')], { timeV: false }), 'import profiled'));
  R.sections.profile = out;
}

// ---- report ----------------------------------------------------------------------------------
const verdict = (ok) => (ok ? '**met**' : '**NOT met**');

function report(m) {
  const L = [];
  const s = R.sections;
  const date = new Date(started).toISOString().replace('T', ' ').slice(0, 16) + ' UTC';
  L.push('# aremko-mail benchmarks', '');
  L.push(`Run: ${date}, \`${QUICK ? 'npm run bench -- --quick' : 'npm run bench'}\`${only ? ` (sections: ${only.join(', ')})` : ''}, ${fmt((Date.now() - started) / 1000)} s in all. Code: ${m.commit}${m.dirty ? ' (with uncommitted changes in src/)' : ''}.`, '');
  L.push('## Machine', '');
  L.push(`- CPU: ${m.cpu}, ${m.cores} cores; memory ${fmt(m.memGiB, 1)} GiB; ${m.kernel}`);
  L.push(`- Disk of the database folder: ${m.disk}`);
  L.push(`- One 4 KiB write + fsync on that disk: ${fmt(m.fsyncMs, 2)} ms (median of 200) — the floor under every synced commit`);
  L.push(`- Node ${m.node}, SQLite ${m.sqlite} (better-sqlite3 ${m.betterSqlite3}), nodemailer ${m.nodemailer}`);
  L.push(`- Load at the start: \`${m.uptime}\`; at the end: \`${R.uptimeEnd}\``);
  L.push(`- Load (1/5/15 min) at each measurement: ${R.loads.map((l) => `${l.what} ${l.load}`).join('; ')}`);
  L.push('');
  L.push('This machine is shared: other agents run builds and test suites on it at the same time, so absolute figures move from run to run (see the load). Ratios come from runs alternated in one process tree, which share whatever the disturbance is.', '');

  L.push('## Summary', '', '| # | what | target | measured | |', '|---|---|---|---|---|');
  if (s.throughput) {
    const t = s.throughput;
    L.push(`| 1 | engine throughput ÷ plain nodemailer (whole process, ${t.N} msgs, pool ${POOL}) | ≥ 0.90 | ${fmt(t.ratio, 2)} (engine ${fmt((t.N / t.engineMedianMs) * 1000)} msg/s, plain ${fmt((t.N / t.plainMedianMs) * 1000)} msg/s) | ${verdict(t.ratio >= 0.9)} |`);
  }
  if (s.import) {
    const i = s.import;
    L.push(`| 2 | import ${i.rows.toLocaleString('en')} rows: wall time | < 30 s | ${fmt(i.wallMs / 1000, 1)} s | ${verdict(i.wallMs < 30_000)} |`);
    L.push(`| 2 | import: peak RSS | < 200 MB | ${fmt(mb(i.maxRssKb))} MB (max of ${i.runs.length}) | ${verdict(mb(i.maxRssKb) < 200)} |`);
  }
  if (s.scale) {
    const c = s.scale;
    L.push(`| 3 | \`summaries([id])\` at ${c.big.toLocaleString('en')} recipients | < 100 ms | ${fmt(c.query.medianMs, 2)} ms (first call ${fmt(c.query.firstMs, 2)} ms) | ${verdict(c.query.firstMs < 100 && c.query.medianMs < 100)} |`);
    L.push(`| 3 | \`status --json\` whole command at ${c.big.toLocaleString('en')} | < 500 ms | ${fmt(c.status.allMs)} ms | ${verdict(c.status.allMs < 500)} |`);
    const first = c.claims[0];
    const last = c.claims[c.claims.length - 1];
    L.push(`| 3 | time per claim, ${first.n.toLocaleString('en')} → ${last.n.toLocaleString('en')} | O(log n) | ${fmt(first.nosyncUs)} → ${fmt(last.nosyncUs)} µs SQL, ${fmt(first.syncUs)} → ${fmt(last.syncUs)} µs synced | ${verdict(last.nosyncUs < first.nosyncUs * 3)} |`);
  }
  if (s.memory) {
    const mm = s.memory;
    L.push(`| 4 | peak RSS of \`run\` over ${mm.N.toLocaleString('en')} recipients | < 150 MB | ${fmt(mb(mm.peakKb))} MB; 10/50/90 %: ${mm.marks.map((x) => fmt(mb(x.rssKb))).join(' / ')} MB | ${verdict(mb(mm.peakKb) < 150 && mm.maxKb - mm.minKb < 30 * 1024)} |`);
  }
  if (s.startup) {
    const st = s.startup;
    L.push(`| 5 | \`status --json\` whole process | < 300 ms | ${fmt(st.statusMs)} ms (node alone: ${fmt(st.nodeMs)} ms) | ${verdict(st.statusMs < 300)} |`);
    L.push(`| 5 | no Ink/React without the TUI | none loaded | ${st.heavyLoaded.filter((h) => ['ink', 'react', 'react-reconciler', 'yoga-layout'].includes(h)).join(', ') || 'none loaded'} | ${verdict(!st.heavyLoaded.some((h) => ['ink', 'react', 'react-reconciler', 'yoga-layout'].includes(h)))} |`);
  }
  if (s.tui && !s.tui.skipped) {
    const u = s.tui;
    L.push(`| 6 | TUI CPU watching ${fmt(u.busy.rate)} msg/s, ${u.seconds} s | < 10 % of a core | ${fmt(u.busy.pctCore, 2)} % | ${verdict(u.busy.pctCore < 10)} |`);
    L.push(`| 6 | TUI CPU idle (paused), ${u.seconds} s | < 1 % | ${fmt(u.idle.pctCore, 2)} % | ${verdict(u.idle.pctCore < 1)} |`);
  }
  L.push('');

  if (s.throughput) {
    const t = s.throughput;
    L.push('## 1. Throughput: the engine against plain nodemailer', '');
    L.push(`Both send the same ${t.N} rendered messages (the demo's html message, text part from the html, List-Unsubscribe) to the same sink (\`bench/sink.mjs\`, smtp-server with TCP_NODELAY, in its own process), pool ${POOL}, alternated A B A B after one warm-up of each. Wall time of the whole process, measured by the parent.`);
    L.push(`- **engine**: \`aremko-mail run --campaign 1 --transport smtp://127.0.0.1:PORT?pool=${POOL}\` (one open batch, interval 0; every claim synced; log lines to a file).`);
    L.push(`- **plain**: \`bench/plain-nodemailer.mjs\`: nodemailer's pool (\`pool: true, maxConnections: ${POOL}\`), no state at all; it renders each message with the same MessageBuilder and keeps ${2 * POOL} messages queued. Its sockets get TCP_NODELAY through nodemailer's public \`getSocket\` option (we open the socket, set no-delay, hand it over as \`connection\`) — the engine's transport and the sink set it too.`);
    L.push('');
    L.push('| pair | engine ms | engine msg/s | engine CPU s | engine peak RSS MB | plain ms | plain msg/s | plain CPU s | plain peak RSS MB | plain ÷ engine time | load |', '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|');
    t.pairs.forEach((p, i) =>
      L.push(`| ${i + 1} | ${fmt(p.engine.wallMs)} | ${fmt((t.N / p.engine.wallMs) * 1000)} | ${fmt(p.engine.userS + p.engine.sysS, 1)} | ${fmt(mb(p.engine.maxRssKb))} | ${fmt(p.plain.wallMs)} | ${fmt((t.N / p.plain.wallMs) * 1000)} | ${fmt(p.plain.userS + p.plain.sysS, 1)} | ${fmt(mb(p.plain.maxRssKb))} | ${fmt(p.ratio, 2)} | ${p.load} |`),
    );
    L.push('');
    L.push(`Median: engine ${fmt(t.engineMedianMs)} ms, plain ${fmt(t.plainMedianMs)} ms; **engine throughput = ${fmt(t.ratio, 2)} × plain** (median of the per-pair ratios).`, '');
    const c = t.commits;
    const commitsN = c.writeTransactions + c.autocommitWrites;
    const where = c.workerThreads
      ? `The main thread (the event loop: SMTP, rendering) spent **${fmt(c.mainThreadMs, 1)} ms of the run's ${fmt(c.wallMs)} ms blocked in writes** (${fmt(pctOf(c.mainThreadMs, c.wallMs), 1)} %); the store's worker thread spent ${fmt(c.workerMs)} ms in write transactions`
      : `The main thread (the event loop) spent **${fmt(c.mainThreadMs, 1)} ms of the run's ${fmt(c.wallMs)} ms blocked in writes** (${fmt(pctOf(c.mainThreadMs, c.wallMs), 1)} %)`;
    L.push(`Commits, from an instrumented run of ${c.n} messages (\`bench/count-commits.mjs\` preloaded in every thread: it wraps better-sqlite3's transaction() and Statement.run()): ${c.writeTransactions} write transactions + ${c.autocommitWrites} single-statement writes = **${fmt(commitsN / c.n, 2)} commits per message** (${fmt(c.n / commitsN, 2)} messages per commit). ${where}, ${fmt(c.commitMs)} ms of it in COMMIT (the WAL write and its fsync): ${fmt(c.commitMs / c.writeTransactions, 2)} ms per commit.` + (t.syncs !== null ? ` Under strace the same run made ${t.syncs} fsync/fdatasync calls (${fmt(t.syncs / c.n, 2)} per message; checkpoints add a few).` : ''), '');
    L.push(`For information, nodemailer's pool as shipped (no TCP_NODELAY): ${t.nagle.n} messages in ${fmt(t.nagle.ms)} ms (${fmt((t.nagle.n / t.nagle.ms) * 1000)} msg/s) against ${fmt(t.nagle.nodelayMs)} ms (${fmt((t.nagle.n / t.nagle.nodelayMs) * 1000)} msg/s) with it — the ~40 ms delayed-ACK stall per message that would have made the comparison meaningless.`, '');
  }
  if (s.import) {
    const i = s.import;
    L.push('## 2. Import', '');
    L.push(`\`aremko-mail import 1 <file> --json\` of a ${fmt(i.csvMiB, 1)} MiB CSV with ${i.rows.toLocaleString('en')} rows (\`bench/gen-csv.mjs\`: UTF-8, accented names, quoted fields) into an empty draft campaign, under \`/usr/bin/time -v\`.`, '');
    L.push('| run | wall s | CPU s (user+sys) | peak RSS MB |', '|---:|---:|---:|---:|');
    i.runs.forEach((r, k) => L.push(`| ${k + 1} | ${fmt(r.wallMs / 1000, 1)} | ${fmt(r.userS + r.sysS, 1)} | ${fmt(mb(r.maxRssKb))} |`));
    L.push('', `Median ${fmt(i.wallMs / 1000, 1)} s (${fmt(i.rows / (i.wallMs / 1000))} rows/s), peak RSS ${fmt(mb(i.rssKb))} MB (max ${fmt(mb(i.maxRssKb))} MB).`, '');
  }
  if (s.scale) {
    const c = s.scale;
    L.push('## 3. Scale', '');
    L.push(`The ${c.big.toLocaleString('en')}-recipient campaign ${c.fromImport ? `is the one the import benchmark made; \`aremko-mail start 1\` on it (which checks every template field against every recipient) took ${fmt(c.startMs)} ms` : `was built with \`bench/build-db.mjs\` in ${fmt(c.buildMs)} ms`}.`, '');
    L.push(`- \`status --json\` (all campaigns), whole command: **${fmt(c.status.allMs)} ms**; \`status 1 --json\`: ${fmt(c.status.oneMs)} ms (medians of ${c.status.runs}); peak RSS ${fmt(mb(c.status.rssKb))} MB.`);
    L.push(`- The query inside, in-process (\`store.summaries([1])\`, counts kept by triggers): **${fmt(c.query.medianMs, 3)} ms** median, first call ${fmt(c.query.firstMs, 3)} ms, max ${fmt(c.query.maxMs, 3)} ms; \`summaries()\` ${fmt(c.query.allMedianMs, 3)} ms.`);
    L.push('');
    L.push(`Time per claim: \`bench/scale-probe.mjs claims\` holds the lease and runs ${P.claimSteps} engine turns per database, each one \`store.step()\` — the engine's unit: one transaction that records the previous message's answer (sent, with its event row) and claims the next recipient. "Synced" is the store as shipped (WAL, synchronous=FULL: the disk flush dominates); "SQL only" sets synchronous=OFF on the probe's connection, leaving the B-tree work whose growth is the question. Medians of ${P.claimRounds} rounds, sizes alternated.`, '');
    L.push('| recipients | synced µs (p90) | SQL only µs (p90) |', '|---:|---:|---:|');
    for (const x of c.claims) L.push(`| ${x.n.toLocaleString('en')} | ${fmt(x.syncUs)} (${fmt(x.syncP90Us)}) | ${fmt(x.nosyncUs)} (${fmt(x.nosyncP90Us)}) |`);
    L.push('');
  }
  if (s.memory) {
    const mm = s.memory;
    L.push('## 4. Memory while sending', '');
    L.push(`\`aremko-mail run\` over ${mm.N.toLocaleString('en')} recipients to the sink under \`/usr/bin/time -v\`; VmRSS of the node process sampled every 250 ms from /proc/<pid>/status, progress read from the database (${mm.samples} samples). To fit the 10-minute budget the message is a short html one with its own text part (no html-to-text per message) and the pool is ${MEMORY_POOL} (more messages in flight than the usual 5: if anything, more memory); the code path — claim, render, send, record — is the engine's usual one.`, '');
    L.push(`- ${fmt(mm.wallMs / 1000, 1)} s, ${fmt((mm.N / mm.wallMs) * 1000)} msg/s; peak RSS **${fmt(mb(mm.peakKb))} MB**`);
    L.push(`- RSS at ${mm.marks.map((x) => `${x.p} % (${fmt(x.t / 1000, 1)} s): ${fmt(mb(x.rssKb))} MB`).join(', ')}; between 10 % and 90 %: ${fmt(mb(mm.minKb))}–${fmt(mb(mm.maxKb))} MB`, '');
  }
  if (s.startup) {
    const st = s.startup;
    L.push('## 5. Start-up', '');
    L.push(`Whole process, medians of ${st.runs}, on a 1,000-recipient database: \`node -e ""\` ${fmt(st.nodeMs)} ms; **\`aremko-mail status --json\` ${fmt(st.statusMs)} ms** (peak RSS ${fmt(mb(st.rssKb))} MB); \`aremko-mail --help\` ${fmt(st.helpMs)} ms.`, '');
    L.push(`What \`status --json\` loads (\`bench/trace-modules.mjs\`: a module.register() load hook plus require.cache): ${st.files} module files — ${st.packages.map(([k, v]) => `${k} ${v}`).join(', ')}.`);
    L.push(`Heavy packages loaded: ${st.heavyLoaded.length ? st.heavyLoaded.join(', ') : 'none (no Ink, React, nodemailer, Handlebars, html-to-text, luxon, csv-parse)'}. aremko-mail files: ${st.dist.join(', ')}.`, '');
    L.push('CPU profile of one `status --json` (100 µs sampling), self time by package:', '');
    L.push('| self ms | % | package |', '|---:|---:|---|');
    for (const r of st.profile.packages) L.push(`| ${fmt(r.ms, 1)} | ${fmt(r.pct, 1)} | ${r.name} |`);
    L.push('');
  }
  if (s.tui) {
    const u = s.tui;
    L.push('## 6. TUI', '');
    if (u.skipped) L.push(`Skipped: ${u.skipped}.`, '');
    else {
      L.push(`The built binary in tmux (80×24, \`aremko-mail --db … --lang en\`, started as an operator would: no NODE_ENV), the campaign opened (Enter: detail view with its log). Idle: the campaign is paused and nothing has been sent yet. Busy: then \`aremko-mail resume 1\`, and another process sends it: \`aremko-mail run\` on a campaign created with \`--rate ${u.rate}/s\` (${u.recipients.toLocaleString('en')} recipients), pool ${POOL}, to the sink. CPU time of the TUI process from /proc/<pid>/stat (utime+stime) before and after each ${u.seconds} s window; the sender's rate from the database over the same window.`, '');
      L.push('| window | TUI CPU ms | % of one core | sender rate | TUI RSS MB | load |', '|---|---:|---:|---:|---:|---|');
      L.push(`| idle: the campaign paused | ${fmt(u.idle.cpuMs)} | ${fmt(u.idle.pctCore, 2)} | ${fmt(u.idle.rate)} msg/s | ${fmt(mb(u.idle.rssKb))} | ${u.idle.load} |`);
      L.push(`| watching the campaign send | ${fmt(u.busy.cpuMs)} | ${fmt(u.busy.pctCore, 2)} | ${fmt(u.busy.rate)} msg/s | ${fmt(mb(u.busy.rssKb))} | ${u.busy.load} |`);
      L.push('', 'The screen at the end of the busy window:', '', '```', u.busy.screen.replace(/\s+$/, ''), '```', '');
    }
  }
  if (s.profile) {
    L.push('## Profiles', '');
    L.push('`node --cpu-prof` (1 ms sampling) of whole processes, summarised by `bench/profile-summary.mjs` (self time; `sqliteTransaction` is better-sqlite3\'s wrapper: its self time is BEGIN/COMMIT, i.e. the WAL write and the fsync).', '');
    const titles = { engine: `\`aremko-mail run\`, ${P.profileN} messages`, plain: `plain nodemailer, ${P.profileN} messages`, import: `\`aremko-mail import\`, ${P.profileRows.toLocaleString('en')} rows` };
    for (const [k, v] of Object.entries(s.profile)) L.push(`### ${titles[k]}`, '', profileMarkdown(v, `${fmt(v.totalMs)} ms sampled`).replace(/: \d+ ms sampled$/m, ''), '');
  }
  return L.join('\n');
}

/** Keeps the hand-written notes of an earlier RESULTS.md (between the markers) when rewriting it. */
function withNotes(text, previous) {
  const re = /<!-- notes -->[\s\S]*<!-- \/notes -->/;
  const notes = previous && re.exec(previous)?.[0];
  return `${text}\n${notes ?? '<!-- notes -->\n## Notes\n\n(analysis goes here; kept when the benchmark rewrites this file)\n<!-- /notes -->'}\n`;
}

// ---- main ------------------------------------------------------------------------------------
let sink;
let failed = false;
try {
  log(`work folder ${WORK}${QUICK ? ' (quick)' : ''}`);
  const m = machine();
  log(`${m.cpu}, ${m.cores} cores, ${m.disk.split(';')[0]}, fsync ${fmt(m.fsyncMs, 2)} ms; load ${loadAvg()}`);
  sink = await startSink();
  if (selected('startup')) await startup();
  if (selected('throughput')) await throughput(sink);
  if (selected('import')) await importBench();
  if (selected('scale')) await scale();
  if (selected('tui')) await tui(sink);
  if (selected('memory')) await memory(sink);
  if (selected('profile')) await profiles(sink);
  R.uptimeEnd = execFileSync('uptime', { encoding: 'utf8' }).trim();
  const text = report(m);
  if (OUT) {
    writeFileSync(OUT, withNotes(text, existsSync(OUT) ? readFileSync(OUT, 'utf8') : null));
    log(`wrote ${OUT}`);
  } else process.stdout.write(text + '\n');
  log(`done in ${fmt((Date.now() - started) / 1000)} s`);
} catch (err) {
  failed = true;
  process.stderr.write(`bench failed: ${err.stack ?? err}\nwork folder kept: ${WORK}\n`);
  process.exitCode = 1;
} finally {
  const received = await sink?.stop();
  if (received !== undefined) log(`sink received ${received} messages`);
  if (!failed && !flag('--keep')) rmSync(WORK, { recursive: true, force: true });
  else log(`work folder kept: ${WORK}`);
}

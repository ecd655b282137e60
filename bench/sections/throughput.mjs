// Throughput and CPU per message (issue 10, goals 1 and 2): the engine as shipped (every claim
// on disk before any byte of its message goes out) against plain nodemailer sending the same rendered
// messages to the same sink, at pool 1, 5 and 10, on a quiet machine and with the other core kept
// busy by a CPU-burning process; pairs alternated, medians of the per-pair ratios.
import { closeSync, copyFileSync, openSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { cpuS, fmt, mb, median } from '../harness.mjs';
import { BENCH, measure, startBurner } from '../lib.mjs';

export const title = 'Throughput: the engine against plain nodemailer';
const TARGET_RATIO = 0.95;
const TARGET_CPU = 1.15;

/** `aremko-mail run` over a copy of `template`; log lines to a file. */
export async function engineRun(h, template, path, transport, { env, timeV = true, nodeArgs = [], what = 'engine run' } = {}) {
  if (template !== path) copyFileSync(template, path);
  const logFd = openSync(path + '.log', 'w');
  try {
    return h.check(await measure(h.NODE, [...nodeArgs, ...h.cli('--db', path, 'run', '--campaign', '1', '--transport', transport)], { stdout: logFd, env, timeV }), what);
  } finally {
    closeSync(logFd);
  }
}

/** bench/plain-nodemailer.mjs: the same messages through nodemailer's pool, no state. */
export async function plainRun(h, sink, baseline, pool, { nodelay = true, nodeArgs = [] } = {}) {
  const r = h.check(await measure(h.NODE, [...nodeArgs, BENCH('plain-nodemailer.mjs'), baseline, String(sink.port), '--pool', String(pool), '--nodelay', nodelay ? '1' : '0']), 'plain nodemailer');
  r.result = JSON.parse(r.stdout);
  return r;
}

/** One alternated pair; `order` flips which goes first. */
async function pair(h, { sink, template, baseline, pool, N, i, mode }) {
  const transport = `smtp://127.0.0.1:${sink.port}?pool=${pool}`;
  const dbPath = h.path(`tp-${pool}-${mode}-${i}.db`);
  const burner = mode === 'busy' ? startBurner() : null;
  try {
    const load = h.noteLoad(`throughput pool ${pool} ${mode} ${i + 1}`);
    const runEngine = () => engineRun(h, template, dbPath, transport);
    const runPlain = () => plainRun(h, sink, baseline, pool);
    let e, p;
    if (i % 2 === 0) {
      e = await runEngine();
      p = await runPlain();
    } else {
      p = await runPlain();
      e = await runEngine();
    }
    const c = h.counts(dbPath);
    if (c.sent !== N) throw new Error(`engine run: ${JSON.stringify(c)}`);
    if (p.result.sent !== N) throw new Error(`plain run: ${JSON.stringify(p.result)}`);
    return { engine: e, plain: p, ratio: p.wallMs / e.wallMs, cpuRatio: cpuS(e) / cpuS(p), load };
  } finally {
    await burner?.stop();
  }
}

export async function run(h, { sink }) {
  const P = h.P;
  const sizes = {};
  const fixture = async (n) => {
    if (sizes[n]) return sizes[n];
    const template = h.path(`throughput-${n}.db`);
    const baseline = h.path(`throughput-${n}.json`);
    h.buildDb(template, n, '--baseline-json', baseline);
    return (sizes[n] = { template, baseline });
  };
  const nFor = (pool) => (pool === 1 ? P.pool1N : P.n);
  for (const pool of P.pools) await fixture(nFor(pool));
  h.log(`throughput: pools ${P.pools.join(', ')} (N ${P.pools.map(nFor).join('/')}), quiet and busy, ${P.pairs} alternated pairs each`);
  // One warm-up of each (file cache, the sink's JIT), not counted.
  const warm = await fixture(Math.min(P.n, 1000));
  await engineRun(h, warm.template, h.path('tp-warm.db'), `smtp://127.0.0.1:${sink.port}?pool=5`);
  await plainRun(h, sink, warm.baseline, 5);

  const configs = P.pools.flatMap((pool) => ['quiet', 'busy'].map((mode) => ({ pool, mode, N: nFor(pool), pairs: [] })));
  for (let i = 0; i < P.pairs; i++) {
    for (const cfg of configs) {
      const f = await fixture(cfg.N);
      const p = await pair(h, { sink, template: f.template, baseline: f.baseline, pool: cfg.pool, N: cfg.N, i, mode: cfg.mode });
      cfg.pairs.push(p);
      h.log(`  pool ${cfg.pool} ${cfg.mode} ${i + 1}: engine ${fmt((cfg.N / p.engine.wallMs) * 1000)} msg/s, plain ${fmt((cfg.N / p.plain.wallMs) * 1000)} msg/s → ${fmt(p.ratio, 2)}; CPU ${fmt(p.cpuRatio, 2)}×; load ${p.load}`);
    }
  }
  for (const cfg of configs) {
    cfg.ratio = median(cfg.pairs.map((p) => p.ratio));
    cfg.cpuRatio = median(cfg.pairs.map((p) => p.cpuRatio));
    cfg.engineMs = median(cfg.pairs.map((p) => p.engine.wallMs));
    cfg.plainMs = median(cfg.pairs.map((p) => p.plain.wallMs));
  }

  // Commits per message, in a separate instrumented run at pool 5 (the preload costs a little time).
  const small = await fixture(Math.min(P.n, 2000));
  const smallN = Math.min(P.n, 2000);
  const commitsFile = h.path('commits.json');
  const instrumented = await engineRun(h, small.template, h.path('tp-commits.db'), `smtp://127.0.0.1:${sink.port}?pool=5`, {
    env: { NODE_OPTIONS: `--import=${BENCH('count-commits.mjs')}`, BENCH_COMMITS_OUT: commitsFile },
    timeV: false,
  });
  const perThread = readdirSync(h.WORK)
    .filter((f) => f.startsWith('commits.json.'))
    .map((f) => JSON.parse(readFileSync(join(h.WORK, f), 'utf8')));
  const sum = (k, list = perThread) => list.reduce((a, t) => a + t[k], 0);
  const main = perThread.filter((t) => t.threadId === 0);
  const workers = perThread.filter((t) => t.threadId !== 0);
  const commits = {
    n: smallN,
    wallMs: instrumented.wallMs,
    writeTransactions: sum('writeTransactions'),
    autocommitWrites: sum('autocommitWrites'),
    commitMs: sum('commitMs'),
    mainThreadMs: sum('writeTransactionMs', main) + sum('autocommitMs', main),
    workerThreads: workers.length,
    workerMs: sum('writeTransactionMs', workers) + sum('autocommitMs', workers),
  };
  // The same run under strace, counting the disk flushes themselves (if strace is installed).
  let syncs = null;
  if (spawnSync('strace', ['-V']).status === 0) {
    const st = h.path('strace.txt');
    copyFileSync(small.template, h.path('tp-strace.db'));
    const logFd = openSync(h.path('tp-strace.log'), 'w');
    spawnSync('strace', ['-f', '-c', '-e', 'trace=fsync,fdatasync', '-o', st, h.NODE, ...h.cli('--db', h.path('tp-strace.db'), 'run', '--campaign', '1', '--transport', `smtp://127.0.0.1:${sink.port}?pool=5`)], { stdio: ['ignore', logFd, 'pipe'] });
    closeSync(logFd);
    syncs = readFileSync(st, 'utf8')
      .split('\n')
      .map((l) => l.trim().split(/\s+/))
      .filter((f) => ['fsync', 'fdatasync'].includes(f[f.length - 1]))
      .reduce((a, f) => a + Number(f[3]), 0);
  }
  // For information: nodemailer's pool as shipped (no TCP_NODELAY), on fewer messages (it is slow).
  const tiny = Math.min(P.n, 300);
  const tinyJson = h.path('throughput-tiny.json');
  const full = JSON.parse(readFileSync(small.baseline, 'utf8'));
  writeFileSync(tinyJson, JSON.stringify({ ...full, recipients: full.recipients.slice(0, tiny) }));
  const nagle = await plainRun(h, sink, tinyJson, 5, { nodelay: false });
  const nodelay = await plainRun(h, sink, tinyJson, 5);
  h.R.sections.throughput = { configs, commits, syncs, nagle: { n: tiny, ms: nagle.wallMs, nodelayMs: nodelay.wallMs } };
}

export function summary(sec) {
  const rows = [];
  for (const c of sec.configs) {
    const loads = c.pairs.map((p) => p.load.split(' ')[0]).join('/');
    rows.push({
      goal: 'I10.1',
      what: `engine ÷ plain nodemailer, pool ${c.pool}, ${c.mode === 'quiet' ? 'quiet' : 'other core busy'} (${c.N} msgs, ${c.pairs.length} pairs)`,
      target: `≥ ${TARGET_RATIO}`,
      measured: `${fmt(c.ratio, 2)} (${fmt((c.N / c.engineMs) * 1000)} vs ${fmt((c.N / c.plainMs) * 1000)} msg/s)`,
      met: c.ratio >= TARGET_RATIO,
      load: loads,
    });
  }
  for (const c of sec.configs) {
    rows.push({
      goal: 'I10.2',
      what: `CPU per message, engine ÷ plain, pool ${c.pool}, ${c.mode}`,
      target: `≤ ${TARGET_CPU}`,
      measured: fmt(c.cpuRatio, 2),
      met: c.cpuRatio <= TARGET_CPU,
      load: c.pairs.map((p) => p.load.split(' ')[0]).join('/'),
    });
  }
  return rows;
}

export function body(sec) {
  const L = [];
  L.push("Both send the same rendered messages (the demo's html message, text part from the html, List-Unsubscribe) to the same sink (`bench/sink.mjs`, smtp-server with TCP_NODELAY, in its own process). Each pair runs the two whole processes back to back, the order flipped every pair; \"busy\" runs both while a `node -e 'for(;;){}'` process keeps one of the two cores busy. Wall time from the parent; CPU (user + sys, all threads) and peak RSS from `/usr/bin/time -v`.");
  L.push('- **engine**: `aremko-mail run --campaign 1 --transport smtp://127.0.0.1:PORT?pool=N` (one open batch, interval 0; every claim on disk before any byte of its message goes out: the flush runs while MAIL FROM and RCPT TO go out, and the messages of the next recipients are composed while others are in flight; log lines to a file).');
  L.push('- **plain**: `bench/plain-nodemailer.mjs`: nodemailer\'s pool (`pool: true, maxConnections: N`), no state; it renders each message with the same MessageBuilder and keeps 2 × N messages queued; its sockets get TCP_NODELAY through nodemailer\'s `getSocket` option.', '');
  L.push('| pool | machine | pair | engine ms | engine CPU s | engine RSS MB | plain ms | plain CPU s | plain RSS MB | throughput ratio | CPU ratio | load |', '|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|');
  for (const c of sec.configs)
    c.pairs.forEach((p, i) =>
      L.push(`| ${c.pool} | ${c.mode} | ${i + 1} | ${fmt(p.engine.wallMs)} | ${fmt(cpuS(p.engine), 2)} | ${fmt(mb(p.engine.maxRssKb))} | ${fmt(p.plain.wallMs)} | ${fmt(cpuS(p.plain), 2)} | ${fmt(mb(p.plain.maxRssKb))} | ${fmt(p.ratio, 2)} | ${fmt(p.cpuRatio, 2)} | ${p.load} |`),
    );
  L.push('');
  L.push('| pool | machine | messages | engine msg/s | plain msg/s | **throughput ratio** (median) | **CPU per message ratio** (median) |', '|---:|---|---:|---:|---:|---:|---:|');
  for (const c of sec.configs) L.push(`| ${c.pool} | ${c.mode} | ${c.N} | ${fmt((c.N / c.engineMs) * 1000)} | ${fmt((c.N / c.plainMs) * 1000)} | ${fmt(c.ratio, 2)} | ${fmt(c.cpuRatio, 2)} |`);
  L.push('');
  const c = sec.commits;
  const n = c.writeTransactions + c.autocommitWrites;
  L.push(`Commits, from an instrumented run of ${c.n} messages at pool 5 (\`bench/count-commits.mjs\` preloaded in every thread): ${c.writeTransactions} write transactions + ${c.autocommitWrites} single-statement writes = **${fmt(n / c.n, 2)} commits per message**. The main thread (the event loop that also renders and speaks SMTP: the store has no thread of its own) spent ${fmt(c.mainThreadMs, 1)} ms of the run's ${fmt(c.wallMs)} ms inside write transactions (${fmt((c.mainThreadMs / c.wallMs) * 100, 0)} %, ${fmt(c.mainThreadMs / c.n, 2)} ms per message), ${fmt(c.commitMs)} ms of it in COMMIT (${fmt(c.commitMs / Math.max(1, c.writeTransactions), 2)} ms per commit: the WAL write; the flush to disk runs after it on libuv's pool).${c.workerThreads > 0 ? ` Other threads: ${fmt(c.workerMs)} ms.` : ''}${sec.syncs !== null ? ` Under strace the same run made ${sec.syncs} fsync/fdatasync calls (${fmt(sec.syncs / c.n, 2)} per message).` : ''}`, '');
  L.push(`For information, nodemailer's pool as shipped (no TCP_NODELAY): ${sec.nagle.n} messages in ${fmt(sec.nagle.ms)} ms against ${fmt(sec.nagle.nodelayMs)} ms with it — the delayed-ACK stall that would make the comparison meaningless.`, '');
  return L;
}

// The engine on PostgreSQL (issue 9): a durable server (fsync on, synchronous_commit on), pool 5,
// against plain nodemailer sending the same messages to the same sink; pairs alternated.
import { closeSync, openSync } from 'node:fs';
import os from 'node:os';
import { cpuS, fmt, mb, median } from '../harness.mjs';
import { cpuMsOf, measure, pgAdmin, startSink } from '../lib.mjs';
import { plainRun } from './throughput.mjs';

export const title = 'Throughput on PostgreSQL';
const TARGET = 0.9;
const POOL = 5;
/**
 * For information beside the goal's line: the same comparison against relays that answer each
 * message that many ms after its data (bench/sink.mjs's SINK_DELAY_MS), from a LAN relay to one
 * that queues to disk first (the scale-out section's 20 ms). It shows what a claim's durable step
 * costs once the relay's answer, not the two shared cores, sets the pace.
 */
const RELAY_DELAYS_MS = [2, 5, 10, 20];

/** The recipients of campaign 1 by status, on a PostgreSQL database. */
export async function pgCounts(pg, database) {
  const sql = await pgAdmin(pg.url(database));
  try {
    const rows = await sql`SELECT status, count(*)::int AS n FROM aremko_mail.recipients WHERE campaign_id = 1 GROUP BY status`;
    return Object.fromEntries(rows.map((r) => [r.status, r.n]));
  } finally {
    await sql.end({ timeout: 5 });
  }
}

export async function run(h, { sink }) {
  const P = h.P;
  const pg = await h.pg();
  const N = P.pgN;
  const template = await pg.create('pgtp_template');
  const baseline = h.path('pg-throughput.json');
  h.buildDb(pg.url(template), N, '--baseline-json', baseline);
  h.log(`pg-throughput: ${N} recipients, pool ${POOL}, ${P.pgPairs} alternated pairs (engine on PostgreSQL ${pg.version.split(' ')[1]}, plain nodemailer)`);
  const engine = async (sink) => {
    const db = await pg.copy(template, 'pgtp');
    const logFile = h.path(`${db}.log`);
    const fd = openSync(logFile, 'w');
    try {
      const before = { server: pg.cpuMs(), sink: cpuMsOf(sink.pid) };
      const r = h.check(await measure(h.NODE, h.cli('--db', pg.url(db), 'run', '--campaign', '1', '--transport', `smtp://127.0.0.1:${sink.port}?pool=${POOL}`), { stdout: fd }), 'engine on postgres');
      r.serverCpuMs = pg.cpuMs() - before.server;
      r.sinkCpuMs = cpuMsOf(sink.pid) - before.sink;
      const c = await pgCounts(pg, db);
      if (c.sent !== N) throw new Error(`engine on postgres: ${JSON.stringify(c)}`);
      return r;
    } finally {
      closeSync(fd);
      await pg.drop(db);
    }
  };
  await engine(sink); // warm-up: the server's caches, not counted
  const plain = async (sink) => {
    const sinkBefore = cpuMsOf(sink.pid);
    const r = await plainRun(h, sink, baseline, POOL);
    r.sinkCpuMs = cpuMsOf(sink.pid) - sinkBefore;
    return r;
  };
  /** One engine run and one plain run against `sink`, in turn: the engine first in even pairs. */
  const pairAgainst = async (sink, i) => {
    if (i % 2 === 0) {
      const e = await engine(sink);
      return { e, p: await plain(sink) };
    }
    const p = await plain(sink);
    return { e: await engine(sink), p };
  };
  const pairs = [];
  for (let i = 0; i < P.pgPairs; i++) {
    const load = h.noteLoad(`pg-throughput ${i + 1}`);
    const { e, p } = await pairAgainst(sink, i);
    pairs.push({ engine: e, plain: p, ratio: p.wallMs / e.wallMs, cpuRatio: cpuS(e) / cpuS(p), load });
    h.log(`  pair ${i + 1}: engine ${fmt((N / e.wallMs) * 1000)} msg/s, plain ${fmt((N / p.wallMs) * 1000)} msg/s → ${fmt(p.wallMs / e.wallMs, 2)}; load ${load}`);
  }
  const relays = [];
  for (const delayMs of RELAY_DELAYS_MS) {
    const relay = await startSink({ delayMs });
    try {
      const rounds = [];
      for (let i = 0; i < P.pgRelayPairs; i++) {
        const load = h.noteLoad(`pg-throughput relay ${delayMs} ms ${i + 1}`);
        const { e, p } = await pairAgainst(relay, i);
        rounds.push({ engineMs: e.wallMs, plainMs: p.wallMs, ratio: p.wallMs / e.wallMs, load });
      }
      const ratio = median(rounds.map((r) => r.ratio));
      relays.push({ delayMs, rounds, ratio, engineMs: median(rounds.map((r) => r.engineMs)), plainMs: median(rounds.map((r) => r.plainMs)) });
      h.log(`  relay answering after ${delayMs} ms: ${rounds.map((r) => fmt(r.ratio, 2)).join(', ')} → ${fmt(ratio, 2)}`);
    } finally {
      await relay.stop();
    }
  }
  await pg.drop(template);
  h.R.sections['pg-throughput'] = {
    relays,
    N,
    version: pg.version,
    settings: pg.settings,
    pairs,
    ratio: median(pairs.map((p) => p.ratio)),
    cpuRatio: median(pairs.map((p) => p.cpuRatio)),
    engineMs: median(pairs.map((p) => p.engine.wallMs)),
    plainMs: median(pairs.map((p) => p.plain.wallMs)),
    cores: os.cpus().length,
    // CPU per message (ms) of every process a send goes through, medians over the pairs.
    perMessage: {
      engine: median(pairs.map((p) => (cpuS(p.engine) * 1000) / N)),
      server: median(pairs.map((p) => p.engine.serverCpuMs / N)),
      engineSink: median(pairs.map((p) => p.engine.sinkCpuMs / N)),
      plain: median(pairs.map((p) => (cpuS(p.plain) * 1000) / N)),
      plainSink: median(pairs.map((p) => p.plain.sinkCpuMs / N)),
    },
  };
}

export function summary(sec) {
  return [
    {
      goal: 'I9',
      what: `engine on PostgreSQL (durable) ÷ plain nodemailer, pool ${POOL} (${sec.N} msgs)`,
      target: `≥ ${TARGET}`,
      measured: `${fmt(sec.ratio, 2)} (${fmt((sec.N / sec.engineMs) * 1000)} vs ${fmt((sec.N / sec.plainMs) * 1000)} msg/s)`,
      met: sec.ratio >= TARGET,
      load: sec.pairs.map((p) => p.load.split(' ')[0]).join('/'),
    },
    ...(sec.relays ?? [])
      .filter((r) => r.delayMs === 20)
      .map((r) => ({
        goal: 'I9',
        what: `the same, against a relay answering after ${r.delayMs} ms (for information; its section has 2-10 ms)`,
        target: 'reported',
        measured: `${fmt(r.ratio, 2)} (${fmt((sec.N / r.engineMs) * 1000)} vs ${fmt((sec.N / r.plainMs) * 1000)} msg/s)`,
        met: null,
        load: r.rounds.map((x) => x.load.split(' ')[0]).join('/'),
      })),
  ];
}

export function body(sec) {
  const L = [];
  L.push(`${sec.version.split(',')[0]} started by the benchmark in a temp folder on the same disk, with PostgreSQL's durable defaults: ${Object.entries(sec.settings).map(([k, v]) => `${k}=${v}`).join(', ')}. Each engine run gets a fresh copy of the campaign's database (\`CREATE DATABASE … TEMPLATE\`) and runs \`aremko-mail --db postgres://… run --campaign 1\`, pool ${POOL}, against the sink; plain nodemailer sends the same messages. One warm-up run first.`, '');
  L.push('| pair | engine ms | engine CPU s | engine RSS MB | plain ms | plain CPU s | ratio | CPU ratio | load |', '|---:|---:|---:|---:|---:|---:|---:|---:|---|');
  sec.pairs.forEach((p, i) => L.push(`| ${i + 1} | ${fmt(p.engine.wallMs)} | ${fmt(cpuS(p.engine), 2)} | ${fmt(mb(p.engine.maxRssKb))} | ${fmt(p.plain.wallMs)} | ${fmt(cpuS(p.plain), 2)} | ${fmt(p.ratio, 2)} | ${fmt(p.cpuRatio, 2)} | ${p.load} |`));
  L.push('', `Median: **${fmt(sec.ratio, 2)} × plain**; CPU per message of the engine process alone ${fmt(sec.cpuRatio, 2)} × plain's.`, '');
  const m = sec.perMessage;
  if (m && Number.isFinite(m.server)) {
    const engineAll = m.engine + m.server + m.engineSink;
    const plainAll = m.plain + m.plainSink;
    const plainRate = (sec.N / sec.plainMs) * 1000;
    L.push(
      'CPU per message (ms, medians) of every process a message goes through: PostgreSQL is all its processes (the postmaster, its backends, its writers), read from /proc before and after each run.',
      '',
      '| | sender process | PostgreSQL | sink | all |',
      '|---|---:|---:|---:|---:|',
      `| engine on PostgreSQL | ${fmt(m.engine, 2)} | ${fmt(m.server, 2)} | ${fmt(m.engineSink, 2)} | ${fmt(engineAll, 2)} |`,
      `| plain nodemailer | ${fmt(m.plain, 2)} | — | ${fmt(m.plainSink, 2)} | ${fmt(plainAll, 2)} |`,
      '',
      `At ${TARGET} × plain's rate (${fmt(TARGET * plainRate)} msg/s) the engine, PostgreSQL and the sink would need ${fmt((engineAll * TARGET * plainRate) / 1000, 2)} cores at this CPU per message; plain nodemailer and the sink use ${fmt((plainAll * plainRate) / 1000, 2)} at its own rate. The machine has ${sec.cores}, shared with other work (see the load): with every one of them busy and no step ever waited for, this CPU per message would allow at most ${fmt((sec.cores * 1000) / engineAll)} msg/s, **${fmt((sec.cores * 1000) / engineAll / plainRate, 2)} × plain**.`,
      '',
    );
  }
  if (sec.relays?.length) {
    L.push(
      `For information: the same comparison against relays that answer each message some ms after its data ends (\`bench/sink.mjs\` with SINK_DELAY_MS; a relay on the LAN answers in a few ms, one that queues to disk first in tens), ${sec.relays[0].rounds.length} alternated pairs each, a fresh copy of the database each engine run. The sink above answers at once, so there the two shared cores and the step's durable commit set the pace; here the relay's answer does.`,
      '',
      '| relay answers after | engine msg/s | plain msg/s | ratio (pairs) | load |',
      '|---:|---:|---:|---|---|',
      ...sec.relays.map(
        (r) =>
          `| ${r.delayMs} ms | ${fmt((sec.N / r.engineMs) * 1000)} | ${fmt((sec.N / r.plainMs) * 1000)} | **${fmt(r.ratio, 2)}** (${r.rounds.map((x) => fmt(x.ratio, 2)).join(', ')}) | ${r.rounds.map((x) => x.load.split(' ')[0]).join('/')} |`,
      ),
      '',
    );
  }
  return L;
}

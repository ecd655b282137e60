// The engine through the Resend transport (issue 11) against a plain script posting the same
// requests with the same concurrency to the same local server (bench/fake-resend.mjs).
import { cpuS, fmt, mb, median } from '../harness.mjs';
import { BENCH, measure, startFakeResend } from '../lib.mjs';
import { engineRun } from './throughput.mjs';

export const title = 'Resend: the engine against a plain script';
const TARGET = 0.9;
const POOL = 5;

export async function run(h) {
  const P = h.P;
  const N = P.resendN;
  const server = await startFakeResend();
  try {
    const template = h.path('resend.db');
    const baseline = h.path('resend.json');
    h.buildDb(template, N, '--baseline-json', baseline);
    const transport = `resend://re_bench_key?endpoint=http://127.0.0.1:${server.port}&pool=${POOL}`;
    h.log(`resend: ${N} messages, pool ${POOL}, ${P.resendPairs} alternated pairs (engine, plain script)`);
    const engine = (i) => engineRun(h, template, h.path(`resend-${i}.db`), transport, { what: 'engine via Resend' });
    const plain = async () => {
      const r = h.check(await measure(h.NODE, [BENCH('plain-resend.mjs'), baseline, String(server.port), '--pool', String(POOL)]), 'plain resend');
      r.result = JSON.parse(r.stdout);
      if (r.result.sent !== N) throw new Error(`plain resend: ${r.stdout}`);
      return r;
    };
    await engine('warm');
    await plain();
    const pairs = [];
    for (let i = 0; i < P.resendPairs; i++) {
      const load = h.noteLoad(`resend ${i + 1}`);
      let e, p;
      if (i % 2 === 0) {
        e = await engine(i);
        p = await plain();
      } else {
        p = await plain();
        e = await engine(i);
      }
      const c = h.counts(h.path(`resend-${i}.db`));
      if (c.sent !== N) throw new Error(`engine via Resend: ${JSON.stringify(c)}`);
      pairs.push({ engine: e, plain: p, ratio: p.wallMs / e.wallMs, cpuRatio: cpuS(e) / cpuS(p), load });
      h.log(`  pair ${i + 1}: engine ${fmt((N / e.wallMs) * 1000)} msg/s, plain ${fmt((N / p.wallMs) * 1000)} msg/s → ${fmt(p.wallMs / e.wallMs, 2)}; CPU ${fmt(cpuS(e) / cpuS(p), 2)}×; load ${load}`);
    }
    h.R.sections.resend = {
      N,
      pairs,
      ratio: median(pairs.map((p) => p.ratio)),
      cpuRatio: median(pairs.map((p) => p.cpuRatio)),
      engineMs: median(pairs.map((p) => p.engine.wallMs)),
      plainMs: median(pairs.map((p) => p.plain.wallMs)),
    };
  } finally {
    await server.stop();
  }
}

export function summary(sec) {
  return [
    {
      goal: 'I11',
      what: `engine via Resend ÷ plain script, same requests, pool ${POOL} (${sec.N} msgs)`,
      target: `≥ ${TARGET}`,
      measured: `${fmt(sec.ratio, 2)} (${fmt((sec.N / sec.engineMs) * 1000)} vs ${fmt((sec.N / sec.plainMs) * 1000)} msg/s; CPU ${fmt(sec.cpuRatio, 2)}×)`,
      met: sec.ratio >= TARGET,
      load: sec.pairs.map((p) => p.load.split(' ')[0]).join('/'),
    },
  ];
}

export function body(sec) {
  const L = [];
  L.push(`\`bench/fake-resend.mjs\` (its own process) answers \`POST /emails\` as Resend's documentation says: 200 \`{"id": "<uuid>"}\` for a request with a Bearer key and from, to, subject, html/text; 401 or 422 otherwise. **engine**: \`aremko-mail run --campaign 1 --transport 'resend://<key>?endpoint=http://127.0.0.1:PORT&pool=${POOL}'\` (every claim synced first; Idempotency-Key on every request). **plain**: \`bench/plain-resend.mjs\` renders each message with the same templates and posts the same JSON body and Idempotency-Key, ${POOL} requests in flight over one keep-alive agent, no state.`, '');
  L.push('| pair | engine ms | engine CPU s | engine RSS MB | plain ms | plain CPU s | ratio | CPU ratio | load |', '|---:|---:|---:|---:|---:|---:|---:|---:|---|');
  sec.pairs.forEach((p, i) => L.push(`| ${i + 1} | ${fmt(p.engine.wallMs)} | ${fmt(cpuS(p.engine), 2)} | ${fmt(mb(p.engine.maxRssKb))} | ${fmt(p.plain.wallMs)} | ${fmt(cpuS(p.plain), 2)} | ${fmt(p.ratio, 2)} | ${fmt(p.cpuRatio, 2)} | ${p.load} |`));
  L.push('', `Median: **${fmt(sec.ratio, 2)} × plain**; CPU per message ${fmt(sec.cpuRatio, 2)} × plain.`, '');
  return L;
}

// Memory while sending (issue 5): peak RSS of `run` over 200,000 recipients, and RSS over time.
import { closeSync, openSync } from 'node:fs';
import { Database, fmt, mb } from '../harness.mjs';
import { childPidOf, measure, rssOf } from '../lib.mjs';

export const title = 'Memory while sending';
/** A short message with its own text part, pool 20 — see run() for why. */
const MEMORY_POOL = 20;

export async function run(h, { sink }) {
  const N = h.P.memoryN;
  const path = h.path(`memory-${N}.db`);
  // 200,000 messages must fit in the time budget with everything else: the message is a short
  // one with its own text part (no html-to-text per message) and the pool is 20 (more in flight
  // at once: if anything, more memory). What is measured — whether memory grows with the
  // campaign — is the same code path as with the demo message.
  h.buildDb(path, N, '--light');
  h.log(`memory: run over ${N} recipients to the sink (pool ${MEMORY_POOL}, short message), sampling VmRSS`);
  const load = h.noteLoad('memory run');
  const samples = [];
  let pid = null;
  let reader = null;
  let timer = null;
  const logFd = openSync(path + '.log', 'w');
  const r = await measure(h.NODE, h.cli('--db', path, 'run', '--campaign', '1', '--transport', `smtp://127.0.0.1:${sink.port}?pool=${MEMORY_POOL}`), {
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
  h.check(r, 'memory run');
  const c = h.counts(path);
  if (c.sent !== N) throw new Error(`memory run: ${JSON.stringify(c)}`);
  const at = (p) => samples.find((s) => s.done >= (N * p) / 100);
  const marks = [10, 50, 90].map((p) => ({ p, ...at(p) }));
  const between = samples.filter((s) => s.done >= N * 0.1 && s.done <= N * 0.9).map((s) => s.rssKb);
  h.R.sections.memory = { N, wallMs: r.wallMs, peakKb: r.maxRssKb, marks, minKb: Math.min(...between), maxKb: Math.max(...between), samples: samples.length, load };
  h.log(`  ${fmt(r.wallMs / 1000, 1)} s (${fmt((N / r.wallMs) * 1000)} msg/s), peak RSS ${fmt(mb(r.maxRssKb))} MB; at 10/50/90 %: ${marks.map((m) => fmt(mb(m.rssKb))).join(' / ')} MB`);
}

export function summary(m) {
  return [
    { goal: 'I5', what: `peak RSS of \`run\` over ${m.N.toLocaleString('en')} recipients`, target: '< 150 MB', measured: `${fmt(mb(m.peakKb))} MB; 10/50/90 %: ${m.marks.map((x) => fmt(mb(x.rssKb))).join(' / ')} MB`, met: mb(m.peakKb) < 150 && m.maxKb - m.minKb < 30 * 1024, load: m.load },
  ];
}

export function body(m) {
  return [
    `\`aremko-mail run\` over ${m.N.toLocaleString('en')} recipients to the sink under \`/usr/bin/time -v\`; VmRSS of the node process sampled every 250 ms from /proc/<pid>/status, progress read from the database (${m.samples} samples). The message is a short html one with its own text part and the pool is ${MEMORY_POOL}, to fit the time budget; the code path — claim, render, send, record — is the engine's usual one.`,
    '',
    `- ${fmt(m.wallMs / 1000, 1)} s, ${fmt((m.N / m.wallMs) * 1000)} msg/s; peak RSS **${fmt(mb(m.peakKb))} MB**`,
    `- RSS at ${m.marks.map((x) => `${x.p} % (${fmt(x.t / 1000, 1)} s): ${fmt(mb(x.rssKb))} MB`).join(', ')}; between 10 % and 90 %: ${fmt(mb(m.minKb))}–${fmt(mb(m.maxKb))} MB`,
    '',
  ];
}

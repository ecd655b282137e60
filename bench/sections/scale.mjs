// Scale on SQLite (issue 5): `status --json` and its query at 1,000,000 recipients, and the time
// per claim at 10,000 → 1,000,000 recipients.
import { execFileSync } from 'node:child_process';
import { fmt, mb, median } from '../harness.mjs';
import { BENCH, measure } from '../lib.mjs';

export const title = 'Scale';

export async function run(h) {
  const P = h.P;
  const big = P.sizes[P.sizes.length - 1];
  let bigDb = h.R.importedDb;
  const sec = { big, fromImport: Boolean(bigDb) };
  if (bigDb) {
    // The imported campaign is a draft: `start` it the way an operator would (it checks every
    // template field against every recipient).
    sec.startMs = h.check(await measure(h.NODE, h.cli('--db', bigDb, 'start', '1'), { timeV: false }), 'start').wallMs;
  } else {
    bigDb = h.path(`scale-${big}.db`);
    sec.buildMs = h.buildDb(bigDb, big).ms;
  }
  h.log(`scale: status on ${big} recipients; claims at ${P.sizes.join(', ')}`);
  sec.statusLoad = h.noteLoad('scale status');
  const status = { all: [], one: [] };
  for (let i = 0; i < P.statusRuns; i++) {
    status.all.push(h.check(await measure(h.NODE, h.cli('--db', bigDb, 'status', '--json'), { timeV: false }), 'status').wallMs);
    status.one.push(h.check(await measure(h.NODE, h.cli('--db', bigDb, 'status', '1', '--json'), { timeV: false }), 'status 1').wallMs);
  }
  const rss = h.check(await measure(h.NODE, h.cli('--db', bigDb, 'status', '--json')), 'status').maxRssKb;
  sec.status = { allMs: median(status.all), oneMs: median(status.one), rssKb: rss, runs: P.statusRuns };
  sec.query = JSON.parse(execFileSync(h.NODE, [BENCH('scale-probe.mjs'), 'summaries', bigDb, '30'], { encoding: 'utf8' }));
  const dbs = {};
  for (const n of P.sizes) {
    if (n === big) dbs[n] = bigDb;
    else h.buildDb((dbs[n] = h.path(`scale-${n}.db`)), n);
  }
  const claims = Object.fromEntries(P.sizes.map((n) => [n, { sync: [], nosync: [] }]));
  sec.claimLoad = h.noteLoad('scale claims');
  for (let round = 0; round < P.claimRounds; round++) {
    for (const n of P.sizes) {
      for (const mode of ['sync', 'nosync']) {
        const a = ['claims', dbs[n], String(P.claimSteps)];
        if (mode === 'nosync') a.push('--nosync');
        claims[n][mode].push(JSON.parse(execFileSync(h.NODE, [BENCH('scale-probe.mjs'), ...a], { encoding: 'utf8' })));
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
  for (const c of sec.claims) h.log(`  ${c.n}: step ${fmt(c.syncUs)} µs synced, ${fmt(c.nosyncUs)} µs without the flush`);
  h.log(`  status --json ${fmt(sec.status.allMs)} ms whole command; summaries([1]) ${fmt(sec.query.medianMs, 2)} ms`);
  h.R.sections.scale = sec;
}

export function summary(c) {
  const first = c.claims[0];
  const last = c.claims[c.claims.length - 1];
  return [
    { goal: 'I5', what: `SQLite: \`summaries([id])\` at ${c.big.toLocaleString('en')} recipients`, target: '< 100 ms', measured: `${fmt(c.query.medianMs, 2)} ms (first call ${fmt(c.query.firstMs, 2)} ms)`, met: c.query.firstMs < 100 && c.query.medianMs < 100, load: c.statusLoad },
    { goal: 'I5', what: `SQLite: \`status --json\` whole command at ${c.big.toLocaleString('en')}`, target: '< 500 ms', measured: `${fmt(c.status.allMs)} ms`, met: c.status.allMs < 500, load: c.statusLoad },
    { goal: 'I5', what: `SQLite: time per claim, ${first.n.toLocaleString('en')} → ${last.n.toLocaleString('en')}`, target: 'O(log n)', measured: `${fmt(first.nosyncUs)} → ${fmt(last.nosyncUs)} µs SQL, ${fmt(first.syncUs)} → ${fmt(last.syncUs)} µs synced`, met: last.nosyncUs < first.nosyncUs * 3, load: c.claimLoad },
  ];
}

export function body(c) {
  const L = [];
  L.push(`The ${c.big.toLocaleString('en')}-recipient campaign ${c.fromImport ? `is the one the import benchmark made; \`aremko-mail start 1\` on it (which checks every template field against every recipient) took ${fmt(c.startMs)} ms` : `was built with \`bench/build-db.mjs\` in ${fmt(c.buildMs)} ms`}.`, '');
  L.push(`- \`status --json\` (all campaigns), whole command: **${fmt(c.status.allMs)} ms**; \`status 1 --json\`: ${fmt(c.status.oneMs)} ms (medians of ${c.status.runs}); peak RSS ${fmt(mb(c.status.rssKb))} MB.`);
  L.push(`- The query inside, in-process (\`store.summaries([1])\`, counts kept by triggers): **${fmt(c.query.medianMs, 3)} ms** median, first call ${fmt(c.query.firstMs, 3)} ms, max ${fmt(c.query.maxMs, 3)} ms; \`summaries()\` ${fmt(c.query.allMedianMs, 3)} ms.`, '');
  L.push('Time per claim: `bench/scale-probe.mjs claims` holds the lease and runs engine turns, each one `store.step()` — one transaction that records the previous message\'s answer and claims the next recipient. "Synced" is the store as shipped (WAL, synchronous=FULL); "SQL only" sets synchronous=OFF on the probe\'s connection.', '');
  L.push('| recipients | synced µs (p90) | SQL only µs (p90) |', '|---:|---:|---:|');
  for (const x of c.claims) L.push(`| ${x.n.toLocaleString('en')} | ${fmt(x.syncUs)} (${fmt(x.syncP90Us)}) | ${fmt(x.nosyncUs)} (${fmt(x.nosyncP90Us)}) |`);
  L.push('');
  return L;
}

// Scale on PostgreSQL (issue 9): import of 1,000,000 rows (COPY), `status --json` at 1,000,000
// recipients, and the time per claim at 10,000 and 1,000,000 recipients, on the durable server.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fmt, mb, median } from '../harness.mjs';
import { BENCH, measure } from '../lib.mjs';

export const title = 'Scale on PostgreSQL';

export async function run(h) {
  const P = h.P;
  const pg = await h.pg();
  const rows = P.pgRows;
  h.log(`pg-scale: imports into PostgreSQL (growth, then ${rows}), status and claims at ${P.pgSizes.join(', ')}`);
  // How one import's time grows with its rows: doubling sizes first. Only when it grows about
  // linearly is the full import tried (with a time cap): one that grows with the square would take
  // hours at 1,000,000.
  const importOnce = async (n, timeoutMs) => {
    const csv = h.path(`pg-import-${n}.csv`);
    execFileSync(h.NODE, [BENCH('gen-csv.mjs'), String(n), csv]);
    const db = await pg.create(`pgimport_${n}`);
    h.buildDb(pg.url(db), 0, '--status', 'draft');
    const r = await measure(h.NODE, h.cli('--db', pg.url(db), 'import', '1', csv, '--json'), { timeoutMs });
    return { n, db, csv, r, killed: r.code !== 0 && r.wallMs >= timeoutMs };
  };
  const growth = [];
  for (const n of P.pgImportGrowth) {
    const { db, r } = await importOnce(n, 300_000);
    h.check(r, `pg import of ${n}`);
    growth.push({ n, ms: r.wallMs, cpuS: r.userS + r.sysS });
    h.log(`  import ${n}: ${fmt(r.wallMs)} ms (our process: ${fmt(r.userS + r.sysS, 1)} s CPU)`);
    await pg.drop(db);
  }
  const doubling = growth.length > 1 ? growth[growth.length - 1].ms / growth[growth.length - 2].ms : 2;
  const importLoad = h.noteLoad('pg import');
  let imp = null;
  let big;
  if (doubling < 2.6) {
    const one = await importOnce(rows, P.pgImportCapMs);
    if (one.killed) await pg.drop(one.db);
    else {
      h.check(one.r, 'pg import');
      const out = JSON.parse(one.r.stdout);
      if (out.imported !== rows) throw new Error(`pg import imported ${out.imported} of ${rows}`);
      big = one.db;
    }
    imp = { wallMs: one.r.wallMs, cpuS: one.r.userS + one.r.sysS, rssKb: one.r.maxRssKb, killed: one.killed, csvMiB: readFileSync(one.csv).length / 2 ** 20 };
    h.log(`  import ${rows}: ${one.killed ? `stopped after ${fmt(one.r.wallMs / 1000)} s` : `${fmt(one.r.wallMs / 1000, 1)} s`}; load ${importLoad}`);
  } else h.log(`  import ${rows}: not tried (time ×${fmt(doubling, 1)} per doubling)`);
  // The 1,000,000-recipient campaign for status and claims, built in small imports if need be.
  if (!big) {
    big = await pg.create('pgscale_big');
    h.buildDb(pg.url(big), rows, '--status', 'draft');
  }
  const start = h.check(await measure(h.NODE, h.cli('--db', pg.url(big), 'start', '1'), { timeV: false }), 'pg start');

  const statusLoad = h.noteLoad('pg status');
  const status = [];
  for (let i = 0; i < P.statusRuns; i++) status.push(h.check(await measure(h.NODE, h.cli('--db', pg.url(big), 'status', '--json'), { timeV: false }), 'pg status').wallMs);
  const node = [];
  for (let i = 0; i < P.statusRuns; i++) node.push((await measure(h.NODE, ['-e', '0'], { timeV: false })).wallMs);

  // Time per claim: the engine's step() on the durable server ("synced"), and with
  // synchronous_commit off for the database ("SQL only": the work that could grow with n).
  const dbs = {};
  for (const n of P.pgSizes) {
    if (n === rows) dbs[n] = big;
    else {
      dbs[n] = await pg.create(`pgscale_${n}`);
      h.buildDb(pg.url(dbs[n]), n);
    }
  }
  const claims = Object.fromEntries(P.pgSizes.map((n) => [n, { sync: [], nosync: [] }]));
  const claimLoad = h.noteLoad('pg claims');
  for (let round = 0; round < P.pgClaimRounds; round++) {
    for (const n of P.pgSizes) {
      for (const mode of ['sync', 'nosync']) {
        if (mode === 'nosync') await pg.admin.unsafe(`ALTER DATABASE "${dbs[n]}" SET synchronous_commit = off`);
        try {
          claims[n][mode].push(JSON.parse(execFileSync(h.NODE, [BENCH('scale-probe.mjs'), 'claims', pg.url(dbs[n]), String(P.pgClaimSteps)], { encoding: 'utf8' })));
        } finally {
          if (mode === 'nosync') await pg.admin.unsafe(`ALTER DATABASE "${dbs[n]}" RESET synchronous_commit`);
        }
      }
    }
  }
  for (const n of P.pgSizes) await pg.drop(dbs[n]);
  const sec = {
    rows,
    growth,
    doubling,
    capMs: P.pgImportCapMs,
    import: imp && { ...imp, load: importLoad },
    importLoad,
    startMs: start.wallMs,
    status: { ms: median(status), nodeMs: median(node), runs: P.statusRuns, load: statusLoad },
    claims: P.pgSizes.map((n) => ({
      n,
      syncUs: median(claims[n].sync.map((c) => c.medianUs)),
      syncP90Us: median(claims[n].sync.map((c) => c.p90Us)),
      nosyncUs: median(claims[n].nosync.map((c) => c.medianUs)),
      nosyncP90Us: median(claims[n].nosync.map((c) => c.p90Us)),
    })),
    claimLoad,
    steps: P.pgClaimSteps,
    rounds: P.pgClaimRounds,
  };
  for (const c of sec.claims) h.log(`  ${c.n}: step ${fmt(c.syncUs)} µs synced, ${fmt(c.nosyncUs)} µs without the flush`);
  h.log(`  status --json at ${rows}: ${fmt(sec.status.ms)} ms`);
  h.R.sections['pg-scale'] = sec;
}

export function summary(sec) {
  const first = sec.claims[0];
  const last = sec.claims[sec.claims.length - 1];
  return [
    { goal: 'I9', what: `PostgreSQL: import ${sec.rows.toLocaleString('en')} rows (COPY)`, target: '< 30 s', measured: importMeasured(sec), met: Boolean(sec.import && !sec.import.killed && sec.import.wallMs < 30_000), load: sec.importLoad },
    { goal: 'I9', what: `PostgreSQL: \`status --json\` at ${sec.rows.toLocaleString('en')} recipients (whole process)`, target: '< 500 ms', measured: `${fmt(sec.status.ms)} ms (node alone ${fmt(sec.status.nodeMs)} ms)`, met: sec.status.ms < 500, load: sec.status.load },
    {
      goal: 'I9',
      what: `PostgreSQL: time per claim, ${first.n.toLocaleString('en')} → ${last.n.toLocaleString('en')}`,
      target: 'O(log n)',
      measured: `${fmt(first.nosyncUs)} → ${fmt(last.nosyncUs)} µs SQL, ${fmt(first.syncUs)} → ${fmt(last.syncUs)} µs synced`,
      met: last.nosyncUs < first.nosyncUs * 3,
      load: sec.claimLoad,
    },
  ];
}

function importMeasured(sec) {
  const g = sec.growth.map((x) => `${x.n / 1000}k ${fmt(x.ms / 1000, 1)} s`).join(', ');
  if (!sec.import) return `not tried: ${g} (×${fmt(sec.doubling, 1)} per doubling)`;
  if (sec.import.killed) return `stopped at the ${fmt(sec.capMs / 1000)} s cap (${g})`;
  return `${fmt(sec.import.wallMs / 1000, 1)} s, peak RSS ${fmt(mb(sec.import.rssKb))} MB`;
}

export function body(sec) {
  const L = [];
  L.push(`\`aremko-mail --db postgres://… import 1 <file> --json\` of \`bench/gen-csv.mjs\` files into an empty draft campaign, whole process. First doubling sizes, to see how one import's time grows with its rows:`, '');
  L.push('| rows | wall s | CPU s of the aremko-mail process |', '|---:|---:|---:|');
  for (const x of sec.growth) L.push(`| ${x.n.toLocaleString('en')} | ${fmt(x.ms / 1000, 1)} | ${fmt(x.cpuS, 1)} |`);
  L.push('');
  if (!sec.import) L.push(`Time ×${fmt(sec.doubling, 1)} per doubling of the rows: the ${sec.rows.toLocaleString('en')}-row import was not tried (at that growth it would take hours; the time is spent inside PostgreSQL, not in our process). The campaign below was built in imports of 1,000 rows.`, '');
  else if (sec.import.killed) L.push(`The ${sec.rows.toLocaleString('en')}-row import was stopped at the ${fmt(sec.capMs / 1000)} s cap. The campaign below was built in imports of 1,000 rows.`, '');
  else L.push(`${sec.rows.toLocaleString('en')} rows (${fmt(sec.import.csvMiB, 1)} MiB): **${fmt(sec.import.wallMs / 1000, 1)} s** (${fmt(sec.rows / (sec.import.wallMs / 1000))} rows/s), CPU ${fmt(sec.import.cpuS, 1)} s, peak RSS ${fmt(mb(sec.import.rssKb))} MB.`, '');
  L.push(`\`start 1\` on the ${sec.rows.toLocaleString('en')}-recipient campaign: ${fmt(sec.startMs)} ms.`, '');
  L.push(`\`status --json\` at ${sec.rows.toLocaleString('en')} recipients, whole process: **${fmt(sec.status.ms)} ms** (median of ${sec.status.runs}; \`node -e 0\` ${fmt(sec.status.nodeMs)} ms in the same minute).`, '');
  L.push(`Time per claim: \`bench/scale-probe.mjs claims\` joins as a runner and runs ${sec.steps} engine steps (\`store.step()\`: record the previous answer, claim the next recipient, one transaction) per database; "synced" on the durable server, "SQL only" with \`synchronous_commit = off\` for that database. Medians of ${sec.rounds} round(s).`, '');
  L.push('| recipients | synced µs (p90) | SQL only µs (p90) |', '|---:|---:|---:|');
  for (const c of sec.claims) L.push(`| ${c.n.toLocaleString('en')} | ${fmt(c.syncUs)} (${fmt(c.syncP90Us)}) | ${fmt(c.nosyncUs)} (${fmt(c.nosyncP90Us)}) |`);
  L.push('');
  return L;
}

// Import of 1,000,000 CSV rows into SQLite (issue 5): wall time and peak RSS of the whole command.
import { copyFileSync, readFileSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { fmt, mb, median } from '../harness.mjs';
import { BENCH, measure } from '../lib.mjs';

export const title = 'Import';

export async function run(h) {
  const P = h.P;
  const rows = P.importRows;
  const csv = h.path(`import-${rows}.csv`);
  let t = performance.now();
  execFileSync(h.NODE, [BENCH('gen-csv.mjs'), String(rows), csv]);
  const genMs = performance.now() - t;
  const empty = h.path('import-empty.db');
  h.buildDb(empty, 0, '--status', 'draft');
  h.log(`import: ${rows} rows (${fmt(readFileSync(csv).length / 2 ** 20, 1)} MiB CSV, made in ${fmt(genMs)} ms), ${P.importRuns} run(s)`);
  const runs = [];
  for (let i = 0; i < P.importRuns; i++) {
    const path = h.path(`import-${i}.db`);
    copyFileSync(empty, path);
    const load = h.noteLoad(`import run ${i + 1}`);
    const r = h.check(await measure(h.NODE, h.cli('--db', path, 'import', '1', csv, '--json')), 'import');
    const out = JSON.parse(r.stdout);
    if (out.imported !== rows) throw new Error(`import imported ${out.imported} of ${rows}`);
    runs.push({ ...r, load });
    h.log(`  run ${i + 1}: ${fmt(r.wallMs / 1000, 1)} s, peak RSS ${fmt(mb(r.maxRssKb))} MB, CPU ${fmt(r.userS + r.sysS, 1)} s, load ${load}`);
    if (i < P.importRuns - 1) rmSync(path);
    else h.R.importedDb = path;
  }
  h.R.sections.import = {
    rows,
    csvMiB: readFileSync(csv).length / 2 ** 20,
    runs,
    wallMs: median(runs.map((r) => r.wallMs)),
    rssKb: median(runs.map((r) => r.maxRssKb)),
    maxRssKb: Math.max(...runs.map((r) => r.maxRssKb)),
  };
}

export function summary(i) {
  const load = i.runs.map((r) => r.load.split(' ')[0]).join('/');
  return [
    { goal: 'I5', what: `SQLite: import ${i.rows.toLocaleString('en')} rows, wall time`, target: '< 30 s', measured: `${fmt(i.wallMs / 1000, 1)} s`, met: i.wallMs < 30_000, load },
    { goal: 'I5', what: 'SQLite: import, peak RSS', target: '< 200 MB', measured: `${fmt(mb(i.maxRssKb))} MB (max of ${i.runs.length})`, met: mb(i.maxRssKb) < 200, load },
  ];
}

export function body(i) {
  const L = [];
  L.push(`\`aremko-mail import 1 <file> --json\` of a ${fmt(i.csvMiB, 1)} MiB CSV with ${i.rows.toLocaleString('en')} rows (\`bench/gen-csv.mjs\`: UTF-8, accented names, quoted fields) into an empty draft campaign, under \`/usr/bin/time -v\`.`, '');
  L.push('| run | wall s | CPU s (user+sys) | peak RSS MB | load |', '|---:|---:|---:|---:|---|');
  i.runs.forEach((r, k) => L.push(`| ${k + 1} | ${fmt(r.wallMs / 1000, 1)} | ${fmt(r.userS + r.sysS, 1)} | ${fmt(mb(r.maxRssKb))} | ${r.load} |`));
  L.push('', `Median ${fmt(i.wallMs / 1000, 1)} s (${fmt(i.rows / (i.wallMs / 1000))} rows/s), peak RSS ${fmt(mb(i.rssKb))} MB (max ${fmt(mb(i.maxRssKb))} MB).`, '');
  return L;
}

// CPU profiles of whole processes (node --cpu-prof), summarised: the engine and plain nodemailer
// sending the same messages, and an import.
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fmt } from '../harness.mjs';
import { BENCH, measure } from '../lib.mjs';
import { markdown as profileMarkdown, summarise } from '../profile-summary.mjs';
import { engineRun, plainRun } from './throughput.mjs';

export const title = 'Profiles';

export async function run(h, { sink }) {
  const P = h.P;
  h.log(`profile: node --cpu-prof of run (${P.profileN} messages), plain nodemailer, import (${P.profileRows} rows)`);
  const template = h.path('prof-template.db');
  const baseline = h.path('prof-baseline.json');
  h.buildDb(template, P.profileN, '--baseline-json', baseline);
  const out = {};
  const prof = async (name, fn) => {
    const dir = h.path(`prof-${name}`);
    await fn(['--cpu-prof', `--cpu-prof-dir=${dir}`]);
    // The main thread's profile (thread 0): the engine runs on it, store included.
    const files = readdirSync(dir).sort();
    out[name] = summarise(join(dir, files.find((f) => /\.\d+\.0\.\d+\.cpuprofile$/.test(f)) ?? files[0]), 15);
  };
  await prof('engine', (nodeArgs) => engineRun(h, template, h.path('prof-engine.db'), `smtp://127.0.0.1:${sink.port}?pool=5`, { nodeArgs, timeV: false }));
  await prof('plain', (nodeArgs) => plainRun(h, sink, baseline, 5, { nodeArgs }));
  const csv = h.path(`prof-${P.profileRows}.csv`);
  execFileSync(h.NODE, [BENCH('gen-csv.mjs'), String(P.profileRows), csv]);
  h.buildDb(h.path('prof-import.db'), 0, '--status', 'draft');
  await prof('import', async (nodeArgs) => h.check(await measure(h.NODE, [...nodeArgs, ...h.cli('--db', h.path('prof-import.db'), 'import', '1', csv, '--json')], { timeV: false }), 'import profiled'));
  h.R.sections.profile = { profiles: out, n: P.profileN, rows: P.profileRows };
}

export function summary() {
  return [];
}

export function body(s) {
  const L = ["`node --cpu-prof` (1 ms sampling) of whole processes (the main thread), summarised by `bench/profile-summary.mjs` (self time).", ''];
  const titles = { engine: `\`aremko-mail run\`, ${s.n} messages, pool 5 (main thread)`, plain: `plain nodemailer, ${s.n} messages`, import: `\`aremko-mail import\`, ${s.rows.toLocaleString('en')} rows` };
  for (const [k, v] of Object.entries(s.profiles)) L.push(`### ${titles[k]}`, '', profileMarkdown(v, `${fmt(v.totalMs)} ms sampled`).replace(/: \d+ ms sampled$/m, ''), '');
  return L;
}

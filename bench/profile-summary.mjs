#!/usr/bin/env node
// Summarises a V8 .cpuprofile (node --cpu-prof): top functions by self time, and self time by
// package (node_modules/<pkg>, dist/<dir>, node: internals, native/GC).
//   node bench/profile-summary.mjs <file.cpuprofile> [top=15]    prints markdown
// Also importable: summarise(path, top) → { totalMs, functions: [...], packages: [...] }.
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

export function packageOf(url) {
  if (!url) return '(native/V8)';
  if (url.startsWith('node:')) return 'node: internals';
  const nm = url.lastIndexOf('/node_modules/');
  if (nm !== -1) {
    const rest = url.slice(nm + 14).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  const d = /\/dist\/(.+)$/.exec(url);
  if (d) return `aremko-mail ${d[1]}`;
  const b = /\/bench\/(.+)$/.exec(url);
  if (b) return `bench/${b[1]}`;
  return url;
}

export function summarise(file, top = 15) {
  const p = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map();
  // timeDeltas[i] is the time before samples[i]
  for (let i = 0; i < p.samples.length; i++) {
    const dt = p.timeDeltas[i] ?? 0;
    self.set(p.samples[i], (self.get(p.samples[i]) ?? 0) + dt);
  }
  const totalUs = [...self.values()].reduce((a, b) => a + b, 0);
  const fn = new Map();
  const pkg = new Map();
  for (const [id, us] of self) {
    const n = byId.get(id);
    const cf = n.callFrame;
    const name = cf.functionName || '(anonymous)';
    const where = cf.url ? `${cf.url.replace(/^.*\/(node_modules|dist)\//, '$1/').replace(/^file:\/\/.*\/bench\//, 'bench/')}:${cf.lineNumber + 1}` : '';
    const key = `${name} ${where}`.trim();
    fn.set(key, (fn.get(key) ?? 0) + us);
    const k = ['(idle)', '(program)', '(garbage collector)'].includes(name) ? name : packageOf(cf.url);
    pkg.set(k, (pkg.get(k) ?? 0) + us);
  }
  const rows = (m) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, us]) => ({ name: k, ms: us / 1000, pct: (100 * us) / totalUs }));
  return { totalMs: totalUs / 1000, functions: rows(fn), packages: rows(pkg) };
}

export function markdown(s, title = 'profile') {
  const out = [`${title}: ${s.totalMs.toFixed(0)} ms sampled`, '', '| self ms | % | function |', '|---:|---:|---|'];
  for (const r of s.functions) out.push(`| ${r.ms.toFixed(0)} | ${r.pct.toFixed(1)} | \`${r.name}\` |`);
  out.push('', '| self ms | % | package |', '|---:|---:|---|');
  for (const r of s.packages) out.push(`| ${r.ms.toFixed(0)} | ${r.pct.toFixed(1)} | ${r.name} |`);
  return out.join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [file, top] = process.argv.slice(2);
  process.stdout.write(markdown(summarise(file, Number(top ?? 15)), file) + '\n');
}

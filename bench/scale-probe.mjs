#!/usr/bin/env node
// In-process timings on a benchmark database (run in its own process by run.mjs).
// <db> is a SQLite file or a postgres:// URL.
//   node bench/scale-probe.mjs summaries <db> [repeat=30]
//       times store.summaries([1]) and store.summaries() (what `status` runs); JSON out.
//   node bench/scale-probe.mjs claims <db> <steps> [--nosync]
//       joins as a runner and runs <steps> engine turns, each one store.step() = one commit that
//       records the previous claim's answer (sent, with its attempt row) and claims the next
//       recipient. --nosync sets synchronous=OFF on this connection (SQLite), leaving only the SQL
//       work (the O(log n) part) without the disk flush; on PostgreSQL the caller sets
//       synchronous_commit off for the database instead. JSON out: per-step µs (median, p90, mean).
import { DIST, median } from './lib.mjs';

const [mode, db, countArg, flag] = process.argv.slice(2);
const { openStore } = await import(DIST('core/store/open.js'));
const store = await openStore(db, { mustExist: true });
const out = {};

if (mode === 'summaries') {
  const repeat = Number(countArg ?? 30);
  const one = [];
  const all = [];
  for (let i = 0; i < repeat; i++) {
    let t = process.hrtime.bigint();
    await store.summaries([1]);
    one.push(Number(process.hrtime.bigint() - t) / 1e6);
    t = process.hrtime.bigint();
    await store.summaries();
    all.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  Object.assign(out, { firstMs: one[0], medianMs: median(one), maxMs: Math.max(...one), allMedianMs: median(all), repeat });
} else if (mode === 'claims') {
  const steps = Number(countArg);
  if (flag === '--nosync' && store.raw) store.raw.pragma('synchronous = OFF');
  const owner = { host: 'bench', pid: process.pid, token: 'bench-' + process.pid };
  await store.joinCampaign(1, owner, Date.now(), 600_000, []);
  let pending = [];
  const times = [];
  const total = (await store.summaries([1]))[0].counts.total;
  for (let i = 0; i < steps; i++) {
    const now = Date.now();
    const t = process.hrtime.bigint();
    const r = await store.step(1, owner.token, now, pending, 1);
    times.push(Number(process.hrtime.bigint() - t) / 1000);
    if (r.claim?.kind !== 'claimed') throw new Error(`claim ${i}: ${r.claim?.kind}`);
    const rec = r.claim.recipients[0];
    pending = [{ recipientId: rec.id, outcome: 'sent', at: now, detail: '250 OK: queued', messageId: `<bench.${rec.id}@aremko.cl>` }];
  }
  await store.step(1, owner.token, Date.now(), pending, 0);
  await store.leaveCampaign(1, owner.token, Date.now(), []);
  times.sort((a, b) => a - b);
  Object.assign(out, {
    recipients: total,
    steps,
    sync: flag !== '--nosync',
    medianUs: median(times),
    p90Us: times[Math.floor(times.length * 0.9)],
    meanUs: times.reduce((a, b) => a + b, 0) / times.length,
  });
} else {
  process.stderr.write('usage: scale-probe.mjs summaries <db> [n] | claims <db> <steps> [--nosync]\n');
  process.exit(2);
}
await store.close();
process.stdout.write(JSON.stringify(out) + '\n');

#!/usr/bin/env node
// Builds a benchmark database: one campaign (the demo's message, one open batch, interval 0) with
// N pending recipients, then started. On SQLite the rows go straight through the store's
// connection (the count triggers fire as on import); on PostgreSQL (a postgres:// URL) through
// the store's import session (COPY). Prints {"id", "ms"} as JSON.
//   node bench/build-db.mjs <db file or postgres url> <recipients> [--status sending|draft|paused] [--rate <n>/<seconds>]
//                            [--baseline-json <file>]   also write {campaign, recipients} for plain-nodemailer.mjs
//                            [--light]   a short html message with its own text part (no html-to-text per message)
//                            [--chunk 1000]   PostgreSQL: recipients per import
//                            [--at <epoch ms>]   created and started then (default now)
import { rmSync, writeFileSync } from 'node:fs';
import { benchSettings, DIST, person } from './lib.mjs';

const args = process.argv.slice(2);
const opt = (name) => {
  const i = args.indexOf(name);
  return i === -1 ? undefined : args.splice(i, 2)[1];
};
const status = opt('--status') ?? 'sending';
const rate = opt('--rate');
const baselineJson = opt('--baseline-json');
const light = args.includes('--light') ? (args.splice(args.indexOf('--light'), 1), true) : false;
const CHUNK = Number(opt('--chunk') ?? 1000);
const atArg = opt('--at');
const [db, nArg] = args;
const n = Number(nArg);
if (!db || !Number.isInteger(n) || n < 0) {
  process.stderr.write('usage: node bench/build-db.mjs <db> <recipients> [--status s] [--rate n/s] [--baseline-json f]\n');
  process.exit(2);
}

const t0 = performance.now();
const postgres = /^postgres(ql)?:\/\//i.test(db);
if (!postgres) for (const suffix of ['', '-wal', '-shm']) rmSync(db + suffix, { force: true });
const { openStore } = await import(DIST('core/store/open.js'));
const store = await openStore(db);
const settings = await benchSettings({
  ...(rate && { rate: { count: Number(rate.split('/')[0]), windowSeconds: Number(rate.split('/')[1]) } }),
  ...(light && {
    html: '<p>Hola {{nombre}}, te esperamos en Aremko Spa.</p><p><a href="{{unsubscribe_url}}">No quiero recibir más correos</a></p>',
    text: 'Hola {{nombre}}, te esperamos en Aremko Spa.\n\nNo quiero recibir más correos: {{unsubscribe_url}}\n',
  }),
});
const now = atArg ? Number(atArg) : Date.now();
const c = await store.createCampaign(settings, now);
if (postgres) {
  // In imports of CHUNK rows: one import's cost on PostgreSQL grows with the square of its rows
  // (bench/RESULTS.md, scale on PostgreSQL), and this fixture is not what is measured.
  for (let from = 1; from <= n; from += CHUNK) {
    const session = await store.beginImport(c.id);
    const rows = [];
    for (let i = from; i <= Math.min(n, from + CHUNK - 1); i++) {
      const p = person(i);
      rows.push({ line: i + 1, email: p.email, fields: p.fields });
    }
    await session.add(rows);
    await session.commit();
  }
} else {
  const raw = store.raw;
  // Bulk load: no per-transaction sync needed while building the fixture.
  raw.pragma('synchronous = OFF');
  const insert = raw.prepare(`INSERT INTO recipients (campaign_id, email, status, fields) VALUES (?, ?, 'pending', ?)`);
  const chunk = raw.transaction((from, to) => {
    for (let i = from; i <= to; i++) {
      const p = person(i);
      insert.run(c.id, p.email, JSON.stringify(p.fields));
    }
  });
  for (let from = 1; from <= n; from += 50_000) chunk(from, Math.min(n, from + 49_999));
  raw.pragma('synchronous = FULL');
}
if (status !== 'draft') await store.transition(c.id, ['draft'], 'sending', now);
if (status === 'paused') await store.transition(c.id, ['sending'], 'paused', now);
if (!postgres) store.raw.pragma('wal_checkpoint(TRUNCATE)');
if (baselineJson) {
  const campaign = await store.getCampaign(c.id);
  const recipients = [];
  for await (const r of store.iterateRecipients(c.id)) recipients.push({ id: r.id, email: r.email, fields: r.fields });
  writeFileSync(baselineJson, JSON.stringify({ campaign, recipients }));
}
await store.close();
process.stdout.write(JSON.stringify({ id: c.id, ms: Math.round(performance.now() - t0) }) + '\n');

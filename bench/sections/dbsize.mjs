// Database size and the log at scale (issue 10, goal 4): a 1,000,000-recipient campaign sent,
// bytes per recipient with and without its log rows, `logs` and the TUI's log read at that size,
// and `prune` removing the log without touching recipients. SQLite at 1,000,000; PostgreSQL at
// 50,000 (building a sent campaign there costs ~1 ms a recipient, more than the time budget allows
// at 1,000,000).
import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { Database, fmt, median } from '../harness.mjs';
import { BENCH, DIST, measure, pgAdmin } from '../lib.mjs';

export const title = 'Database size and the log at 1,000,000 sends';
const DAY = 86_400_000;
/** What `logs` and the TUI's log must stay under at this size: the same bound as `status` at 1,000,000. */
const LOG_TARGET_MS = 500;

/** Bytes of each table and index of a SQLite file (the dbstat virtual table). */
function sqliteSizes(path) {
  const d = new Database(path, { readonly: true });
  try {
    const pageSize = d.pragma('page_size', { simple: true });
    const pages = d.pragma('page_count', { simple: true });
    const free = d.pragma('freelist_count', { simple: true });
    const objects = Object.fromEntries(d.prepare(`SELECT name, sum(pgsize) AS bytes FROM dbstat GROUP BY name`).all().map((r) => [r.name, r.bytes]));
    const tableOf = Object.fromEntries(d.prepare(`SELECT name, tbl_name FROM sqlite_master WHERE type IN ('table', 'index')`).all().map((r) => [r.name, r.tbl_name]));
    const byTable = {};
    for (const [name, bytes] of Object.entries(objects)) {
      const t = tableOf[name] ?? (name.startsWith('sqlite_autoindex_') ? name.replace(/^sqlite_autoindex_(.+)_\d+$/, '$1') : name);
      byTable[t] = (byTable[t] ?? 0) + bytes;
    }
    return { fileBytes: pageSize * pages, freeBytes: pageSize * free, byTable };
  } finally {
    d.close();
  }
}

async function timeLogs(h, location, runs) {
  const text = [];
  const json = [];
  for (let i = 0; i < runs; i++) {
    text.push(h.check(await measure(h.NODE, h.cli('--db', location, 'logs', '1', '--limit', '50'), { timeV: false }), 'logs').wallMs);
    json.push(h.check(await measure(h.NODE, h.cli('--db', location, 'logs', '1', '--json', '--limit', '50'), { timeV: false }), 'logs --json').wallMs);
  }
  return { textMs: median(text), jsonMs: median(json) };
}

/** The reads the TUI makes at this size, in-process: its log (the newest 200 lines) and one recipient's history. */
async function timeTuiReads(location, recipientId) {
  const { openStore } = await import(DIST('core/store/open.js'));
  const store = await openStore(location, { mustExist: true });
  try {
    const log = [];
    const history = [];
    for (let i = 0; i < 20; i++) {
      let t = process.hrtime.bigint();
      const rows = await store.listEvents(1, { limit: 200 });
      log.push(Number(process.hrtime.bigint() - t) / 1e6);
      if (rows.length !== 200) throw new Error(`TUI log read: ${rows.length} rows`);
      t = process.hrtime.bigint();
      await store.recipientHistory(1, recipientId + i);
      history.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
    return { logMs: median(log), logFirstMs: log[0], historyMs: median(history), historyFirstMs: history[0] };
  } finally {
    await store.close();
  }
}

async function sqlite(h) {
  const N = h.P.dbsizeN;
  const path = h.path('dbsize.db');
  // Created, started and sent 100 days ago, through the store's own step(), as the engine records sends.
  const at = Date.now() - 100 * DAY;
  h.buildDb(path, N, '--at', String(at));
  const sent = JSON.parse(execFileSync(h.NODE, [BENCH('send-all.mjs'), path, String(at), '--nosync'], { encoding: 'utf8' }));
  if (sent.sent !== N) throw new Error(`send-all: ${JSON.stringify(sent)}`);
  const d = new Database(path);
  d.pragma('wal_checkpoint(TRUNCATE)');
  const events = d.prepare('SELECT count(*) AS n FROM events').get().n;
  d.close();
  const before = sqliteSizes(path);
  const load = h.noteLoad('dbsize sqlite');
  const logs = await timeLogs(h, path, h.P.logsRuns);
  const tui = await timeTuiReads(path, Math.floor(N / 2));
  const prune = h.check(await measure(h.NODE, h.cli('--db', path, 'prune', '--older-than', '90d', '--json')), 'prune');
  const pruned = JSON.parse(prune.stdout).pruned;
  const after = sqliteSizes(path);
  const d2 = new Database(path);
  d2.pragma('wal_checkpoint(TRUNCATE)');
  d2.exec('VACUUM');
  d2.close();
  const vacuumed = sqliteSizes(path);
  const status = h.check(await measure(h.NODE, h.cli('--db', path, 'status', '1', '--json'), { timeV: false }), 'status after prune');
  const counts = JSON.parse(status.stdout).counts;
  if (counts.sent !== N) throw new Error(`after prune: ${JSON.stringify(counts)}`);
  return { N, buildMs: sent.ms, events, before, after, vacuumed, fileAfterPrune: statSync(path).size, logs, tui, prune: { ms: prune.wallMs, pruned, rssKb: prune.maxRssKb }, load };
}

async function postgres(h) {
  const N = h.P.pgDbsizeN;
  const pg = await h.pg();
  const db = await pg.create('dbsize');
  const url = pg.url(db);
  const at = Date.now() - 100 * DAY;
  h.buildDb(url, N, '--at', String(at));
  // Building the fixture needs no flush per step (it is not what is measured).
  await pg.admin.unsafe(`ALTER DATABASE "${db}" SET synchronous_commit = off`);
  const sent = JSON.parse(execFileSync(h.NODE, [BENCH('send-all.mjs'), url, String(at)], { encoding: 'utf8' }));
  await pg.admin.unsafe(`ALTER DATABASE "${db}" RESET synchronous_commit`);
  if (sent.sent !== N) throw new Error(`send-all on postgres: ${JSON.stringify(sent)}`);
  const sql = await pgAdmin(url);
  const sizes = async () => {
    await sql`VACUUM ANALYZE`;
    const rows = await sql`
      SELECT c.relname AS name, pg_total_relation_size(c.oid)::float8 AS bytes
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'aremko_mail' AND c.relkind = 'r'`;
    return Object.fromEntries(rows.map((r) => [r.name, r.bytes]));
  };
  try {
    const [{ n: events }] = await sql`SELECT count(*)::int AS n FROM aremko_mail.events`;
    const before = await sizes();
    const load = h.noteLoad('dbsize postgres');
    const logs = await timeLogs(h, url, h.P.logsRuns);
    const tui = await timeTuiReads(url, Math.floor(N / 2));
    const prune = h.check(await measure(h.NODE, h.cli('--db', url, 'prune', '--older-than', '90d', '--json')), 'prune on postgres');
    const pruned = JSON.parse(prune.stdout).pruned;
    const after = await sizes();
    await sql`VACUUM FULL`;
    const full = await sizes();
    return { N, buildMs: sent.ms, events, before, after, full, logs, tui, prune: { ms: prune.wallMs, pruned }, load };
  } finally {
    await sql.end({ timeout: 5 });
    await pg.drop(db);
  }
}

export async function run(h) {
  h.log(`dbsize: ${h.P.dbsizeN} recipients sent (SQLite), sizes, logs and the TUI's reads, prune; then PostgreSQL (${h.P.pgDbsizeN})`);
  const sec = { sqlite: await sqlite(h) };
  const s = sec.sqlite;
  h.log(`  sqlite: ${fmt(s.before.fileBytes / s.N)} B/recipient with the log, ${fmt((s.before.fileBytes - (s.before.byTable.events ?? 0)) / s.N)} without; logs ${fmt(s.logs.textMs)} ms; prune ${fmt(s.prune.ms)} ms (${s.prune.pruned} rows)`);
  try {
    sec.postgres = await postgres(h);
    const p = sec.postgres;
    const total = Object.values(p.before).reduce((a, b) => a + b, 0);
    h.log(`  postgres: ${fmt(total / p.N)} B/recipient with the log, ${fmt((total - p.before.events) / p.N)} without; logs ${fmt(p.logs.textMs)} ms; prune ${fmt(p.prune.ms)} ms`);
  } catch (err) {
    sec.postgresSkipped = String(err.message ?? err);
    h.log(`  postgres skipped: ${sec.postgresSkipped}`);
  }
  h.R.sections.dbsize = sec;
}

const perRecipient = (bytes, n) => `${fmt(bytes / n)} B`;

export function summary(sec) {
  const s = sec.sqlite;
  const events = s.before.byTable.events ?? 0;
  const rows = [
    { goal: 'I10.4', what: `SQLite: bytes per recipient, ${s.N.toLocaleString('en')} sent, with / without the log`, target: 'reported', measured: `${perRecipient(s.before.fileBytes, s.N)} / ${perRecipient(s.before.fileBytes - events, s.N)} (after prune + VACUUM: ${perRecipient(s.vacuumed.fileBytes, s.N)})`, met: null, load: s.load },
    { goal: 'I10.4', what: `SQLite: \`logs 1 --limit 50\` / \`--json\` at ${s.N.toLocaleString('en')} sends (whole process)`, target: `< ${LOG_TARGET_MS} ms`, measured: `${fmt(s.logs.textMs)} / ${fmt(s.logs.jsonMs)} ms`, met: Math.max(s.logs.textMs, s.logs.jsonMs) < LOG_TARGET_MS, load: s.load },
    { goal: 'I10.4', what: "SQLite: the TUI's log read (newest 200) / a recipient's history, in-process", target: '< 100 ms', measured: `${fmt(s.tui.logMs, 2)} / ${fmt(s.tui.historyMs, 2)} ms`, met: Math.max(s.tui.logMs, s.tui.historyMs, s.tui.logFirstMs) < 100, load: s.load },
    { goal: 'I10.4', what: `SQLite: \`prune --older-than 90d\` of ${s.prune.pruned.toLocaleString('en')} log rows; recipients intact`, target: 'recipients untouched', measured: `${fmt(s.prune.ms / 1000, 1)} s; ${s.N.toLocaleString('en')} still sent`, met: true, load: s.load },
  ];
  if (sec.postgres) {
    const p = sec.postgres;
    const total = Object.values(p.before).reduce((a, b) => a + b, 0);
    rows.push(
      { goal: 'I10.4', what: `PostgreSQL: bytes per recipient, ${p.N.toLocaleString('en')} sent, with / without the log`, target: 'reported', measured: `${perRecipient(total, p.N)} / ${perRecipient(total - p.before.events, p.N)} (after prune + VACUUM FULL: ${perRecipient(Object.values(p.full).reduce((a, b) => a + b, 0), p.N)})`, met: null, load: p.load },
      { goal: 'I10.4', what: `PostgreSQL: \`logs 1 --limit 50\` / \`--json\` at ${p.N.toLocaleString('en')} sends`, target: `< ${LOG_TARGET_MS} ms`, measured: `${fmt(p.logs.textMs)} / ${fmt(p.logs.jsonMs)} ms`, met: Math.max(p.logs.textMs, p.logs.jsonMs) < LOG_TARGET_MS, load: p.load },
      { goal: 'I10.4', what: "PostgreSQL: the TUI's log read / a recipient's history, in-process", target: '< 100 ms', measured: `${fmt(p.tui.logMs, 2)} / ${fmt(p.tui.historyMs, 2)} ms`, met: Math.max(p.tui.logMs, p.tui.historyMs) < 100, load: p.load },
    );
  }
  return rows;
}

export function body(sec) {
  const L = [];
  const s = sec.sqlite;
  L.push(`A campaign of ${s.N.toLocaleString('en')} recipients (\`bench/build-db.mjs\`: the demo's fields) is sent through the store's own \`step()\` — the engine's unit: claim, then record \`sent\` with the server's reply and the Message-ID, one attempt row per send in the log — 500 recipients a step, dated 100 days ago (\`bench/send-all.mjs\`; no SMTP: what is measured is the database, ${fmt(s.buildMs / 1000, 1)} s to build). Sizes from SQLite's dbstat (every table with its indexes), after a checkpoint.`, '');
  L.push('| | file | recipients | log (events) | other | free pages |', '|---|---:|---:|---:|---:|---:|');
  const row = (what, z) => {
    const rec = z.byTable.recipients ?? 0;
    const ev = z.byTable.events ?? 0;
    L.push(`| ${what} | ${fmt(z.fileBytes / 2 ** 20, 1)} MiB (${perRecipient(z.fileBytes, s.N)}/recipient) | ${fmt(rec / 2 ** 20, 1)} MiB (${perRecipient(rec, s.N)}) | ${fmt(ev / 2 ** 20, 1)} MiB (${perRecipient(ev, s.N)}) | ${fmt((z.fileBytes - rec - ev - z.freeBytes) / 2 ** 20, 1)} MiB | ${fmt(z.freeBytes / 2 ** 20, 1)} MiB |`);
  };
  row(`sent (${s.events.toLocaleString('en')} log rows)`, s.before);
  row('after `prune --older-than 90d`', s.after);
  row('after VACUUM', s.vacuumed);
  L.push('');
  L.push(`At that size: \`logs 1 --limit 50\` ${fmt(s.logs.textMs)} ms, \`logs 1 --json --limit 50\` ${fmt(s.logs.jsonMs)} ms (whole process, medians); the TUI's log read (\`listEvents(1, {limit: 200})\`) ${fmt(s.tui.logMs, 2)} ms (first ${fmt(s.tui.logFirstMs, 2)} ms), a recipient's history ${fmt(s.tui.historyMs, 2)} ms (first ${fmt(s.tui.historyFirstMs, 2)} ms). \`prune --older-than 90d\` deleted ${s.prune.pruned.toLocaleString('en')} rows in ${fmt(s.prune.ms / 1000, 1)} s (whole process); every recipient stayed \`sent\`. The freed pages are reused by later rows; VACUUM gives them back to the file system.`, '');
  if (sec.postgres) {
    const p = sec.postgres;
    const names = [...new Set([...Object.keys(p.before)])].sort();
    L.push(`PostgreSQL, the same ${p.N.toLocaleString('en')}-recipient campaign sent the same way (${fmt(p.buildMs / 1000, 1)} s): \`pg_total_relation_size\` of each table (with its indexes and TOAST), after VACUUM ANALYZE (dead row versions left by the updates are free space inside the files, counted here; VACUUM FULL compacts them).`, '');
    L.push('| table | sent | after prune | after VACUUM FULL |', '|---|---:|---:|---:|');
    for (const n of names) L.push(`| ${n} | ${fmt(p.before[n] / 2 ** 20, 1)} MiB | ${fmt(p.after[n] / 2 ** 20, 1)} MiB | ${fmt(p.full[n] / 2 ** 20, 1)} MiB |`);
    const total = (z) => Object.values(z).reduce((a, b) => a + b, 0);
    L.push(`| **all** | ${fmt(total(p.before) / 2 ** 20, 1)} MiB (${perRecipient(total(p.before), p.N)}/recipient) | ${fmt(total(p.after) / 2 ** 20, 1)} MiB | ${fmt(total(p.full) / 2 ** 20, 1)} MiB (${perRecipient(total(p.full), p.N)}) |`, '');
    L.push(`\`logs 1 --limit 50\` ${fmt(p.logs.textMs)} ms, \`--json\` ${fmt(p.logs.jsonMs)} ms; the TUI's log read ${fmt(p.tui.logMs, 2)} ms, a recipient's history ${fmt(p.tui.historyMs, 2)} ms; \`prune --older-than 90d\` ${p.prune.pruned.toLocaleString('en')} rows in ${fmt(p.prune.ms / 1000, 1)} s. PostgreSQL's (auto)vacuum makes freed space reusable; VACUUM FULL returns it to the file system.`, '');
  } else if (sec.postgresSkipped) L.push(`PostgreSQL: skipped (${sec.postgresSkipped}).`, '');
  return L;
}

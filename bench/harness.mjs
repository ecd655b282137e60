// What every benchmark section shares: the work folder with a snapshot of the built code, the
// sizes (full or --quick), the log, the load at each measurement, databases (SQLite files and a
// durable PostgreSQL server, started on first use), and running the CLI as a whole process.
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, copyFileSync, cpSync, fsyncSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, symlinkSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { join } from 'node:path';
import { BENCH, fmt, loadAvg, measure, median, pgAdmin, parentPidOf, pgDatabaseUrl, startDurablePg, treeCpuMsOf } from './lib.mjs';

const REPO = join(import.meta.dirname, '..');
const require = createRequire(join(REPO, 'package.json'));
export const Database = require('better-sqlite3');

/** Sizes of a full run and of --quick. */
export const SIZES = {
  full: {
    n: 2000, pairs: 3, pools: [1, 5, 10], pool1N: 800,
    pgN: 2000, pgPairs: 3, pgRelayPairs: 3,
    scaleoutN: 10000, scaleoutSeconds: 30, scaleoutWarmupSeconds: 5, scaleoutRounds: { 1: 3, 2: 1 },
    resendN: 3000, resendPairs: 3,
    importRows: 1_000_000, importRuns: 2,
    sizes: [10_000, 100_000, 1_000_000], claimSteps: 1000, claimRounds: 3,
    pgRows: 1_000_000, pgSizes: [10_000, 1_000_000], pgClaimSteps: 500, pgClaimRounds: 2, pgImportGrowth: [10_000, 20_000, 40_000], pgImportCapMs: 120_000,
    statusRuns: 10, memoryN: 200_000, startupRuns: 15, tuiSeconds: 30, profileN: 2000, profileRows: 200_000,
    dbsizeN: 1_000_000, pgDbsizeN: 50_000, logsRuns: 7,
  },
  quick: {
    n: 400, pairs: 2, pools: [1, 5, 10], pool1N: 150,
    pgN: 400, pgPairs: 2, pgRelayPairs: 1,
    scaleoutN: 2000, scaleoutSeconds: 6, scaleoutWarmupSeconds: 1.5, scaleoutRounds: { 1: 1, 2: 1 },
    resendN: 400, resendPairs: 2,
    importRows: 100_000, importRuns: 1,
    sizes: [10_000, 100_000], claimSteps: 300, claimRounds: 2,
    pgRows: 50_000, pgSizes: [10_000, 50_000], pgClaimSteps: 100, pgClaimRounds: 1, pgImportGrowth: [10_000, 20_000], pgImportCapMs: 20_000,
    statusRuns: 5, memoryN: 10_000, startupRuns: 7, tuiSeconds: 5, profileN: 500, profileRows: 50_000,
    dbsizeN: 50_000, pgDbsizeN: 5_000, logsRuns: 3,
  },
};

export function createHarness({ quick }) {
  const WORK = mkdtempSync(join(process.env.BENCH_DIR ?? os.tmpdir(), 'aremko-bench-'));
  process.env.BENCH_TMP = WORK;
  // A snapshot of the built code: a rebuild by someone else while the benchmark runs cannot
  // change what is measured. node_modules is linked; package.json is there for --version.
  const APP = join(WORK, 'app');
  mkdirSync(APP);
  cpSync(join(REPO, 'dist'), join(APP, 'dist'), { recursive: true });
  copyFileSync(join(REPO, 'package.json'), join(APP, 'package.json'));
  symlinkSync(join(REPO, 'node_modules'), join(APP, 'node_modules'));
  process.env.BENCH_ROOT = APP; // bench scripts import dist/ from here
  const bin = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')).bin['aremko-mail'];
  // The CLI reads these; the benchmark always passes --db and --transport itself.
  delete process.env.AREMKO_MAIL_DB;
  delete process.env.AREMKO_MAIL_TRANSPORT;
  delete process.env.AREMKO_MAIL_TRANSPORT_FILE;

  const started = Date.now();
  const R = { sections: {}, loads: [] };
  let pg = null;
  const h = {
    REPO,
    WORK,
    APP,
    QUICK: quick,
    P: quick ? SIZES.quick : SIZES.full,
    CLI: join(APP, bin),
    NODE: process.execPath,
    R,
    started,
    log: (m) => process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${m}\n`),
    /** Notes the load average now, under `what`; returns it. */
    noteLoad(what) {
      const load = loadAvg();
      R.loads.push({ what, load });
      return load;
    },
    path: (name) => join(WORK, name),
    cli: (...a) => [h.CLI, ...a],
    /** Runs the CLI as a whole process (wall time from here; CPU and peak RSS from /usr/bin/time). */
    run: (args, options) => measure(h.NODE, h.cli(...args), options),
    check(r, what) {
      if (r.code !== 0) throw new Error(`${what}: exit ${r.code}\n${r.stderr.slice(-2000)}`);
      return r;
    },
    /** bench/build-db.mjs: a campaign of n pending recipients (SQLite path or PostgreSQL URL). */
    buildDb(location, n, ...extra) {
      const out = execFileSync(h.NODE, [BENCH('build-db.mjs'), location, String(n), ...extra], { encoding: 'utf8', env: process.env, maxBuffer: 1 << 26 });
      return JSON.parse(out);
    },
    /** Status counts of campaign 1 in a SQLite file. */
    counts(path) {
      const d = new Database(path, { readonly: true, fileMustExist: true });
      try {
        const c = {};
        for (const r of d.prepare(`SELECT status, n FROM campaign_counts WHERE campaign_id = 1`).all()) c[r.status] = r.n;
        return c;
      } finally {
        d.close();
      }
    },
    /** The durable PostgreSQL server of this run (started on first use), with helpers. */
    async pg() {
      if (pg) return pg;
      h.log('postgres: starting a durable server (fsync on, synchronous_commit on)');
      const server = await startDurablePg(WORK);
      const admin = await pgAdmin(server.url);
      const [{ version }] = await admin`SELECT version()`;
      const settings = Object.fromEntries((await admin`SELECT name, setting FROM pg_settings WHERE name IN ('fsync', 'synchronous_commit', 'full_page_writes', 'wal_sync_method', 'shared_buffers')`).map((r) => [r.name, r.setting]));
      // The postmaster: the admin connection's backend is its child. Its process tree's CPU is the server's.
      const [{ backend }] = await admin`SELECT pg_backend_pid() AS backend`;
      const postmasterPid = parentPidOf(backend);
      let n = 0;
      pg = {
        server,
        version,
        settings,
        admin,
        /** CPU the server has used so far, in ms (all its processes, those ended included). */
        cpuMs: () => treeCpuMsOf(postmasterPid),
        /** The URL of database `name` on this server (the tool's tables in its default schema). */
        url: (name) => pgDatabaseUrl(server.url, name),
        /** A new empty database. */
        async create(prefix) {
          const name = `${prefix}_${++n}`;
          await admin.unsafe(`CREATE DATABASE "${name}"`);
          return name;
        },
        /** A copy of database `template` (PostgreSQL copies its files: no one may be connected to it). */
        async copy(template, prefix) {
          const name = `${prefix}_${++n}`;
          await admin.unsafe(`CREATE DATABASE "${name}" TEMPLATE "${template}"`);
          return name;
        },
        async drop(name) {
          await admin.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
        },
      };
      return pg;
    },
    async stopPg() {
      if (!pg) return;
      await pg.admin.end({ timeout: 5 }).catch(() => undefined);
      pg.server.stop();
      pg = null;
    },
  };
  return h;
}

/** The machine, the disk under the work folder and what one synced write costs on it. */
export function describeMachine(h) {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const model = /model name\s*:\s*(.+)/.exec(cpuinfo)?.[1]?.trim() ?? os.cpus()[0]?.model;
  const df = execFileSync('df', ['-PT', h.WORK], { encoding: 'utf8' }).trim().split('\n')[1].split(/\s+/);
  const dev = df[0].replace('/dev/', '');
  let rotational = '?';
  try {
    rotational = `queue/rotational=${readFileSync(`/sys/block/${dev.replace(/\d+$/, '')}/queue/rotational`, 'utf8').trim()}`;
  } catch {}
  const mem = new Database(':memory:');
  const sqlite = mem.prepare('SELECT sqlite_version() AS v').get().v;
  mem.close();
  // What one synced commit costs at least on this disk: write 4 KiB + fsync, 200 times.
  const f = join(h.WORK, 'fsync-probe');
  const fd = openSync(f, 'w');
  const buf = Buffer.alloc(4096, 1);
  const times = [];
  for (let i = 0; i < 200; i++) {
    const t = process.hrtime.bigint();
    writeSync(fd, buf, 0, buf.length, i * 4096);
    fsyncSync(fd);
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  closeSync(fd);
  rmSync(f);
  return {
    cpu: model,
    cores: os.cpus().length,
    memGiB: os.totalmem() / 2 ** 30,
    kernel: `${os.type()} ${os.release()}`,
    disk: `${df[0]} (${rotational}), ${df[1]}, mounted on ${df[6]}; work folder ${h.WORK}`,
    fsyncMs: median(times),
    node: process.version,
    sqlite,
    betterSqlite3: require('better-sqlite3/package.json').version,
    nodemailer: require('nodemailer/package.json').version,
    postgresJs: JSON.parse(readFileSync(join(REPO, 'node_modules/postgres/package.json'), 'utf8')).version,
    commit: spawnSync('git', ['-C', REPO, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).stdout.trim(),
    dirty: spawnSync('git', ['-C', REPO, 'status', '--porcelain', 'src'], { encoding: 'utf8' }).stdout.trim() !== '',
    uptime: execFileSync('uptime', { encoding: 'utf8' }).trim(),
  };
}

export const mb = (kb) => kb / 1024;
export const pctOf = (part, whole) => (100 * part) / whole;
export const cpuS = (r) => r.userS + r.sysS;
export const verdict = (ok) => (ok === null || ok === undefined ? '—' : ok ? '**met**' : '**NOT met**');
export { fmt, median };

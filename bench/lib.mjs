// Shared helpers for the benchmark scripts (plain Node ESM; they drive the built dist/).
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..');
/** Where dist/ is taken from: the repository, or the snapshot run.mjs makes (BENCH_ROOT). */
export const ROOT = process.env.BENCH_ROOT ?? REPO;
export const DIST = (p) => pathToFileURL(join(ROOT, 'dist', p)).href;
export const BENCH = (p) => join(REPO, 'bench', p);

/** Removes `name value` from a script's argument list and returns the value (or `dflt`). */
export function takeOption(args, name, dflt) {
  const i = args.indexOf(name);
  return i === -1 ? dflt : args.splice(i, 2)[1];
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export const fmt = (x, digits = 0) => (Number.isFinite(x) ? x.toFixed(digits) : String(x));

/** The settings of every benchmark campaign: the demo's realistic message, one open batch. */
export async function benchSettings(overrides = {}) {
  const { DEMO_SETTINGS } = await import(DIST('core/demo.js'));
  return { ...DEMO_SETTINGS, name: 'bench', batchSize: 1_000_000, intervalSeconds: 0, ...overrides };
}

const NOMBRES = ['José', 'María', 'Sofía', 'Matías', 'Martín', 'Ángela', 'Benjamín', 'Inés', 'Raúl', 'Catalina'];
const APELLIDOS = ['Muñoz', 'González', 'Pérez', 'Núñez', 'Ibáñez', 'Rodríguez', 'Solís', 'Peña', 'Díaz', 'Fuentes'];
const COMUNAS = ['Ñuñoa', 'Providencia', 'Peñalolén', 'Santiago, Centro', 'Concepción', 'Viña del Mar', 'Valparaíso'];

/** Recipient i (1-based) — the same person gen-csv.mjs writes on line i + 1. */
export function person(i) {
  return {
    email: `cliente${i}@example.cl`,
    fields: { email: `cliente${i}@example.cl`, nombre: NOMBRES[i % 10], apellido: APELLIDOS[(i * 7) % 10], comuna: COMUNAS[(i * 13) % 7] },
  };
}

/** Runs a command; resolves with wall time (ms, from the parent), exit code, output, and /usr/bin/time -v figures. */
export function measure(cmd, args, { env, timeV = true, stdout = 'pipe', onSpawn, timeoutMs = 20 * 60_000, cwd } = {}) {
  return new Promise((resolve, reject) => {
    const timeFile = join(process.env.BENCH_TMP ?? '/tmp', `time-${process.pid}-${Math.random().toString(36).slice(2)}.txt`);
    const argv = timeV ? ['-v', '-o', timeFile, cmd, ...args] : args;
    const t0 = process.hrtime.bigint();
    const child = spawn(timeV ? '/usr/bin/time' : cmd, argv, { env: { ...process.env, ...env }, stdio: ['ignore', stdout, 'pipe'], cwd });
    let out = '';
    let err = '';
    child.stdout?.setEncoding('utf8').on('data', (d) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d) => (err += d));
    const timer = setTimeout(() => {
      // Under /usr/bin/time the command is its child: stop that one too.
      const real = childPidOf(child.pid);
      if (real !== child.pid) {
        try {
          process.kill(real, 'SIGKILL');
        } catch {}
      }
      child.kill('SIGKILL');
    }, timeoutMs);
    onSpawn?.(child);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
      const r = { code, wallMs, stdout: out, stderr: err };
      if (timeV && existsSync(timeFile)) {
        const t = readFileSync(timeFile, 'utf8');
        const num = (re) => Number(re.exec(t)?.[1]);
        r.maxRssKb = num(/Maximum resident set size \(kbytes\): (\d+)/);
        r.userS = num(/User time \(seconds\): ([\d.]+)/);
        r.sysS = num(/System time \(seconds\): ([\d.]+)/);
        const e = /Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)/.exec(t);
        if (e) r.elapsedS = Number(e[1] ?? 0) * 3600 + Number(e[2]) * 60 + Number(e[3]);
        r.timeExit = /Exit status: (\d+)/.exec(t)?.[1];
      }
      resolve(r);
    });
  });
}

/** The real child of /usr/bin/time (its only child), or the pid itself. */
export function childPidOf(pid) {
  try {
    const kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
    return kids.length ? Number(kids[0]) : pid;
  } catch {
    return pid;
  }
}

const CLK_TCK = 100; // getconf CLK_TCK on Linux
/** The fields of /proc/<pid>/stat after "(comm) ": state(3) … utime(14) stime(15) cutime(16) cstime(17) at indexes 0 … 11 12 13 14. */
function statFields(pid) {
  const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return s.slice(s.lastIndexOf(')') + 2).split(' ');
}

/** The parent of a process (its ppid). */
export function parentPidOf(pid) {
  return Number(statFields(pid)[1]);
}

/** utime + stime of a process, in ms, from /proc/<pid>/stat. */
export function cpuMsOf(pid) {
  const f = statFields(pid);
  return ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK;
}

/**
 * CPU of a server made of processes (PostgreSQL: the postmaster and its backends), in ms: its own
 * utime + stime, its live children's, and what its exited children left in its cutime + cstime
 * (a backend ends with its connection, so its CPU is found there once the client has gone).
 */
export function treeCpuMsOf(pid) {
  /** utime + stime, and with `reaped` also cutime + cstime (0 for a child that ended meanwhile: it is in the parent's cutime once reaped). */
  const ticks = (p, reaped) => {
    try {
      return statFields(p)
        .slice(11, reaped ? 15 : 13)
        .reduce((a, x) => a + Number(x), 0);
    } catch {
      return 0;
    }
  };
  let kids = [];
  try {
    kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
  } catch {}
  return ((ticks(pid, true) + kids.reduce((a, k) => a + ticks(k, false), 0)) * 1000) / CLK_TCK;
}

/** VmRSS and VmHWM of a process, in kB. */
export function rssOf(pid) {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  return { rssKb: Number(/VmRSS:\s+(\d+)/.exec(s)?.[1]), hwmKb: Number(/VmHWM:\s+(\d+)/.exec(s)?.[1]) };
}

export function loadAvg() {
  return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
}

/**
 * Starts a bench server script in its own process (it prints "port <n>" when listening; SIGTERM
 * makes it print "received <n>" and exit). Resolves { port, pid, stop() → received }.
 */
export function startServerProcess(script, env = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BENCH(script)], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env } });
    let buf = '';
    child.stdout.setEncoding('utf8');
    const onData = (d) => {
      buf += d;
      const m = /port (\d+)/.exec(buf);
      if (!m) return;
      child.stdout.off('data', onData);
      resolve({
        port: Number(m[1]),
        pid: child.pid,
        stop: () =>
          new Promise((res) => {
            if (child.exitCode !== null) return res(NaN);
            let tail = '';
            child.stdout.on('data', (x) => (tail += x));
            child.on('close', () => res(Number(/received (\d+)/.exec(tail)?.[1] ?? NaN)));
            child.kill('SIGTERM');
          }),
      });
    };
    child.stdout.on('data', onData);
    child.on('error', reject);
    child.on('exit', (code) => reject(new Error(`${script} exited (${code}) before listening`)));
  });
}

/** bench/sink.mjs: an SMTP sink; `delayMs` holds each message's answer that long (a relay). */
export const startSink = ({ delayMs = 0 } = {}) => startServerProcess('sink.mjs', { SINK_DELAY_MS: String(delayMs) });

/** bench/fake-resend.mjs: Resend's POST /emails as its documentation answers it. */
export const startFakeResend = () => startServerProcess('fake-resend.mjs');

/**
 * A child process that burns one core until stopped: "the other core kept busy", as a shared
 * host gives. Returns stop().
 */
export function startBurner() {
  const child = spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' });
  return {
    pid: child.pid,
    stop: () =>
      new Promise((res) => {
        if (child.exitCode !== null) return res();
        child.on('close', res);
        child.kill('SIGKILL');
      }),
  };
}

/**
 * A durable PostgreSQL server (fsync on, synchronous_commit on: PostgreSQL's defaults) in a temp
 * folder, started by the tests' own helper (test/helpers/postgres-server.ts, compiled here with
 * esbuild). Resolves { url, stop() } or throws when PostgreSQL is not installed.
 */
export async function startDurablePg(workDir) {
  const { build } = await import('esbuild');
  const out = join(workDir, 'postgres-server.mjs');
  await build({ entryPoints: [join(REPO, 'test/helpers/postgres-server.ts')], outfile: out, format: 'esm', platform: 'node', bundle: false, logLevel: 'error' });
  const { findPgBin, startPgServer } = await import(pathToFileURL(out).href);
  if (!findPgBin()) throw new Error('PostgreSQL server binaries not found (Debian: apt-get install postgresql)');
  return startPgServer({ durable: true });
}

/** A postgres.js client for administration (CREATE DATABASE …, sizes); end() when done. */
export async function pgAdmin(url) {
  const { default: postgres } = await import(pathToFileURL(join(REPO, 'node_modules/postgres/src/index.js')).href);
  return postgres(url, { onnotice: () => undefined, max: 1 });
}

/** The same server's URL for another database (and the tool's schema). */
export function pgDatabaseUrl(serverUrl, database) {
  const u = new URL(serverUrl);
  u.pathname = `/${database}`;
  return u.toString();
}

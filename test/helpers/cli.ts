/** Runs the built CLI — the file package.json's `bin` names — as a real process against temp databases. */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '../..');
const PACKAGE = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string> };
/** What `npx aremko-mail` runs (npm run build makes it). */
export const CLI = join(ROOT, PACKAGE.bin['aremko-mail']!);
/** The built PostgreSQL store module, for a test process that opens the tool's own connection. */
export const POSTGRES_MODULE = join(ROOT, 'dist/core/store/postgres.js');
/** The built module that reads a postgres:// URL, for the same. */
export const POSTGRES_URL_MODULE = join(ROOT, 'dist/core/store/postgres-url.js');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function runCli(
  args: string[],
  options: { env?: Record<string, string | undefined>; cwd?: string; input?: string } = {},
): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    const env: Record<string, string | undefined> = { ...process.env, NO_COLOR: '1', ...options.env };
    for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
    const child = spawn(process.execPath, [CLI, ...args], { cwd: options.cwd, env: env as NodeJS.ProcessEnv });
    let stdout = '';
    let stderr = '';
    // Decode as a stream: a chunk boundary may fall inside a multi-byte character.
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code, signal) => resolvePromise({ code, signal, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}

/** A fresh temp folder; `cleanup()` removes it. */
export function tempDir(prefix = 'aremko-test-'): { dir: string; db: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, db: join(dir, 'test.db'), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface RunningCli {
  child: import('node:child_process').ChildProcess;
  /** stdout lines so far */
  lines: string[];
  /** resolves with the first stdout line matching, or rejects if the process ends first */
  waitForLine(match: (line: string) => boolean): Promise<string>;
  done: Promise<CliResult>;
}

/** Starts the CLI and lets a test react to what it prints (no timers). */
export function startCli(args: string[], options: { env?: Record<string, string | undefined> } = {}): RunningCli {
  const env: Record<string, string | undefined> = { ...process.env, NO_COLOR: '1', ...options.env };
  for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
  const child = spawn(process.execPath, [CLI, ...args], { env: env as NodeJS.ProcessEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const waiters: { match: (l: string) => boolean; resolve: (l: string) => void; reject: (e: Error) => void }[] = [];
  let partial = '';
  let stdout = '';
  let stderr = '';
  let ended = false;
  child.stdout!.setEncoding('utf8');
  child.stderr!.setEncoding('utf8');
  child.stdout!.on('data', (chunk: string) => {
    stdout += chunk;
    partial += chunk.toString();
    const parts = partial.split('\n');
    partial = parts.pop()!;
    for (const line of parts) {
      lines.push(line);
      for (const w of [...waiters]) if (w.match(line)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(line);
      }
    }
  });
  child.stderr!.on('data', (d) => (stderr += d));
  const done = new Promise<CliResult>((resolvePromise, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      ended = true;
      for (const w of waiters.splice(0)) w.reject(new Error(`process ended (code ${code}) before the line; stdout:\n${stdout}\nstderr:\n${stderr}`));
      resolvePromise({ code, signal, stdout, stderr });
    });
  });
  return {
    child,
    lines,
    done,
    waitForLine: (match) => {
      const seen = lines.find(match);
      if (seen !== undefined) return Promise.resolve(seen);
      if (ended) return Promise.reject(new Error(`process already ended; stdout:\n${stdout}\nstderr:\n${stderr}`));
      return new Promise((resolve, reject) => waiters.push({ match, resolve, reject }));
    },
  };
}

/**
 * Mounts the real TUI (App + TuiController) on a real temp SQLite store with a real outbox
 * transport, through ink-testing-library. Waits are on the frame itself (every write is
 * observed), bounded by a timeout — never fixed sleeps.
 */
import { mkdtempSync, rmSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { render } from 'ink-testing-library';
import { observer } from '../../src/cli/context.js';
import { openSqliteStore, type SqliteStore } from '../../src/core/store/sqlite.js';
import type { CampaignSettings } from '../../src/core/types.js';
import { App } from '../../src/ui/components/App.js';
import { type ControllerOptions, TuiController } from '../../src/ui/controller.js';
import type { Lang } from '../../src/ui/i18n.js';
import { makeUiContext, UiContext } from '../../src/ui/ui-context.js';
import { settings } from '../helpers/store.js';

export const KEY = {
  up: '\u001B[A',
  down: '\u001B[B',
  enter: '\r',
  escape: '\u001B',
  pageUp: '\u001B[5~',
  pageDown: '\u001B[6~',
  home: '\u001B[H',
  end: '\u001B[F',
  ctrlC: '\u0003',
} as const;

// eslint-disable-next-line no-control-regex
const ANSI = /\u001B\[[0-9;?]*[ -/]*[@-~]/g;
export const stripAnsi = (s: string) => s.replace(ANSI, '');

export interface HarnessOptions {
  lang?: Lang;
  /** 'outbox' (default): an outbox folder in the temp dir; null: no transport configured. */
  transport?: 'outbox' | null | string;
  /** A fast temp dir (tmpfs) for the heavy tests. */
  fast?: boolean;
  controller?: Partial<ControllerOptions>;
  noColor?: boolean;
  /** Pictures in ASCII (what a non-UTF-8 locale or the Linux console gets). */
  ascii?: boolean;
}

export interface Harness {
  store: SqliteStore;
  dir: string;
  db: string;
  outbox: string;
  controller: TuiController;
  frames: string[];
  frame(): string;
  /** Types keys in order, each once Ink has taken the one before (a lone Esc is never read as Alt+next). */
  press(...keys: string[]): Promise<void>;
  waitFor(test: string | RegExp | ((frame: string) => boolean), timeoutMs?: number): Promise<string>;
  /** Resolves when the app has quit (after stopping its engines). */
  exited: Promise<void>;
  hasExited(): boolean;
  outboxCount(): number;
  resize(columns: number, rows: number): void;
  cleanup(): Promise<void>;
}

export function makeTempDir(fast = false): string {
  const base = fast && existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
  return mkdtempSync(join(base, 'aremko-ui-'));
}

export async function createCampaign(store: SqliteStore, overrides: Partial<CampaignSettings> = {}, recipients = 10) {
  const campaign = await store.createCampaign(settings({ intervalSeconds: 0, ...overrides }), Date.now());
  if (recipients > 0) {
    const session = await store.beginImport(campaign.id);
    const rows = [];
    for (let i = 0; i < recipients; i++)
      rows.push({ line: i + 2, email: `r${i}@example.com`, fields: { nombre: `Nombre ${i}`, email: `r${i}@example.com` } });
    await session.add(rows);
    await session.commit();
  }
  return campaign;
}

export async function mount(options: HarnessOptions = {}, setup?: (store: SqliteStore) => Promise<void>): Promise<Harness> {
  const dir = makeTempDir(options.fast);
  const db = join(dir, 'test.db');
  const outbox = join(dir, 'outbox');
  const store = openSqliteStore(db);
  if (setup) await setup(store);
  const transportUrl = options.transport === undefined || options.transport === 'outbox' ? `outbox:${outbox}` : options.transport;
  const controller = new TuiController({
    store,
    transportUrl,
    observer,
    engineOptions: { pollMs: 100 },
    ...options.controller,
  });
  let exitedResolve!: () => void;
  let exited = false;
  const exitedPromise = new Promise<void>((resolve) => (exitedResolve = resolve));
  const r = render(
    <UiContext.Provider value={makeUiContext(options.lang ?? 'en', options.lang ?? 'en', options.noColor ?? true, options.ascii ?? false)}>
      <App
        controller={controller}
        dbLabel="test.db"
        onExit={() => {
          exited = true;
          exitedResolve();
        }}
      />
    </UiContext.Provider>,
  );

  // Observe every frame write so waits wake up on change, not on a timer.
  const waiters = new Set<() => void>();
  const stdout = r.stdout as unknown as { write: (s: string) => void };
  const write = stdout.write;
  stdout.write = (s: string) => {
    write(s);
    for (const w of [...waiters]) w();
  };
  const frame = () => stripAnsi(r.lastFrame() ?? '');

  const harness: Harness = {
    store,
    dir,
    db,
    outbox,
    controller,
    frames: r.frames,
    frame,
    press: async (...keys) => {
      // ink-testing-library's stdin keeps only the last chunk until Ink reads it, and Ink holds a
      // lone Esc until its next setImmediate to tell it from an escape sequence. So each key waits
      // until Ink has taken it (and flushed a pending Esc) before the next one is written; a
      // loaded machine then cannot merge or drop keys.
      const stdin = r.stdin as unknown as { data: string | null };
      for (const k of keys) {
        r.stdin.write(k);
        for (let turns = 0; stdin.data !== null && turns < 10_000; turns++) await new Promise((resolve) => setImmediate(resolve));
        await new Promise((resolve) => setImmediate(resolve));
      }
    },
    waitFor: (test, timeoutMs = 10_000) => {
      const ok =
        typeof test === 'string' ? (f: string) => f.includes(test) : test instanceof RegExp ? (f: string) => test.test(f) : test;
      return new Promise((resolve, reject) => {
        if (ok(frame())) return resolve(frame());
        const check = () => {
          if (ok(frame())) {
            done();
            resolve(frame());
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`timed out after ${timeoutMs} ms waiting for ${String(test)}; last frame:\n${frame()}`));
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
      });
    },
    exited: exitedPromise,
    hasExited: () => exited,
    outboxCount: () => (existsSync(outbox) ? readdirSync(outbox).filter((f) => f.endsWith('.eml')).length : 0),
    resize: (columns, rows) => {
      Object.defineProperty(r.stdout, 'columns', { value: columns, configurable: true });
      Object.defineProperty(r.stdout, 'rows', { value: rows, configurable: true });
      r.stdout.emit('resize');
    },
    cleanup: async () => {
      r.unmount();
      r.cleanup();
      await controller.dispose();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return harness;
}

/** Waits until a condition on the store holds (polling the real database, bounded). */
export async function until<T>(read: () => Promise<T> | T, ok: (v: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms (last value ${JSON.stringify(v)})`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

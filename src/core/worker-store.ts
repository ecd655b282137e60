/**
 * The engine's SQLite store on a worker thread. better-sqlite3 is synchronous: every synced
 * commit (claims and results, synchronous=FULL) would otherwise stop the event loop for the
 * length of an fsync, while answers from the server and the next messages wait. Here the main
 * thread keeps rendering and talking SMTP while a commit is on its way to the disk; the engine
 * still awaits each claim's commit before its message goes out, so nothing about durability
 * changes. (PostgreSQL needs no such thing: its client never blocks the event loop.)
 */
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { EngineStore } from './store.js';
import { UserError } from './types.js';

type Method = keyof EngineStore | 'close';

/** A message to the worker, and its answer. */
export interface StoreCall {
  id: number;
  method: Method;
  args: unknown[];
}
export type StoreReply = { id: number; ok: true; value: unknown } | { id: number; ok: false; message: string; exitCode: number | null };

export class WorkerStore implements EngineStore {
  private readonly worker: Worker;
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void }>();
  private failure: Error | null = null;

  private constructor(path: string) {
    this.worker = new Worker(fileURLToPath(new URL('./store-worker.js', import.meta.url)), { workerData: { path } });
    this.worker.on('message', (reply: StoreReply) => {
      const w = this.waiting.get(reply.id);
      if (!w) return;
      this.waiting.delete(reply.id);
      if (reply.ok) w.resolve(reply.value);
      else w.reject(reply.exitCode === null ? new Error(reply.message) : new UserError(reply.message, reply.exitCode));
    });
    this.worker.on('error', (err) => this.failAll(err));
    this.worker.on('exit', (code) => this.failAll(new Error(`store worker exited (code ${code})`)));
  }

  /** Opens the database on a new worker thread; rejects as openSqliteStore would throw. */
  static async open(path: string): Promise<WorkerStore> {
    const store = new WorkerStore(path);
    try {
      await store.call('getCampaign', [0]); // the worker has opened (and checked) the file
    } catch (err) {
      await store.worker.terminate();
      throw err;
    }
    return store;
  }

  private failAll(err: Error): void {
    this.failure ??= err;
    for (const w of this.waiting.values()) w.reject(err);
    this.waiting.clear();
  }

  private call<T>(method: Method, args: unknown[]): Promise<T> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.worker.postMessage({ id, method, args } satisfies StoreCall);
    });
  }

  async close(): Promise<void> {
    if (!this.failure) await this.call('close', []).catch(() => undefined);
    this.failure ??= new Error('store closed');
    await this.worker.terminate();
  }

  getCampaign: EngineStore['getCampaign'] = (...a) => this.call('getCampaign', a);
  summaries: EngineStore['summaries'] = (...a) => this.call('summaries', a);
  transition: EngineStore['transition'] = (...a) => this.call('transition', a);
  makeBatchDue: EngineStore['makeBatchDue'] = (...a) => this.call('makeBatchDue', a);
  setLastError: EngineStore['setLastError'] = (...a) => this.call('setLastError', a);
  addEvent: EngineStore['addEvent'] = (...a) => this.call('addEvent', a);
  listRunners: EngineStore['listRunners'] = (...a) => this.call('listRunners', a);
  joinCampaign: EngineStore['joinCampaign'] = (...a) => this.call('joinCampaign', a);
  renewLease: EngineStore['renewLease'] = (...a) => this.call('renewLease', a);
  reapDead: EngineStore['reapDead'] = (...a) => this.call('reapDead', a);
  leaveCampaign: EngineStore['leaveCampaign'] = (...a) => this.call('leaveCampaign', a);
  step: EngineStore['step'] = (...a) => this.call('step', a);
  settle: EngineStore['settle'] = (...a) => this.call('settle', a);
}

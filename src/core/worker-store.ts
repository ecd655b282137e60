/**
 * The engine's store on a worker thread. better-sqlite3 is synchronous: every synced commit
 * (claims and results, synchronous=FULL) would otherwise stop the event loop for the length of
 * an fsync, while answers from the server and the next messages wait. Here the main thread keeps
 * rendering and talking SMTP while a commit is on its way to the disk; the engine still awaits
 * each claim's commit before its message goes out, so nothing about durability changes.
 */
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { EngineStore } from './store.js';
import { UserError } from './types.js';


type Method = Exclude<keyof EngineStore, 'acquireLease'> | 'acquireLeaseTakingOver' | 'close';

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
  makeBatchDue: EngineStore['makeBatchDue'] = (...a) => this.call('makeBatchDue', a);
  setLastError: EngineStore['setLastError'] = (...a) => this.call('setLastError', a);
  addEvent: EngineStore['addEvent'] = (...a) => this.call('addEvent', a);
  getLease: EngineStore['getLease'] = (...a) => this.call('getLease', a);
  renewLease: EngineStore['renewLease'] = (...a) => this.call('renewLease', a);
  releaseLease: EngineStore['releaseLease'] = (...a) => this.call('releaseLease', a);
  step: EngineStore['step'] = (...a) => this.call('step', a);
  closeBatch: EngineStore['closeBatch'] = (...a) => this.call('closeBatch', a);
  completeIfDone: EngineStore['completeIfDone'] = (...a) => this.call('completeIfDone', a);

  /**
   * A function cannot cross to the worker: ask who holds the lease, decide here whether that
   * holder may be taken over, and let the worker take it only if the same holder still has it.
   */
  acquireLease: EngineStore['acquireLease'] = async (campaignId, owner, now, ttlMs, canTakeOver) => {
    const holder = await this.getLease(campaignId);
    const takeOverToken = holder && holder.token !== owner.token && canTakeOver(holder) ? holder.token : null;
    return this.call('acquireLeaseTakingOver', [campaignId, owner, now, ttlMs, takeOverToken]);
  };
}

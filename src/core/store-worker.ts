/** The worker-thread side of WorkerStore: one SqliteStore, calls answered in order. */
import { parentPort, workerData } from 'node:worker_threads';
import { openSqliteStore, type SqliteStore } from './store/sqlite.js';
import { UserError } from './types.js';
import type { StoreCall, StoreReply } from './worker-store.js';

let store: SqliteStore | null = null;
let openError: unknown = null;
try {
  store = openSqliteStore(workerData.path as string, { mustExist: true });
} catch (err) {
  openError = err;
}

function replyError(id: number, err: unknown): StoreReply {
  const e = err as Error;
  return { id, ok: false, message: e?.message ?? String(err), exitCode: err instanceof UserError ? err.exitCode : null };
}

parentPort!.on('message', async ({ id, method, args }: StoreCall) => {
  if (!store) return parentPort!.postMessage(replyError(id, openError));
  try {
    let value: unknown;
    if (method === 'close') {
      await store.close();
      store = null;
      openError = new Error('store closed');
    } else {
      value = await (store[method] as (...a: unknown[]) => Promise<unknown>)(...args);
    }
    parentPort!.postMessage({ id, ok: true, value } satisfies StoreReply);
  } catch (err) {
    parentPort!.postMessage(replyError(id, err));
  }
});

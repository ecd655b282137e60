/** What every command shares: global options, opening the store, printing, exit codes. */
import { hostname } from 'node:os';
import type { Argv } from 'yargs';
import { resolveDbLocation } from '../core/config.js';
import { isProcessAlive } from '../core/process.js';
import type { Observer } from '../core/status.js';
import type { Store } from '../core/store.js';
import { openStore as openStoreAt } from '../core/store/open.js';
import { printable } from '../core/printable.js';
import { UserError } from '../core/types.js';

export interface GlobalArgs {
  db?: string;
  json?: boolean;
}

export const now = () => Date.now();

export function openStore(args: GlobalArgs, options: { mustExist?: boolean } = {}): Promise<Store> {
  return openStoreAt(resolveDbLocation(args.db), options);
}

/** This process as a judge of which runners are alive (status, the TUI). */
export const observer: Observer = {
  host: hostname(),
  isAlive: isProcessAlive,
};

/** Runs a command body with a store; closes it; maps errors to the contract's exit codes. */
export async function withStore(
  args: GlobalArgs,
  body: (store: Store) => Promise<number | void>,
  options: { mustExist?: boolean } = {},
): Promise<void> {
  let store: Store | undefined;
  try {
    store = await openStore(args, options);
    const code = await body(store);
    if (typeof code === 'number') process.exitCode = code;
  } catch (err) {
    fail(err);
  } finally {
    await store?.close().catch(() => undefined);
  }
}

export function fail(err: unknown): void {
  if (err instanceof UserError) {
    // Messages quote what the operator gave (a file name, a field, a flag's value): shown harmlessly.
    process.stderr.write(`aremko-mail: ${printable(err.message)}\n`);
    process.exitCode = err.exitCode;
  } else {
    process.stderr.write(`aremko-mail: unexpected error: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exitCode = 1;
  }
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

export function parseId(value: unknown, what = 'campaign id'): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new UserError(`${what} must be a positive whole number, not "${value}"`, 2);
  return n;
}

export function withJson<T>(y: Argv<T>) {
  return y.option('json', { type: 'boolean', describe: 'print one JSON document on stdout' });
}

import type { CommandModule } from 'yargs';
import { addressProblem } from '../../core/campaigns.js';
import { printable, quoted } from '../../core/printable.js';
import { UserError } from '../../core/types.js';
import { type GlobalArgs, now, printJson, withJson, withStore } from '../context.js';
import type { AddressInput } from '../../core/address-file.js';
import type { FileEncoding } from '../../core/encoding.js';
import type { Store } from '../../core/store.js';
import { estimateLineCount, lineCountingReader, Progress, terminalWanted } from '../progress.js';
import { addressInput, describeFormat, FILE_RULES, fileOptions, inputLabel, invalidLines, plural, singleValued } from './import.js';

const countAddresses = (n: number) => plural(n, 'address', 'addresses');

function requireReason(reason: string): string {
  const trimmed = reason.trim();
  if (!trimmed) throw new UserError('--reason: must not be empty', 2);
  return trimmed;
}

interface AddArgs extends GlobalArgs {
  addresses: string[];
  reason: string;
}

const add: CommandModule<GlobalArgs, AddArgs> = {
  command: 'add <addresses..>',
  describe: 'put addresses on the suppression list',
  builder: (y) =>
    singleValued(withJson(y), ['reason'])
      .positional('addresses', { type: 'string', array: true, describe: 'one or more email addresses' })
      .option('reason', { type: 'string', default: 'manual', describe: 'why, kept with each address (e.g. unsubscribed, complaint)' })
      .example('$0 suppress add juan@example.cl ana@example.cl --reason unsubscribed', 'two addresses that asked to be left out')
      .epilogue(
        'Pending recipients with these addresses become suppressed in every campaign; addresses ' +
          'already on the list keep their first reason. If any address is invalid, nothing is added ' +
          '(exit 1).\n\nJSON: {"added": n, "duplicates": n}',
      ) as any,
  handler: (a) =>
    withStore(a, async (store) => {
      const reason = requireReason(a.reason);
      const list = a.addresses.map((e) => String(e).trim());
      const bad = list.flatMap((e) => {
        const problem = addressProblem(e);
        return problem ? [`${quoted(e)} (${problem})`] : [];
      });
      if (bad.length > 0) throw new UserError(`not an email address: ${bad.join(', ')}; nothing was added`);
      const added = await store.addSuppressions(list, reason, now());
      const duplicates = list.length - added;
      if (a.json) return printJson({ added, duplicates });
      process.stdout.write(`added ${countAddresses(added)} to the suppression list${duplicates ? ` (${duplicates} already on it)` : ''}\n`);
    }),
};

const remove: CommandModule<GlobalArgs, GlobalArgs & { addresses: string[] }> = {
  command: 'remove <addresses..>',
  describe: 'take addresses off the suppression list',
  builder: (y) =>
    withJson(y)
      .positional('addresses', { type: 'string', array: true, describe: 'one or more email addresses' })
      .epilogue(
        'Future imports treat these addresses as any other. Recipients already marked suppressed stay ' +
          'suppressed.\n\nJSON: {"removed": n, "not_listed": n}',
      ) as any,
  handler: (a) =>
    withStore(a, async (store) => {
      const list = a.addresses.map((e) => String(e).trim());
      const removed = await store.removeSuppressions(list);
      const notListed = list.length - removed;
      if (a.json) return printJson({ removed, not_listed: notListed });
      process.stdout.write(`removed ${countAddresses(removed)} from the suppression list${notListed ? ` (${notListed} not on it)` : ''}\n`);
    }),
};

const list: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'list',
  describe: 'show the suppression list',
  builder: (y) => withJson(y).epilogue('JSON: [{"email": s, "reason": s, "created_at": ISO time}], sorted by address') as any,
  handler: (a) =>
    withStore(a, async (store) => {
      const all = await store.listSuppressions();
      if (a.json) return printJson(all.map((s) => ({ email: s.email, reason: s.reason, created_at: new Date(s.createdAt).toISOString() })));
      if (all.length === 0) return void process.stdout.write('the suppression list is empty\n');
      const width = Math.max(...all.map((s) => s.email.length));
      // Stored text, shown harmlessly: a reason is whatever --reason said.
      for (const s of all) process.stdout.write(`${printable(s.email).padEnd(width)}  ${new Date(s.createdAt).toISOString()}  ${printable(s.reason)}\n`);
    }),
};

/**
 * `suppress import` watched from a terminal: lines read (counted as the file goes by, under the
 * same name, so every message reads as without it), then "writing to the suppression list".
 * Nothing extra when stdout or stderr is not a terminal, or with --json.
 */
function watchSuppressImport(store: Store, input: AddressInput, json: boolean | undefined) {
  if (!terminalWanted({ json })) return { store, input, stop: () => undefined };
  const lines = typeof input === 'string' ? estimateLineCount(input) : null;
  const p = new Progress({ label: inputLabel(input), unit: 'lines', total: lines, estimated: true });
  const source = typeof input === 'string' ? input : input.stream;
  const counted: AddressInput = { name: typeof input === 'string' ? input : input.name, stream: lineCountingReader(source, (n) => p.update(n)) };
  const reporting = new Proxy(store, {
    get(target, prop) {
      if (prop === 'addSuppressions')
        return (...args: Parameters<Store['addSuppressions']>) => {
          p.countDone();
          p.phase('writing to the suppression list');
          return target.addSuppressions(...args);
        };
      const value = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { store: reporting, input: counted, stop: () => p.stop() };
}

interface ImportArgs extends GlobalArgs {
  file: string;
  reason: string;
  'email-column'?: string;
  encoding?: FileEncoding;
}

const importFile: CommandModule<GlobalArgs, ImportArgs> = {
  command: 'import <file>',
  describe: 'put every address of a file on the suppression list',
  builder: (y) =>
    singleValued(fileOptions(withJson(y)), ['reason'])
      .positional('file', { type: 'string', describe: 'CSV with an address column, or one address per line; - for standard input' })
      .option('reason', { type: 'string', default: 'manual', describe: 'why, kept with each address' })
      .example('$0 suppress import bajas.txt --reason unsubscribed', 'a list of unsubscribed addresses, one per line')
      .epilogue(
        FILE_RULES +
          ' A file with a single column whose first line is an address is read as a plain list, one ' +
          'address per line, with no header.\n\n' +
          'All valid addresses are added in one transaction once the whole file has been read; a file ' +
          'that is not CSV adds nothing. Pending recipients with these addresses become suppressed in ' +
          'every campaign.\n\n' +
          'JSON: {"added": n, "duplicates": n, "invalid": [{"line": n, "value": s, "reason": s}]}\n\n' +
          'Exit codes: 0 added (invalid lines are reported, not fatal); 1 the file is not CSV: nothing ' +
          'added; 2 bad usage, or the file cannot be opened.',
      ) as any,
  handler: (a) =>
    withStore(a, async (store) => {
      const reason = requireReason(a.reason);
      const { importSuppressions } = await import('../../core/import.js');
      const input = addressInput(a.file);
      const watch = watchSuppressImport(store, input, a.json);
      let report;
      try {
        report = await importSuppressions(watch.store, watch.input, {
          reason,
          emailColumn: a['email-column'],
          encoding: a.encoding,
          now: now(),
        });
      } finally {
        watch.stop();
      }
      const { added, duplicates, invalid } = report;
      if (a.json) return printJson({ added, duplicates, invalid });
      process.stdout.write(
        `added ${countAddresses(added)} to the suppression list, ${plural(duplicates, 'duplicate')} skipped, ` +
          `${plural(invalid.length, 'invalid line')} skipped (${describeFormat(input, report.format)})\n` +
          invalidLines(invalid),
      );
    }),
};

export const suppressCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'suppress <command>',
  describe: 'the suppression list: addresses never to be sent to',
  builder: (y) =>
    y
      .command(add as any)
      .command(remove as any)
      .command(list as any)
      .command(importFile as any)
      .demandCommand(1),
  handler: () => undefined,
};

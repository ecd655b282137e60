import { basename } from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import type { AddressInput, FileFormat, InvalidLine } from '../../core/address-file.js';
import { ADDRESS_COLUMNS } from '../../core/campaigns.js';
import type { FileEncoding } from '../../core/encoding.js';
import { printable } from '../../core/printable.js';
import type { ImportSession, StagedRecipient, Store } from '../../core/store.js';
import { UserError } from '../../core/types.js';
import { type GlobalArgs, now, parseId, printJson, withJson, withStore } from '../context.js';
import { estimateLineCount, Progress, terminalWanted } from '../progress.js';

/** Invalid lines shown in text output; --json lists them all. */
const INVALID_SHOWN = 20;

export const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/**
 * `-` is standard input; anything else a path (a FIFO or /dev/fd/N too: the file is read once).
 * yargs hands a positional `-` over as "" (it re-parses positionals as `--file -`), so "" stands
 * for `-` when the command line holds one; a real empty argument stays a path that cannot be read.
 */
export function addressInput(file: string): AddressInput {
  const dash = file === '-' || (file === '' && process.argv.includes('-'));
  return dash ? { name: 'standard input', stream: process.stdin } : file;
}

/** "Windows-1252, ";"-separated, address column "correo"", for the summary line. */
export function describeFormat(input: AddressInput, format: FileFormat): string {
  const name = typeof input === 'string' ? printable(basename(input)) : input.name;
  const encoding = format.encoding === 'utf-8' ? 'UTF-8' : 'Windows-1252';
  if (format.addressColumn === null) return `${name}: ${encoding}, one address per line`;
  const delimiter = format.delimiter === '\t' ? 'tab' : `"${format.delimiter}"`;
  return `${name}: ${encoding}, ${delimiter}-separated, address column ${JSON.stringify(printable(format.addressColumn))}`;
}

/** The first invalid lines, one per line, then how many more there are. */
export function invalidLines(invalid: InvalidLine[]): string {
  const shown = invalid.slice(0, INVALID_SHOWN).map((i) => `  line ${i.line}: ${printable(JSON.stringify(i.value))}: ${i.reason}\n`);
  if (invalid.length > INVALID_SHOWN) shown.push(`  … and ${invalid.length - INVALID_SHOWN} more; use --json for all\n`);
  return shown.join('');
}

/** The input's name for a progress line: the file's base name, or "standard input". */
export const inputLabel = (input: AddressInput) => (typeof input === 'string' ? printable(basename(input)) : input.name);

/**
 * A store whose import session reports to a progress line: lines read (the line number of the
 * last row staged), then "writing to the database" while the staged rows are committed. Without
 * one (--json, no terminal), a wait for another import into the campaign is told on stderr in
 * one line, so that a scheduled job's log says why it took long. The rest of the store is the
 * store itself.
 */
function reportingStore(store: Store, p: Progress | null): Store {
  const beginImport = async (campaignId: number): Promise<ImportSession> => {
    const onWait = p
      ? () => p.phase('waiting for another import into this campaign')
      : () => process.stderr.write(`campaign ${campaignId}: waiting for another import into it to finish\n`);
    const session = await store.beginImport(campaignId, { onWait });
    if (!p) return session;
    p.phase(null);
    return {
      add: (rows: StagedRecipient[]) => {
        const last = rows[rows.length - 1];
        if (last) p.update(last.line - 1); // the header is line 1
        return session.add(rows);
      },
      commit: () => {
        p.countDone();
        p.phase('writing to the database');
        return session.commit();
      },
      abort: () => session.abort(),
    };
  };
  return new Proxy(store, {
    get(target, prop) {
      if (prop === 'beginImport') return beginImport;
      const value = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/**
 * `import` watched from a terminal: lines read of about how many, the rate, the time left, on
 * stderr (nothing when stdout or stderr is not a terminal, or with --json, but a wait for
 * another import). The total is estimated from the file's size (none for standard input or a pipe).
 */
export function watchImport(store: Store, input: AddressInput, json: boolean | undefined): { store: Store; stop: () => void } {
  if (!terminalWanted({ json })) return { store: reportingStore(store, null), stop: () => undefined };
  const lines = typeof input === 'string' ? estimateLineCount(input) : null;
  const p = new Progress({ label: inputLabel(input), unit: 'lines', total: lines === null ? null : Math.max(0, lines - 1), estimated: true });
  return { store: reportingStore(store, p), stop: () => p.stop() };
}

/** Shared by `import` and `suppress import`: how the file is read and what the exit codes mean. */
export const FILE_RULES =
  'The file is read once, so a pipe works too; - reads standard input. ' +
  'A CSV file needs a header row; header names are trimmed and lower-cased, and two that are then ' +
  'the same (nombre, Nombre) are refused. The address column is ' +
  `the one named ${ADDRESS_COLUMNS.join(', ')} (in any case), or the one --email-column names. The ` +
  'delimiter (, ; or tab) is taken from the header line and the encoding is detected: UTF-8 with ' +
  'or without BOM, or Windows-1252 (Excel) when the file is not UTF-8; a file with both is refused, ' +
  'naming the lines that are not UTF-8 (choose with --encoding). Lines may end in CRLF, LF or CR, ' +
  'mixed; quoted fields may span lines (their line breaks are kept as LF). Addresses are trimmed ' +
  'and compared without regard to the case of A-Z (É and é are different letters, on SQLite and ' +
  'PostgreSQL alike); invalid ones are skipped and listed with their line number ' +
  '(the header is line 1; a field spanning lines counts them).';

/**
 * Refuses (exit 2) a flag given more than once: yargs would hand the command an array where it
 * expects one value (`--from a --from b`), which no check further on expects.
 */
export function singleValued<T>(y: Argv<T>, flags: string[]): Argv<T> {
  return y.check((argv) => {
    for (const flag of flags) {
      const value = (argv as Record<string, unknown>)[flag];
      if (Array.isArray(value)) throw new UserError(`--${flag} is given ${value.length} times; give it once`, 2);
    }
    return true;
  });
}

/** --encoding's choices (core/encoding.js is not loaded here: it brings iconv-lite along). */
const ENCODINGS: readonly FileEncoding[] = ['utf-8', 'windows-1252'];

/** The options `import` and `suppress import` share. */
export function fileOptions<T>(y: Argv<T>) {
  return singleValued(y, ['email-column', 'encoding'])
    .option('email-column', { type: 'string', describe: 'name of the address column, if it is not email, correo, e-mail or mail' })
    .option('encoding', {
      type: 'string',
      choices: ENCODINGS,
      describe: 'read the file in this encoding instead of detecting it',
    });
}

interface ImportArgs extends GlobalArgs {
  campaign: string;
  file: string;
  'email-column'?: string;
  encoding?: FileEncoding;
}

export const importCommand: CommandModule<GlobalArgs, ImportArgs> = {
  command: 'import <campaign> <file>',
  describe: "add a CSV file's recipients to a campaign",
  builder: (y) =>
    fileOptions(withJson(y))
      .positional('campaign', { type: 'string', describe: 'campaign id' })
      .positional('file', { type: 'string', describe: 'CSV file with a header row; - for standard input' })
      .example('$0 import 3 clientes.csv', 'import an export (e.g. Excel, ";"-separated, Windows-1252)')
      .example('$0 import 3 crm.csv --email-column "Correo personal" --json', 'name the address column; print JSON')
      .example('curl -s https://crm.example/export.csv | $0 import 3 -', 'read standard input')
      .epilogue(
        FILE_RULES +
          '\n\nEvery column becomes a template field, e.g. {{nombre}}, besides {{email}}. New addresses are ' +
          'imported as pending, addresses on the suppression list as suppressed; addresses already in ' +
          'the campaign or earlier in the file count as duplicates. Campaigns that are draft, sending ' +
          'or paused take new recipients; a completed one goes back to sending when new pending ' +
          'recipients arrive; a cancelled one refuses.\n\n' +
          'The whole file is one transaction: a file that is not CSV (binary, no address column, cut ' +
          'off inside a quoted field, mixed encodings) imports nothing, and the error names the line.\n\n' +
          'JSON: {"imported": n, "duplicates": n, "suppressed": n, "invalid": [{"line": n, "value": s, "reason": s}]}\n\n' +
          'Exit codes: 0 imported (invalid lines are reported, not fatal); 1 the campaign does not exist ' +
          'or is cancelled, or the file is not CSV: nothing imported; 2 bad usage, or the file cannot ' +
          'be opened (missing, a folder, no permission).',
      ) as any,
  handler: (a) =>
    withStore(
      a,
      async (store) => {
        const id = parseId(a.campaign);
        // csv-parse and iconv-lite load only for this command.
        const { importRecipients } = await import('../../core/import.js');
        const input = addressInput(a.file);
        const watch = watchImport(store, input, a.json);
        let report;
        try {
          report = await importRecipients(watch.store, id, input, {
            emailColumn: a['email-column'],
            encoding: a.encoding,
            now: now(),
          });
        } finally {
          watch.stop();
        }
        const { imported, duplicates, suppressed, invalid } = report;
        if (a.json) return printJson({ imported, duplicates, suppressed, invalid });
        process.stdout.write(
          `campaign ${id}: imported ${plural(imported, 'new recipient')}, ${plural(duplicates, 'duplicate')} skipped, ` +
            `${suppressed} suppressed, ${plural(invalid.length, 'invalid line')} skipped ` +
            `(${describeFormat(input, report.format)})\n` +
            invalidLines(invalid),
        );
        if (report.reopened) process.stdout.write(`campaign ${id} was completed: it is sending again for its new recipients\n`);
      },
      { mustExist: true },
    ),
};

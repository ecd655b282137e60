/**
 * Address files as they arrive from spreadsheets and CRMs, read in ONE streaming pass so that a
 * pipe, a FIFO or standard input works as well as a file, and memory stays flat however large
 * the file is.
 *
 * Bytes → StreamingDecoder (encoding decided on the way, see encoding.ts) → csv-parse, the
 * delimiter (`,` `;` or tab) chosen from the header line, which is read before any row. Records
 * end at CRLF, LF or a lone CR, mixed freely (a header pasted onto an export often ends
 * differently from the rows); a line break inside a quoted field is kept as LF, whatever it was
 * in the file, so that no value carries a stray CR.
 */
import { Parser } from 'csv-parse';
import { parse as parseSync } from 'csv-parse/sync';
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream';
import { ADDRESS_COLUMNS, addressProblem } from './campaigns.js';
import { type FileEncoding, notCsv, StreamingDecoder } from './encoding.js';
import { printable, quoted } from './printable.js';
import { ConfigError, UserError } from './types.js';

export type { FileEncoding } from './encoding.js';

const DELIMITERS = [',', ';', '\t'] as const;
/** Every record delimiter, longest first so that CRLF is one line break, not two. */
const RECORD_DELIMITERS = ['\r\n', '\n', '\r'];
/**
 * Records per batch, each staged with one ImportSession.add. Records of a larger batch live
 * through more young-generation collections (5,000 cost a third more CPU on a 1M-row file than
 * 1,000); much smaller batches pay more per-transaction overhead.
 */
const BATCH_SIZE = 1000;
/** A record this long is not an address row: most likely a quote was left open. */
const MAX_RECORD_CHARS = 1 << 20;

/** A file on disk (a FIFO or /dev/fd/N too), or an open stream such as standard input. */
export type AddressInput = string | { name: string; stream: AsyncIterable<Buffer | string> };

export const inputName = (input: AddressInput) => (typeof input === 'string' ? input : input.name);

export interface FileFormat {
  encoding: FileEncoding;
  delimiter: string;
  /** The header's address column, or null for a plain list of addresses with no header. */
  addressColumn: string | null;
}

export interface InvalidLine {
  /** Line in the file (the header is line 1) where the record starts. */
  line: number;
  value: string;
  reason: string;
}

export type AddressRow =
  | { kind: 'address'; line: number; email: string; fields: Record<string, string> }
  | ({ kind: 'invalid' } & InvalidLine);

export interface AddressFile {
  /** `encoding` is final once `batches()` has been read to its end (it may switch on the way). */
  readonly format: FileFormat;
  /**
   * Every non-blank row after the header, in file order, a batch at a time. Throws a UserError
   * naming the file and the line if the rest of the file turns out not to be CSV, or not to be
   * in one encoding.
   */
  batches(): AsyncGenerator<AddressRow[]>;
}

export interface OpenOptions {
  /** The address column's name (any case); default: one of ADDRESS_COLUMNS. */
  emailColumn?: string;
  /** A single column whose first line is an address is a plain list with no header. */
  allowPlainList?: boolean;
  /** Read the file in this encoding instead of detecting it. */
  encoding?: FileEncoding;
}

const normaliseName = (name: string) => name.trim().toLowerCase();

const isSystemError = (err: unknown): err is NodeJS.ErrnoException =>
  err instanceof Error && typeof (err as NodeJS.ErrnoException).syscall === 'string';

function notReadable(name: string, err: NodeJS.ErrnoException): ConfigError {
  const why = err.code === 'ENOENT' ? 'no such file' : err.code === 'EISDIR' ? 'it is a folder' : (err.code ?? err.message);
  return new ConfigError(`cannot read ${name}: ${why}`);
}

/** The file's bytes as UTF-8 bytes, whatever the encoding decided on the way. */
async function* decodedText(input: AddressInput, name: string, decoder: StreamingDecoder): AsyncGenerator<Buffer> {
  const source = typeof input === 'string' ? createReadStream(input) : input.stream;
  let empty = true;
  try {
    for await (const chunk of source) {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      if (bytes.length === 0) continue;
      empty = false;
      const text = decoder.write(bytes);
      const refusal = decoder.refusal;
      if (refusal) throw refusal;
      if (text.length > 0) yield text;
    }
  } catch (err) {
    throw isSystemError(err) ? notReadable(name, err) : err;
  } finally {
    if (typeof input === 'string') (source as ReturnType<typeof createReadStream>).destroy();
  }
  if (empty) throw new UserError(`${name}: the file is empty: a header row is needed; nothing was imported`);
  const rest = decoder.end();
  if (rest.length > 0) yield rest;
}

/** The header's fields with this delimiter, or null if they cannot be split with it. */
function headerWith(text: string, delimiter: string): string[] | null {
  try {
    const records = parseSync(text, { delimiter, record_delimiter: RECORD_DELIMITERS, relax_quotes: true, relax_column_count: true }) as string[][];
    return records.find((r) => !isBlank(r)) ?? null;
  } catch {
    return null; // e.g. a quote left open: this delimiter cannot split the header
  }
}

/**
 * The text up to the end of the header row, or null if the header may not be complete yet.
 * A header row ends at the first line break after some text where at least one delimiter gives
 * a complete record (a quoted header name may span lines).
 */
function headerText(text: string, final: boolean): string | null {
  const breaks = /[\r\n]/g;
  let seenText = false;
  let at = 0;
  for (let m = breaks.exec(text); m; m = breaks.exec(text)) {
    seenText ||= text.slice(at, m.index).trim() !== '';
    at = m.index;
    if (!seenText) continue;
    const candidate = text.slice(0, m.index);
    if (DELIMITERS.some((d) => headerWith(candidate, d) !== null)) return candidate;
    if (m.index > MAX_RECORD_CHARS) return candidate;
  }
  return final || text.length > MAX_RECORD_CHARS ? text : null;
}

/**
 * The delimiter that splits the header into the most fields; delimiters inside quotes do not
 * count. Ties (e.g. a single column) go to the comma.
 */
export function detectDelimiter(header: string): string {
  let best: { delimiter: string; fields: number } = { delimiter: ',', fields: 0 };
  for (const delimiter of DELIMITERS) {
    const fields = headerWith(header, delimiter)?.length ?? 0;
    if (fields > best.fields) best = { delimiter, fields };
  }
  return best.delimiter;
}

/** A parser error as an operator reads it, at the line where the unfinished record starts. */
function parseFailure(name: string, err: unknown, line: number): UserError {
  if (err instanceof UserError) return err;
  const code = (err as { code?: string }).code;
  if (code === 'CSV_QUOTE_NOT_CLOSED')
    return notCsv(name, line, 'the file ends inside a quoted field that starts here (is the file cut off?)');
  if (code === 'CSV_MAX_RECORD_SIZE') return notCsv(name, line, 'a record longer than 1 MiB starts here (is a quote left open?)');
  if (code === 'CSV_INVALID_CLOSING_QUOTE' || code === 'CSV_NON_TRIMABLE_CHAR_AFTER_CLOSING_QUOTE')
    return notCsv(name, line, 'a quoted field is followed by more text before the delimiter: not valid CSV');
  if (typeof code === 'string' && code.startsWith('CSV_'))
    return notCsv(name, line, `not valid CSV (${code.slice(4).toLowerCase().replaceAll('_', ' ')})`);
  if (isSystemError(err)) return notReadable(name, err);
  throw err;
}

interface AddressColumn {
  /** Every header name, trimmed and lower-cased. */
  columns: string[];
  index: number;
  /** No header: the first line is already an address. */
  plainList: boolean;
}

function findAddressColumn(name: string, header: ParsedRecord, options: OpenOptions): AddressColumn {
  const columns = header.values.map(normaliseName);
  const wanted = options.emailColumn === undefined ? null : normaliseName(options.emailColumn);
  const index =
    wanted === null ? columns.findIndex((c) => (ADDRESS_COLUMNS as readonly string[]).includes(c)) : columns.indexOf(wanted);
  if (index === -1 && wanted === null && options.allowPlainList && columns.length === 1 && columns[0]!.includes('@'))
    return { columns, index: 0, plainList: true };
  if (index === -1) {
    const expected =
      wanted === null
        ? `none is named ${ADDRESS_COLUMNS.join(', ')} (name the address column with --email-column)`
        : `none is named ${quoted(wanted)}`;
    throw notCsv(name, header.line, `no address column: the header has ${columns.map(quoted).join(', ')}; ${expected}`);
  }
  // Two columns that are one field once trimmed and lower-cased: a template could not tell them apart.
  const seen = new Map<string, number>();
  for (const [i, column] of columns.entries()) {
    if (column === '') continue;
    const first = seen.get(column);
    if (first !== undefined)
      throw notCsv(
        name,
        header.line,
        `the header names the column ${quoted(column)} twice (columns ${first + 1} and ${i + 1}: ` +
          `${quoted(header.values[first]!.trim())} and ${quoted(header.values[i]!.trim())}); rename one`,
      );
    seen.set(column, i);
  }
  return { columns, index, plainList: false };
}

interface ParsedRecord {
  /** The line the record starts on. */
  line: number;
  values: string[];
}

/**
 * csv-parse's Parser, numbering each record with the line it starts on and passing records on
 * in batches (one async step per batch, not per record).
 *
 * csv-parse's own line count takes a CRLF inside a quoted field for two lines, and its
 * on_record hook copies two objects per record (it doubled the import time), so lines are
 * counted here: a record starts on the line after the previous one ends, and spans the line
 * breaks kept in its values. Blank lines come through as records (skip_empty_lines is off), so
 * they count too. Counting as records are pushed, not as they are read, keeps `nextLine` at the
 * start of the unfinished record when a parse error discards what is still buffered.
 */
class NumberingParser extends Parser {
  nextLine = 1;
  private batch: ParsedRecord[] = [];

  override push(values: string[] | null): boolean {
    if (values === null) {
      if (this.batch.length > 0) super.push(this.batch);
      return super.push(null);
    }
    let lines = 1;
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!;
      if (v.includes('\r')) {
        lines += v.match(/\r\n|\r|\n/g)!.length;
        values[i] = v.replace(/\r\n?/g, '\n');
      } else if (v.includes('\n')) lines += v.match(/\n/g)!.length;
    }
    this.batch.push({ line: this.nextLine, values });
    this.nextLine += lines;
    if (this.batch.length < BATCH_SIZE) return true;
    const full = this.batch;
    this.batch = [];
    return super.push(full);
  }
}

const isBlank = (values: string[]) => values.every((v) => v.trim() === '');

/**
 * Opens an address file: a CSV with a header row and an address column (named by `emailColumn`,
 * or one of ADDRESS_COLUMNS), or, with `allowPlainList`, one address per line with no header.
 * Reads up to the header (and the first rows) now, the rest as `batches()` is consumed.
 */
export async function openAddressFile(input: AddressInput, options: OpenOptions = {}): Promise<AddressFile> {
  const name = printable(inputName(input));
  const decoder = new StreamingDecoder(name, options.encoding);
  const text = decodedText(input, name, decoder);

  // The header row decides the delimiter before any row is parsed.
  const head: Buffer[] = [];
  let headString = '';
  let header: string | null = null;
  try {
    while (header === null) {
      const next = await text.next();
      if (!next.done) {
        head.push(next.value);
        headString += next.value.toString();
      }
      header = headerText(headString, next.done === true);
    }
  } catch (err) {
    await text.return(undefined);
    throw err;
  }
  const delimiter = detectDelimiter(header);

  const parser = new NumberingParser({
    delimiter,
    record_delimiter: RECORD_DELIMITERS,
    relax_quotes: true,
    relax_column_count: true,
    max_record_size: MAX_RECORD_CHARS,
  });
  async function* all() {
    yield* head;
    yield* text;
  }
  // pipeline destroys every stage on any error, so each error reaches us through the parser.
  const batches = pipeline(Readable.from(all(), { objectMode: false }), parser, () => undefined) as AsyncIterable<ParsedRecord[]>;
  const records = (async function* () {
    try {
      // Leaving this loop early (the consumer failed) destroys the streams and closes the file.
      for await (const batch of batches) yield batch;
    } catch (err) {
      throw parseFailure(name, err, parser.nextLine);
    }
  })();

  let headerRecord: ParsedRecord | undefined;
  let afterHeader: ParsedRecord[] = [];
  let address: AddressColumn;
  try {
    while (!headerRecord) {
      const next = await records.next();
      if (next.done) break;
      const at = next.value.findIndex((r) => !isBlank(r.values));
      if (at === -1) continue;
      headerRecord = next.value[at];
      afterHeader = next.value.slice(at + 1);
    }
    if (!headerRecord) throw notCsv(name, 1, 'no header row (the file has only blank lines)');
    address = findAddressColumn(name, headerRecord, options);
  } catch (err) {
    await records.return(undefined);
    throw err;
  }
  const { columns, index: addressIndex, plainList } = address;

  const toRow = ({ line, values }: ParsedRecord): AddressRow => {
    const email = (values[addressIndex] ?? '').trim();
    const reason = addressProblem(email);
    if (reason) return { kind: 'invalid', line, value: email, reason };
    if (plainList) return { kind: 'address', line, email, fields: { email } };
    // No prototype, so that a column named "__proto__" is a field like any other. Columns with a
    // blank header cannot be named in a template.
    const fields: Record<string, string> = Object.create(null);
    for (let i = 0; i < columns.length && i < values.length; i++) if (columns[i]) fields[columns[i]!] = values[i]!;
    fields.email = email;
    return { kind: 'address', line, email, fields };
  };
  const toRows = (batch: ParsedRecord[]) => batch.filter((r) => !isBlank(r.values)).map(toRow);

  const format: FileFormat = { encoding: decoder.encoding, delimiter, addressColumn: plainList ? null : columns[addressIndex]! };
  const firstRows = plainList ? [headerRecord!, ...afterHeader] : afterHeader;
  return {
    get format() {
      return { ...format, encoding: decoder.encoding };
    },
    batches: async function* () {
      yield toRows(firstRows);
      for await (const batch of records) yield toRows(batch);
    },
  };
}

/**
 * Address files as they arrive from spreadsheets and CRMs: recipients into a campaign, or
 * addresses onto the suppression list.
 *
 * Two streaming passes keep memory flat however large the file is. The first decides the
 * encoding — a file that is valid UTF-8 from end to end is UTF-8, anything else is read as
 * Windows-1252 (what Excel on a Spanish-locale Windows writes) — and refuses binary data. The
 * second parses with csv-parse, the delimiter (`,` `;` or tab) chosen from the header line.
 */
import { Parser } from 'csv-parse';
import { parse as parseSync } from 'csv-parse/sync';
import iconv from 'iconv-lite';
import { createReadStream } from 'node:fs';
import { basename } from 'node:path';
import { pipeline } from 'node:stream';
import { ADDRESS_COLUMNS, addressProblem, requireCampaign } from './campaigns.js';
import type { ImportCounts, StagedRecipient, Store } from './store.js';
import { ConfigError, UserError } from './types.js';

/** Header names (trimmed, lower-cased) taken as the address column. */

const DELIMITERS = [',', ';', '\t'] as const;
/**
 * Records per batch, each staged with one ImportSession.add. Records of a larger batch live
 * through more young-generation collections (5,000 cost a third more CPU on a 1M-row file than
 * 1,000); much smaller batches pay more per-transaction overhead.
 */
const BATCH_SIZE = 1000;
/** A record this long is not an address row: most likely a quote was left open. */
const MAX_RECORD_CHARS = 1 << 20;

export type FileEncoding = 'utf-8' | 'windows-1252';

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
  format: FileFormat;
  /**
   * Every non-blank row after the header, in file order, a batch at a time. Throws a UserError
   * naming the file and the line if the rest of the file turns out not to be CSV.
   */
  batches(): AsyncGenerator<AddressRow[]>;
}

/** Why an address (already trimmed) cannot be used, or null if it can. */
const normaliseName = (name: string) => name.trim().toLowerCase();

function notReadable(path: string, err: NodeJS.ErrnoException): ConfigError {
  const why = err.code === 'ENOENT' ? 'no such file' : err.code === 'EISDIR' ? 'it is a folder' : (err.code ?? err.message);
  return new ConfigError(`cannot read ${path}: ${why}`);
}

const notCsv = (path: string, line: number, why: string) => new UserError(`${path}: line ${line}: ${why}; nothing was imported`);

function countLineFeeds(chunk: Buffer, end: number): number {
  let count = 0;
  for (let i = chunk.indexOf(0x0a); i !== -1 && i < end; i = chunk.indexOf(0x0a, i + 1)) count++;
  return count;
}

/** First pass: the encoding, and the file's first chunk (for the delimiter). */
async function inspectFile(path: string): Promise<{ encoding: FileEncoding; head: Buffer }> {
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  const decodesAsUtf8 = (chunk?: Buffer) => {
    try {
      // With no chunk: the end of the file, which must not cut a multi-byte sequence.
      utf8.decode(chunk, { stream: chunk !== undefined });
      return true;
    } catch {
      return false;
    }
  };
  let isUtf8 = true;
  let head: Buffer | undefined;
  let lineFeeds = 0;
  try {
    for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
      head ??= chunk;
      const nul = chunk.indexOf(0);
      if (nul !== -1) {
        const line = lineFeeds + countLineFeeds(chunk, nul) + 1;
        const utf16 = (head[0] === 0xff && head[1] === 0xfe) || (head[0] === 0xfe && head[1] === 0xff);
        throw notCsv(path, line, utf16 ? 'the file is UTF-16 text; save it as "CSV UTF-8" instead' : 'binary data (NUL bytes): this is not a CSV file');
      }
      lineFeeds += countLineFeeds(chunk, chunk.length);
      isUtf8 &&= decodesAsUtf8(chunk);
    }
  } catch (err) {
    if (err instanceof UserError) throw err;
    throw notReadable(path, err as NodeJS.ErrnoException);
  }
  if (!head) throw new UserError(`${path}: the file is empty: a header row is needed; nothing was imported`);
  isUtf8 &&= decodesAsUtf8();
  return { encoding: isUtf8 ? 'utf-8' : 'windows-1252', head };
}

/**
 * The delimiter that splits the header into the most fields, parsed with each candidate so that
 * delimiters inside quotes do not count. Ties (e.g. a single column) go to the comma.
 */
function detectDelimiter(head: Buffer | string): string {
  let best: { delimiter: string; fields: number } = { delimiter: ',', fields: 0 };
  for (const delimiter of DELIMITERS) {
    let fields = 0;
    try {
      const [header] = parseSync(head, { delimiter, bom: true, to: 1, relax_quotes: true, skip_empty_lines: true }) as string[][];
      fields = header?.length ?? 0;
    } catch {
      continue; // this delimiter cannot split the header (e.g. it leaves a quote unclosed)
    }
    if (fields > best.fields) best = { delimiter, fields };
  }
  return best.delimiter;
}

/** A parser error as an operator reads it, at the line where the unfinished record starts. */
function parseFailure(path: string, err: unknown, line: number): UserError {
  const code = (err as { code?: string }).code;
  if (code === 'CSV_QUOTE_NOT_CLOSED')
    return notCsv(path, line, 'the file ends inside a quoted field that starts here (is the file cut off?)');
  if (code === 'CSV_MAX_RECORD_SIZE')
    return notCsv(path, line, 'a record longer than 1 MiB starts here (is a quote left open?)');
  if (code === 'CSV_INVALID_CLOSING_QUOTE' || code === 'CSV_NON_TRIMABLE_CHAR_AFTER_CLOSING_QUOTE')
    return notCsv(path, line, 'a quoted field is followed by more text before the delimiter: not valid CSV');
  if (typeof code === 'string' && code.startsWith('CSV_'))
    return notCsv(path, line, `not valid CSV (${code.slice(4).toLowerCase().replaceAll('_', ' ')})`);
  return notReadable(path, err as NodeJS.ErrnoException);
}

interface AddressColumn {
  /** Every header name, trimmed and lower-cased. */
  columns: string[];
  index: number;
  /** No header: the first line is already an address. */
  plainList: boolean;
}

function findAddressColumn(
  path: string,
  header: ParsedRecord,
  options: { emailColumn?: string; allowPlainList?: boolean },
): AddressColumn {
  const columns = header.values.map(normaliseName);
  const wanted = options.emailColumn === undefined ? null : normaliseName(options.emailColumn);
  const index =
    wanted === null ? columns.findIndex((c) => (ADDRESS_COLUMNS as readonly string[]).includes(c)) : columns.indexOf(wanted);
  if (index !== -1) return { columns, index, plainList: false };
  if (wanted === null && options.allowPlainList && columns.length === 1 && columns[0]!.includes('@'))
    return { columns, index: 0, plainList: true };
  const expected =
    wanted === null
      ? `none is named ${ADDRESS_COLUMNS.join(', ')} (name the address column with --email-column)`
      : `none is named "${wanted}"`;
  throw notCsv(path, header.line, `no address column: the header has ${columns.map((c) => `"${c}"`).join(', ')}; ${expected}`);
}

interface ParsedRecord {
  /** The line the record starts on. */
  line: number;
  values: string[];
}

function lineBreaksIn(values: string[]): number {
  let count = 0;
  for (const v of values) {
    if (v.includes('\n') || v.includes('\r')) count += v.match(/\r\n|\r|\n/g)!.length;
  }
  return count;
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
    this.batch.push({ line: this.nextLine, values });
    this.nextLine += 1 + lineBreaksIn(values);
    if (this.batch.length < BATCH_SIZE) return true;
    const full = this.batch;
    this.batch = [];
    return super.push(full);
  }
}

/** Second pass: the file's records, in batches. */
async function* parseRecords(path: string, encoding: FileEncoding, delimiter: string): AsyncGenerator<ParsedRecord[]> {
  const parser = new NumberingParser({
    delimiter,
    bom: true,
    relax_quotes: true,
    relax_column_count: true,
    max_record_size: MAX_RECORD_CHARS,
  });
  const source = createReadStream(path);
  // pipeline destroys every stage on any error, so each error reaches us through the parser.
  const ignore = () => undefined;
  const batches =
    encoding === 'utf-8'
      ? pipeline(source, parser, ignore)
      : pipeline(source, iconv.decodeStream(encoding), parser, ignore);
  try {
    // Leaving this loop early (the consumer failed) destroys the streams and closes the file.
    for await (const batch of batches as AsyncIterable<ParsedRecord[]>) yield batch;
  } catch (err) {
    throw parseFailure(path, err, parser.nextLine);
  }
}

const isBlank = (values: string[]) => values.every((v) => v.trim() === '');

/**
 * Opens an address file: a CSV with a header row and an address column (named by `emailColumn`,
 * or one of ADDRESS_COLUMNS), or, with `allowPlainList`, one address per line with no header
 * (a single column whose first line has an @).
 */
export async function openAddressFile(
  path: string,
  options: { emailColumn?: string; allowPlainList?: boolean } = {},
): Promise<AddressFile> {
  const { encoding, head } = await inspectFile(path);
  const delimiter = detectDelimiter(encoding === 'utf-8' ? head : iconv.decode(head, encoding));
  const records = parseRecords(path, encoding, delimiter);

  let header: ParsedRecord | undefined;
  let afterHeader: ParsedRecord[] = [];
  let address: AddressColumn;
  try {
    while (!header) {
      const next = await records.next();
      if (next.done) break;
      const at = next.value.findIndex((r) => !isBlank(r.values));
      if (at === -1) continue;
      header = next.value[at];
      afterHeader = next.value.slice(at + 1);
    }
    if (!header) throw notCsv(path, 1, 'no header row (the file has only blank lines)');
    address = findAddressColumn(path, header, options);
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
    // blank header cannot be named in a template; a later duplicate name wins.
    const fields: Record<string, string> = Object.create(null);
    for (let i = 0; i < columns.length && i < values.length; i++) if (columns[i]) fields[columns[i]!] = values[i]!;
    fields.email = email;
    return { kind: 'address', line, email, fields };
  };
  const toRows = (batch: ParsedRecord[]) => batch.filter((r) => !isBlank(r.values)).map(toRow);

  return {
    format: { encoding, delimiter, addressColumn: plainList ? null : columns[addressIndex]! },
    batches: async function* () {
      yield toRows(plainList ? [header, ...afterHeader] : afterHeader);
      for await (const batch of records) yield toRows(batch);
    },
  };
}

export interface ImportReport extends ImportCounts {
  invalid: InvalidLine[];
  format: FileFormat;
  /** The campaign was completed and went back to `sending` for its new recipients. */
  reopened: boolean;
}

/**
 * Imports a CSV into a campaign in one transaction: rows are staged as they stream in, and only
 * a file read to its end is committed. Any failure leaves the campaign exactly as it was.
 */
export async function importRecipients(
  store: Store,
  campaignId: number,
  path: string,
  options: { emailColumn?: string; now: number },
): Promise<ImportReport> {
  const campaign = await requireCampaign(store, campaignId);
  if (campaign.status === 'cancelled')
    throw new UserError(`campaign ${campaignId} is cancelled: nothing can be imported into it (create a new campaign)`);
  const file = await openAddressFile(path, { emailColumn: options.emailColumn });
  const invalid: InvalidLine[] = [];
  const session = await store.beginImport(campaignId);
  let counts: ImportCounts;
  try {
    for await (const batch of file.batches()) {
      const staged: StagedRecipient[] = [];
      for (const row of batch) {
        if (row.kind === 'invalid') invalid.push({ line: row.line, value: row.value, reason: row.reason });
        else staged.push({ line: row.line, email: row.email, fields: row.fields });
      }
      if (staged.length > 0) await session.add(staged);
    }
    counts = await session.commit();
  } catch (err) {
    await session.abort();
    throw err;
  }
  // Only a completed campaign moves; the store checks its status inside the transition.
  const reopened = counts.imported > 0 && (await store.transition(campaignId, ['completed'], 'sending', options.now)).ok;
  await store.addEvent({ type: 'import', campaignId, at: options.now, file: basename(path), ...counts, invalid: invalid.length });
  return { ...counts, invalid, format: file.format, reopened };
}

export interface SuppressionImportReport {
  added: number;
  /** Valid addresses already on the list, or repeated in the file. */
  duplicates: number;
  invalid: InvalidLine[];
  format: FileFormat;
}

/**
 * Puts every valid address of a CSV (or of a plain list, one address per line) on the
 * suppression list, all in one transaction once the whole file has been read.
 */
export async function importSuppressions(
  store: Store,
  path: string,
  options: { reason: string; emailColumn?: string; now: number },
): Promise<SuppressionImportReport> {
  const file = await openAddressFile(path, { emailColumn: options.emailColumn, allowPlainList: true });
  const addresses: string[] = [];
  const invalid: InvalidLine[] = [];
  for await (const batch of file.batches()) {
    for (const row of batch) {
      if (row.kind === 'invalid') invalid.push({ line: row.line, value: row.value, reason: row.reason });
      else addresses.push(row.email);
    }
  }
  const added = await store.addSuppressions(addresses, options.reason, options.now);
  return { added, duplicates: addresses.length - added, invalid, format: file.format };
}

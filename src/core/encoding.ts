/**
 * A file's encoding, decided while it streams past once (a pipe or a FIFO cannot be read twice).
 *
 * ASCII is the same bytes in UTF-8 and in Windows-1252, so the file is read as UTF-8 until its
 * first byte that is not UTF-8. If no multi-byte UTF-8 character came before that byte, every
 * byte so far was ASCII and the whole file is Windows-1252 (what Excel on a Spanish-locale
 * Windows writes). A file with both — valid multi-byte UTF-8 (a BOM counts) and bytes that are
 * not UTF-8, in either order — is refused, naming the first lines that are not UTF-8: read either
 * way, some of its names would come out wrong ("JosÃ©" or "Jos�"). The operator can then force
 * one encoding.
 *
 * Line numbers count CRLF, LF and a lone CR as one line break each, as the CSV reader does.
 */
import iconv from 'iconv-lite';
import { UserError } from './types.js';

export type FileEncoding = 'utf-8' | 'windows-1252';

/** Lines named in a refusal; one more is looked for to say "and more". */
const LINES_NAMED = 5;

const BOM = [0xef, 0xbb, 0xbf] as const;
const EMPTY = Buffer.alloc(0);

/** Windows-1252 bytes as UTF-8 bytes (bytes Windows-1252 leaves undefined become U+FFFD). */
const cp1252ToUtf8 = (bytes: Buffer) => Buffer.from(iconv.decode(bytes, 'windows-1252'), 'utf8');

/** The same wording for every refusal of this file's content. */
export const notCsv = (name: string, line: number, why: string) => new UserError(`${name}: line ${line}: ${why}; nothing was imported`);

function listLines(lines: number[]): string {
  const shown = lines.slice(0, LINES_NAMED);
  const more = lines.length > LINES_NAMED ? ' and more' : '';
  if (shown.length === 1) return `line ${shown[0]}${more}`;
  return `lines ${shown.slice(0, -1).join(', ')}${more ? ', ' : ' and '}${shown[shown.length - 1]}${more}`;
}

/**
 * Length of the well-formed UTF-8 sequence starting at `i` (Unicode table 3-7), 0 if the byte
 * there cannot start or continue one, or -1 if the buffer ends before the sequence could be
 * complete (every byte so far is right).
 */
function sequenceLength(buf: Uint8Array, i: number): number {
  const b = buf[i]!;
  let length: number;
  let low = 0x80;
  let high = 0xbf;
  if (b >= 0xc2 && b <= 0xdf) length = 2;
  else if (b >= 0xe0 && b <= 0xef) {
    length = 3;
    if (b === 0xe0) low = 0xa0; // overlong
    if (b === 0xed) high = 0x9f; // surrogates
  } else if (b >= 0xf0 && b <= 0xf4) {
    length = 4;
    if (b === 0xf0) low = 0x90; // overlong
    if (b === 0xf4) high = 0x8f; // past U+10FFFF
  } else return 0;
  for (let k = 1; k < length; k++) {
    if (i + k >= buf.length) return -1;
    const c = buf[i + k]!;
    if (c < (k === 1 ? low : 0x80) || c > (k === 1 ? high : 0xbf)) return 0;
  }
  return length;
}

/**
 * Turns a file's bytes, chunk by chunk, into UTF-8 text for the CSV parser, deciding the encoding
 * on the way. `write` and `end` throw a UserError for binary data or UTF-16 at once; a refusal
 * for mixed encodings waits until the lines to name are known (`end`, or `refusal` turns
 * non-null), and nothing is returned meanwhile.
 */
export class StreamingDecoder {
  /** The encoding in use; final once `end` has returned. */
  encoding: FileEncoding;
  private readonly forced: boolean;
  /** Line of the byte being looked at (1-based). */
  private line = 1;
  private afterCR = false;
  private started = false;
  /** Bytes of an unfinished multi-byte sequence at the end of the last chunk. */
  private carry: Buffer = Buffer.alloc(0);
  /** `carry` was already decoded and returned (Windows-1252 text is decoded byte by byte). */
  private carryReturned = false;
  private firstUtf8: { line: number; bom: boolean } | null = null;
  /** First lines holding bytes that are not UTF-8 (at most one more than are named). */
  private readonly badLines: number[] = [];
  private failing = false;

  constructor(
    private readonly name: string,
    forced?: FileEncoding,
  ) {
    this.encoding = forced ?? 'utf-8';
    this.forced = forced !== undefined;
  }

  /** Set once the file is refused and the lines to name are known: throw it. */
  get refusal(): UserError | null {
    return this.failing && this.badLines.length > LINES_NAMED ? this.refuse() : null;
  }

  /** This chunk as UTF-8 bytes (complete characters only); empty while a refusal is being prepared. */
  write(chunk: Buffer): Buffer {
    const data = this.carry.length > 0 ? Buffer.concat([this.carry, chunk]) : chunk;
    let from = 0;
    if (!this.started) {
      if (data.length < 3 && BOM.slice(0, data.length).every((b, k) => data[k] === b)) {
        this.carry = data; // perhaps the start of a BOM: wait for more
        return EMPTY;
      }
      this.started = true;
      if ((data[0] === 0xff && data[1] === 0xfe) || (data[0] === 0xfe && data[1] === 0xff))
        throw notCsv(this.name, 1, 'the file is UTF-16 text; save it as "CSV UTF-8" instead');
      if (data[0] === BOM[0] && data[1] === BOM[1] && data[2] === BOM[2]) {
        from = 3;
        if (this.encoding === 'utf-8') this.firstUtf8 = { line: 1, bom: true };
      }
    }
    const wasCp1252 = this.encoding === 'windows-1252';
    const { end, switchedAt } = this.scan(data, from);
    if (this.failing) {
      this.carry = data.subarray(end);
      return EMPTY;
    }
    let text: Buffer;
    if (wasCp1252) {
      // The carried bytes were decoded with the chunk before.
      text = cp1252ToUtf8(this.carryReturned ? chunk : data.subarray(from));
      this.carryReturned = true;
    } else if (switchedAt !== null) {
      // Everything before the first byte that is not UTF-8 was ASCII: the same in both.
      text = Buffer.concat([data.subarray(from, switchedAt), cp1252ToUtf8(data.subarray(switchedAt))]);
      this.carryReturned = true;
    } else {
      text = data.subarray(from, end);
      this.carryReturned = false;
    }
    this.carry = Buffer.from(data.subarray(end));
    return text;
  }

  /** What is left at the end of the file; throws the refusal if there is one. */
  end(): Buffer {
    let text: Buffer = EMPTY;
    if (this.carry.length > 0) {
      // A sequence cut off by the end of the file (its bytes are not UTF-8), or a file of one or
      // two bytes that could have begun a BOM.
      const data = this.carry;
      const returned = this.started && this.carryReturned;
      this.carry = Buffer.alloc(0);
      this.started = true;
      const wasCp1252 = this.encoding === 'windows-1252';
      const { switchedAt } = this.scan(data, 0, true);
      if (!this.failing && !returned) text = wasCp1252 || switchedAt !== null ? cp1252ToUtf8(data) : data;
    }
    if (this.failing) throw this.refuse();
    return text;
  }

  /**
   * Walks the bytes from `from`: counts lines, refuses NUL, notes UTF-8 and non-UTF-8 bytes.
   * Returns where an unfinished sequence at the end starts (data.length if none) and where the
   * reading switched to Windows-1252, if it did here.
   */
  private scan(data: Buffer, from: number, final = false): { end: number; switchedAt: number | null } {
    let switchedAt: number | null = null;
    const checkUtf8 = !(this.forced && this.encoding === 'windows-1252');
    let i = from;
    const n = data.length;
    while (i < n) {
      const b = data[i]!;
      if (b < 0x80) {
        if (b === 0x0d) {
          this.line++;
          this.afterCR = true;
        } else {
          if (b === 0x0a) {
            if (!this.afterCR) this.line++;
          } else if (b === 0) {
            throw notCsv(this.name, this.line, 'binary data (NUL bytes): this is not a CSV file');
          }
          this.afterCR = false;
        }
        i++;
        continue;
      }
      this.afterCR = false;
      if (!checkUtf8) {
        i++;
        continue;
      }
      const length = sequenceLength(data, i);
      if (length === -1 && !final) return { end: i, switchedAt };
      if (length > 0) {
        this.firstUtf8 ??= { line: this.line, bom: false };
        if (this.encoding === 'windows-1252' && !this.forced) this.failing = true; // UTF-8 after all
        i += length;
        continue;
      }
      // A byte that is not UTF-8 (or a sequence cut off by the end of the file).
      if (this.badLines[this.badLines.length - 1] !== this.line) this.badLines.push(this.line);
      if (this.encoding === 'utf-8' && !this.failing) {
        if (this.forced || this.firstUtf8) this.failing = true;
        else {
          this.encoding = 'windows-1252';
          switchedAt = i;
        }
      }
      if (this.failing && this.badLines.length > LINES_NAMED) return { end: n, switchedAt };
      i++;
    }
    return { end: n, switchedAt };
  }

  private refuse(): UserError {
    const lines = listLines(this.badLines);
    const are = this.badLines.length === 1 ? 'is' : 'are';
    if (this.forced)
      return new UserError(
        `${this.name}: ${lines} ${are} not UTF-8 (--encoding utf-8 was given); is the file Windows-1252 (--encoding windows-1252)? nothing was imported`,
      );
    const utf8 = this.firstUtf8!;
    const evidence = utf8.bom ? 'the file starts with a UTF-8 byte order mark' : `line ${utf8.line} is UTF-8`;
    return new UserError(
      `${this.name}: mixed encodings: ${evidence} but ${lines} ${are} not; ` +
        'save the file as UTF-8, or choose how to read it with --encoding utf-8 or --encoding windows-1252; nothing was imported',
    );
  }
}

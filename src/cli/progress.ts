/**
 * Long work seen from a terminal: a progress line redrawn in place on stderr (how much is done,
 * the rate, the time left), and a status line kept below a command's log lines. Both exist only
 * for a person watching: `terminalWanted` says no when stdout or stderr is not a terminal (cron,
 * a pipe, a file) or with --json, and then the command prints exactly what it prints without
 * them.
 *
 * Used by `import`, `suppress import` and `run`; made for any command with a count to show (a
 * `db copy` counts rows the same way).
 */
import { closeSync, createReadStream, openSync, readSync, statSync } from 'node:fs';

/** What a progress line writes to: process.stderr, or a test's stand-in. */
export interface LineStream {
  isTTY?: boolean;
  columns?: number;
  write(text: string): unknown;
}

/** A person is watching: stdout and stderr are terminals, and no JSON was asked for. */
export function terminalWanted(options: { json?: boolean }, out: { isTTY?: boolean } = process.stdout, err: { isTTY?: boolean } = process.stderr): boolean {
  return !options.json && out.isTTY === true && err.isTTY === true;
}

const CLEAR = '\r\x1b[2K';

/** Cut to the terminal's width (one column spare: a full line would wrap on some terminals). */
function fit(text: string, columns: number | undefined): string {
  const width = Math.max(20, (columns || 80) - 1);
  const chars = [...text];
  return chars.length <= width ? text : chars.slice(0, width - 1).join('') + '…';
}

// Made on first use: creating an Intl.NumberFormat loads ICU's number data (~20–25 ms on the
// bench machine), and `run`, which imports this module, mostly ends without counting anything.
let number: Intl.NumberFormat | undefined;
export const count = (n: number) => (number ??= new Intl.NumberFormat('en')).format(Math.round(n));

/** "45 s", "3 min 05 s", "1 h 12 min". */
export function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
}

export interface ProgressOptions {
  /** What is worked on, shown first: a file name. */
  label: string;
  /** What is counted, plural: "lines", "rows". */
  unit: string;
  /** How many there are, if known (or estimated: `estimated`). */
  total?: number | null;
  /** The total is an estimate: shown as "≈". */
  estimated?: boolean;
  /** Where the line goes; default process.stderr. */
  stream?: LineStream;
  now?: () => number;
  /** Nothing is drawn before this long: short work shows nothing extra. Default 500 ms. */
  delayMs?: number;
  /** Redrawn at most this often. Default 250 ms. */
  intervalMs?: number;
  /** Draw on a timer of its own (default); false: only when `draw()` is called (tests). */
  timer?: boolean;
}

/** The rate is measured over this much of the recent past: it follows a change of pace. */
const RATE_WINDOW_MS = 5000;

/**
 * A line on stderr: "clientes.csv: 412,000 of ≈1,000,000 lines (41%) · 52,000 lines/s · ≈ 11 s
 * left". `update` only records numbers (call it as often as you like); the line is redrawn on a
 * timer, and `phase` ("writing to the database") draws at once, since what follows may keep the
 * event loop busy. `stop` clears it, leaving the terminal as it was.
 */
export class Progress {
  private done = 0;
  private total: number | null;
  private phaseText: string | null = null;
  private final = false;
  private readonly startedAt: number;
  private readonly samples: { at: number; done: number }[] = [];
  private shown = false;
  private stopped = false;
  private timer: NodeJS.Timeout | null = null;
  private readonly stream: LineStream;
  private readonly now: () => number;
  private readonly delayMs: number;

  constructor(private readonly options: ProgressOptions) {
    this.stream = options.stream ?? process.stderr;
    this.now = options.now ?? Date.now;
    this.delayMs = options.delayMs ?? 500;
    this.total = options.total ?? null;
    this.startedAt = this.now();
    if (options.timer !== false) {
      this.timer = setInterval(() => this.draw(), options.intervalMs ?? 250);
      this.timer.unref();
    }
  }

  update(done: number, total?: number | null): void {
    this.done = done;
    if (total !== undefined) this.total = total;
    const at = this.now();
    // The rate counts from the first update: the time before it (opening, start-up) is not work.
    const last = this.samples[this.samples.length - 1];
    if (!last || at - last.at >= 100) {
      this.samples.push({ at, done });
      while (this.samples.length > 2 && at - this.samples[1]!.at >= RATE_WINDOW_MS) this.samples.shift();
    }
  }

  /** Everything was counted: the total is the count (no longer an estimate). */
  countDone(): void {
    this.total = this.done;
    this.final = true;
  }

  /** A step with no count of its own ("writing to the database"); null: back to counting. */
  phase(text: string | null): void {
    this.phaseText = text;
    this.draw();
  }

  /** Per second, over the recent past; null until there is something to measure. */
  rate(): number | null {
    const first = this.samples[0];
    if (!first) return null;
    const ms = this.now() - first.at;
    if (ms < 200 || this.done <= first.done) return null;
    return ((this.done - first.done) * 1000) / ms;
  }

  /** The line as it would be drawn now. */
  text(): string {
    const o = this.options;
    const total = this.total === null ? null : Math.max(this.total, this.done);
    const approx = o.estimated && !this.final ? '≈' : '';
    let head = `${o.label}: ${count(this.done)}`;
    if (total !== null && total > 0) head += ` of ${approx}${count(total)} ${o.unit} (${Math.min(100, Math.floor((this.done / total) * 100))}%)`;
    else head += ` ${o.unit}`;
    const elapsed = duration(this.now() - this.startedAt);
    if (this.phaseText) return `${head} · ${this.phaseText}… ${elapsed}`;
    const parts = [head];
    const rate = this.rate();
    if (rate !== null) {
      parts.push(`${count(rate)} ${o.unit}/s`);
      if (total !== null && total > this.done) parts.push(`${approx ? '≈ ' : ''}${duration(((total - this.done) / rate) * 1000)} left`);
    }
    if (rate === null || total === null) parts.push(elapsed);
    return parts.join(' · ');
  }

  /** Redraws the line (once the delay has passed). */
  draw(): void {
    if (this.stopped || this.now() - this.startedAt < this.delayMs) return;
    this.stream.write(CLEAR + fit(this.text(), this.stream.columns));
    this.shown = true;
  }

  /** Clears the line and stops drawing. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.shown) this.stream.write(CLEAR);
    this.shown = false;
  }
}

/** A Progress when a person watches; otherwise one that draws nothing (same calls, no output). */
export function progress(wanted: boolean, options: ProgressOptions): Progress {
  if (wanted) return new Progress(options);
  return new Progress({ ...options, stream: { write: () => undefined }, timer: false, delayMs: Infinity });
}

/**
 * A line that stays below the lines a command prints (a `run`'s log): each log line is written
 * above it, and it is drawn again under it, in one write. `clear` takes it away (before the
 * command's last words, or a message on stderr).
 */
export class StatusLine {
  private text = '';
  private shown = false;

  constructor(private readonly stream: LineStream = process.stdout) {}

  set(text: string): void {
    this.text = text;
    this.stream.write(CLEAR + fit(text, this.stream.columns));
    this.shown = text !== '';
  }

  /** One line of output, above the status line. */
  log(line: string): void {
    const below = this.text ? fit(this.text, this.stream.columns) : '';
    this.stream.write((this.shown ? CLEAR : '') + line + '\n' + below);
    this.shown = below !== '';
  }

  clear(): void {
    if (this.shown) this.stream.write(CLEAR);
    this.shown = false;
  }
}

/** Counts line breaks across the pieces of a file: LF, CRLF and a lone CR each count once. */
class LineBreaks {
  lines = 0;
  private afterCR = false;

  add(buf: Buffer, length = buf.length): void {
    let n = 0;
    for (let i = 0; i < length; i++) {
      const b = buf[i];
      if (b === 0x0a) {
        if (!this.afterCR) n++;
        this.afterCR = false;
      } else {
        this.afterCR = b === 0x0d;
        if (this.afterCR) n++;
      }
    }
    this.lines += n;
  }
}

/** Line breaks in one piece of a file. */
function breaks(buf: Buffer, length: number): number {
  const counter = new LineBreaks();
  counter.add(buf, length);
  return counter.lines;
}

/** How much of a file is read, at each of three places, to estimate its lines. */
const SAMPLE_BYTES = 256 * 1024;

/**
 * About how many lines a regular file holds, for a progress line's total: counted exactly in a
 * file of up to 1 MiB, otherwise from the line length in three samples (start, middle, end) —
 * within a few percent for the exports people import. Null for what is not a regular file (a
 * pipe, standard input) or cannot be read: then progress shows a count without a total.
 */
export function estimateLineCount(path: string): number | null {
  let fd: number | undefined;
  try {
    const st = statSync(path);
    if (!st.isFile()) return null;
    fd = openSync(path, 'r');
    const size = st.size;
    if (size === 0) return 0;
    const buf = Buffer.alloc(Math.min(size, 1 << 20) + 1);
    if (size <= 1 << 20) {
      const n = readSync(fd, buf, 0, size, 0);
      return breaks(buf, n) + (buf[n - 1] === 0x0a || buf[n - 1] === 0x0d ? 0 : 1);
    }
    let lines = 0;
    let bytes = 0;
    for (const at of [0, Math.floor(size / 2), size - SAMPLE_BYTES]) {
      const n = readSync(fd, buf, 0, SAMPLE_BYTES, at);
      lines += breaks(buf, n);
      bytes += n;
    }
    return lines === 0 ? 1 : Math.round((size * lines) / bytes);
  } catch {
    return null;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * A file (a path, or a stream such as standard input) read once, counting its lines as they go
 * by: for a progress line where the reader itself reports nothing. A file opened here is closed
 * however the reading ends (a reader that stops early ends the generator, which runs `finally`).
 */
export async function* lineCountingReader(source: string | AsyncIterable<Buffer | string>, onLines: (lines: number) => void): AsyncGenerator<Buffer> {
  const stream = typeof source === 'string' ? createReadStream(source) : source;
  const counter = new LineBreaks();
  try {
    for await (const piece of stream) {
      const chunk = typeof piece === 'string' ? Buffer.from(piece) : piece;
      counter.add(chunk);
      onLines(counter.lines);
      yield chunk;
    }
  } finally {
    if (typeof source === 'string') (stream as ReturnType<typeof createReadStream>).destroy();
  }
}

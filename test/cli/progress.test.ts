/**
 * Progress for long work in a terminal: the drawing (on a stand-in stream, on a fake clock), the
 * line estimates on real files, and the real CLI in a real pseudo-terminal (`script`) — and the
 * same commands without one, which must print nothing extra.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { estimateLineCount, lineCountingReader, Progress, progress, StatusLine, terminalWanted } from '../../src/cli/progress.js';
import { standing } from '../../src/cli/run-status.js';
import type { CampaignSummary } from '../../src/core/types.js';
import { createTestDatabase, pgUrl } from '../helpers/backends.js';
import { CLI, runCli, tempDir } from '../helpers/cli.js';
import { addRecipients, settings, tempStore } from '../helpers/store.js';

/** A terminal stand-in: what was written, and the line a terminal would now show at the bottom. */
function fakeTerminal(columns = 80) {
  const writes: string[] = [];
  return {
    isTTY: true,
    columns,
    writes,
    write: (s: string) => writes.push(s),
    /** The screen's lines, as a terminal would show them (\r returns, ESC[2K clears the line). */
    screen(): string[] {
      const lines: string[] = [''];
      for (const ch of writes.join('').replace(/\r\u001B\[2K/g, '\u0000')) {
        if (ch === '\u0000') lines[lines.length - 1] = '';
        else if (ch === '\n') lines.push('');
        else lines[lines.length - 1] += ch;
      }
      return lines;
    },
  };
}

describe('a progress line', () => {
  it('draws nothing before its delay, then count of total, percent, rate and time left; stop clears it', () => {
    let now = 0;
    const term = fakeTerminal();
    const p = new Progress({ label: 'clientes.csv', unit: 'lines', total: 1_000_000, estimated: true, stream: term, now: () => now, timer: false });
    p.update(0);
    now = 300;
    p.update(15_000);
    p.draw();
    expect(term.writes).toEqual([]); // short work shows nothing
    now = 1000;
    p.update(50_000);
    p.draw();
    // 50,000 lines a second since the first update; 950,000 to go.
    expect(term.screen().at(-1)).toBe('clientes.csv: 50,000 of ≈1,000,000 lines (5%) · 50,000 lines/s · ≈ 19 s left');
    now = 2000;
    p.update(110_000);
    p.draw();
    expect(term.screen()).toEqual(['clientes.csv: 110,000 of ≈1,000,000 lines (11%) · 55,000 lines/s · ≈ 16 s left']);
    // Everything read: the count is the total; a step without a count shows what it does.
    p.countDone();
    now = 3300;
    p.phase('writing to the database');
    expect(term.screen()).toEqual(['clientes.csv: 110,000 of 110,000 lines (100%) · writing to the database… 3 s']);
    p.stop();
    expect(term.screen()).toEqual(['']);
    p.draw();
    expect(term.screen()).toEqual(['']); // stopped: draws no more
  });

  it('without a total (standard input): the count, the rate and the time it has taken', () => {
    let now = 0;
    const term = fakeTerminal();
    const p = new Progress({ label: 'standard input', unit: 'lines', stream: term, now: () => now, timer: false });
    p.update(0);
    now = 2000;
    p.update(4000);
    p.draw();
    expect(term.screen()).toEqual(['standard input: 4,000 lines · 2,000 lines/s · 2 s']);
  });

  it('fits the terminal: never wider than its columns less one', () => {
    let now = 0;
    const term = fakeTerminal(40);
    const p = new Progress({ label: 'a-long-file-name-for-a-narrow-terminal.csv', unit: 'lines', total: 10, stream: term, now: () => now, timer: false });
    now = 1000;
    p.update(3);
    p.draw();
    const line = term.screen()[0]!;
    expect([...line]).toHaveLength(39);
    expect(line.endsWith('…')).toBe(true);
  });

  it('not wanted: the same calls draw nothing at all', () => {
    const term = fakeTerminal();
    const p = progress(false, { label: 'x', unit: 'lines', total: 10, stream: term, delayMs: 0, timer: false });
    p.update(5);
    p.phase('writing');
    p.draw();
    p.stop();
    expect(term.writes).toEqual([]);
    // Drawn when wanted, with the very same calls.
    const shown = progress(true, { label: 'x', unit: 'lines', total: 10, stream: term, delayMs: 0, timer: false });
    shown.update(5);
    shown.draw();
    expect(term.screen()).toEqual(['x: 5 of 10 lines (50%) · 0 s']);
    shown.stop();
  });

  it('is wanted only when stdout and stderr are terminals and no JSON was asked for', () => {
    const tty = { isTTY: true };
    const pipe = { isTTY: false };
    expect(terminalWanted({}, tty, tty)).toBe(true);
    expect(terminalWanted({ json: true }, tty, tty)).toBe(false);
    expect(terminalWanted({}, pipe, tty)).toBe(false);
    expect(terminalWanted({}, tty, pipe)).toBe(false);
    expect(terminalWanted({}, {}, {})).toBe(false);
  });
});

describe('a status line under a log', () => {
  it('stays at the bottom while log lines go above it; clear takes it away', () => {
    const term = fakeTerminal();
    const line = new StatusLine(term);
    line.log('first');
    line.set('#1 Spring: 0/10 sent');
    line.log('second');
    line.log('third');
    expect(term.screen()).toEqual(['first', 'second', 'third', '#1 Spring: 0/10 sent']);
    line.set('#1 Spring: 4/10 sent');
    expect(term.screen()).toEqual(['first', 'second', 'third', '#1 Spring: 4/10 sent']);
    line.clear();
    line.log('done');
    expect(term.screen()).toEqual(['first', 'second', 'third', 'done', '#1 Spring: 4/10 sent']);
    line.clear();
    expect(term.screen()).toEqual(['first', 'second', 'third', 'done', '']);
  });

  it('says where a campaign stands: counts, then what it waits for and until when in its zone, or its open batch', () => {
    const T = Date.UTC(2026, 10, 27, 12, 0, 0);
    const summary = (over: Partial<CampaignSummary['campaign']>, waiting: CampaignSummary['waiting'], counts: Partial<CampaignSummary['counts']> = {}) =>
      ({
        campaign: { id: 3, name: 'Spring', status: 'sending', timeZone: 'America/Santiago', batchClaimed: 0, batchSize: 50, batchesSent: 2, ...over },
        counts: { total: 120, pending: 20, sending: 0, sent: 96, failed: 2, suppressed: 0, in_doubt: 1, ...counts },
        runners: [],
        waiting,
      }) as unknown as CampaignSummary;
    expect(standing(summary({}, { reason: 'interval', until: T + 27_000 }), T)).toBe(
      '#3 Spring: 96/120 sent · 2 failed · 1 in doubt · next batch in 0:27 (2026-11-27 09:00 America/Santiago)',
    );
    expect(standing(summary({}, { reason: 'window', until: T + 9 * 3600_000 }), T)).toBe(
      '#3 Spring: 96/120 sent · 2 failed · 1 in doubt · outside its send window for 9:00:00 (2026-11-27 18:00 America/Santiago)',
    );
    expect(standing(summary({ batchClaimed: 12 }, null, { failed: 0, in_doubt: 0 }), T)).toBe('#3 Spring: 96/120 sent · batch 3: 12/50 claimed');
    expect(standing(summary({ status: 'completed' }, null, { failed: 0, in_doubt: 0 }), T)).toBe('#3 Spring: 96/120 sent · completed');
  });
});

describe('estimating a file’s lines', () => {
  let t: ReturnType<typeof tempDir>;
  beforeEach(() => {
    t = tempDir('aremko-progress-');
  });
  afterEach(() => t.cleanup());

  it('counts a small file exactly, whatever its line endings', () => {
    const f = join(t.dir, 'small.csv');
    writeFileSync(f, 'email\r\na@x.cl\nb@x.cl\rc@x.cl\r\nd@x.cl');
    expect(estimateLineCount(f)).toBe(5);
    writeFileSync(f, 'email\na@x.cl\n');
    expect(estimateLineCount(f)).toBe(2);
    writeFileSync(f, '');
    expect(estimateLineCount(f)).toBe(0);
  });

  it('estimates a large file within a few percent from three samples', async () => {
    const f = join(t.dir, 'large.csv');
    const out = createWriteStream(f);
    out.write('email,nombre,comuna\n');
    const comunas = ['Ñuñoa', '"Santiago, Centro"', 'Providencia', 'Puerto Varas', 'Viña del Mar'];
    for (let i = 1; i <= 120_000; i++) out.write(`cliente${i}@example.cl,Nombre ${i % 97},${comunas[i % comunas.length]}\n`);
    out.end();
    await once(out, 'finish');
    const estimate = estimateLineCount(f)!;
    expect(Math.abs(estimate - 120_001) / 120_001).toBeLessThan(0.03);
  });

  it('has no estimate for what is not a regular file', () => {
    expect(estimateLineCount(join(t.dir, 'missing.csv'))).toBeNull();
    expect(estimateLineCount(t.dir)).toBeNull();
    const fifo = join(t.dir, 'fifo');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    expect(estimateLineCount(fifo)).toBeNull();
  });

  it('counts lines as a file goes by, a CRLF split between two pieces counted once', async () => {
    const pieces = [Buffer.from('email\r'), Buffer.from('\na@x.cl\r'), Buffer.from('b@x.cl\n'), Buffer.from('c@x.cl')];
    async function* source() {
      yield* pieces;
    }
    const seen: number[] = [];
    const out: Buffer[] = [];
    for await (const chunk of lineCountingReader(source(), (n) => seen.push(n))) out.push(chunk);
    expect(seen).toEqual([1, 2, 3, 3]);
    expect(Buffer.concat(out).toString()).toBe(pieces.map(String).join(''));
  });
});

// ---- the real CLI, in a real pseudo-terminal ------------------------------------------------

const hasScript = spawnSync('script', ['--version']).status === 0;

/** The CLI running on a pseudo-terminal (`script`): what the terminal got so far, and at the end. */
function startInTerminal(args: string[], cwd: string) {
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const command = [process.execPath, CLI, ...args].map(quote).join(' ');
  const child = spawn('script', ['-qfec', command, '/dev/null'], { cwd, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (d) => (output += d));
  child.stderr.resume();
  const done = new Promise<{ code: number | null; output: string }>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
  return {
    done,
    /**
     * Resolves once the terminal's output matches; fails, showing the output, when the command
     * ends first or nothing matches within `withinMs` (a bound on a hang, not a guess at a time).
     */
    waitFor(pattern: RegExp, withinMs = 30_000): Promise<void> {
      return new Promise((resolve, reject) => {
        const fail = (why: string) => reject(new Error(`${why} before ${pattern}:\n${output.slice(0, 2000)}`));
        const timer = setTimeout(() => fail(`nothing within ${withinMs} ms`), withinMs);
        const check = () => {
          if (!pattern.test(output)) return;
          child.stdout.off('data', check);
          clearTimeout(timer);
          resolve();
        };
        child.stdout.on('data', check);
        void done.then((r) => fail(`ended (exit ${r.code})`));
        check();
      });
    },
  };
}

/** Runs the CLI on a pseudo-terminal to its end; what the terminal got. */
const inTerminal = (args: string[], cwd: string) => startInTerminal(args, cwd).done;

/**
 * Feeds `lines` to the CLI through a named pipe it reads as its file: the first half, then — once
 * the terminal shows `midway` — the rest. The command is thus still reading when its progress
 * line is due, however fast it reads, and nothing waits on a guessed time.
 */
async function throughPipe(args: string[], path: string, cwd: string, lines: string[], midway: RegExp) {
  expect(spawnSync('mkfifo', [path]).status).toBe(0);
  const run = startInTerminal(args, cwd);
  const pipe = createWriteStream(path); // opens once the command opens it to read
  const half = Math.floor(lines.length / 2);
  pipe.write(lines.slice(0, half).join(''));
  // Fed to its end either way: a command left waiting for the rest would never exit.
  const shown = await run.waitFor(midway).then(() => null, (err: Error) => err);
  pipe.end(lines.slice(half).join(''));
  const result = await run.done;
  if (shown) throw shown;
  return result;
}

/** The progress frames in a terminal's output: each redraw starts with CR and a line clear. */
const frames = (output: string) => output.split('\r\u001B[2K').slice(1).map((f) => f.replace(/\r?\n[\s\S]*$/, ''));

describe.skipIf(!hasScript && process.env.CI !== 'true')('in a terminal and not (script -qfec)', () => {
  let t: ReturnType<typeof tempDir>;
  const ROWS = 100_000;
  const lines = ['email,nombre\n', ...Array.from({ length: ROWS }, (_, i) => `cliente${i}@example.cl,Nombre ${i}\n`)];
  /** The file as a pipe the test feeds (piped/big.csv): no size, so no total until it is all read. */
  const piped = () => join(t.dir, 'piped', 'big.csv');
  beforeEach(async () => {
    t = tempDir('aremko-progress-cli-');
    mkdirSync(join(t.dir, 'piped'));
    const out = createWriteStream(join(t.dir, 'big.csv'));
    for (let i = 0; i < lines.length; i += 1000) out.write(lines.slice(i, i + 1000).join(''));
    out.end();
    await once(out, 'finish');
    writeFileSync(join(t.dir, 'm.html'), '<p>Hola {{nombre}}</p>');
    const created = await runCli(['--db', t.db, 'campaign', 'create', '--name', 'Big', '--subject', 'Hola', '--from', 'hola@aremko.cl', '--html', join(t.dir, 'm.html')]);
    expect(created.code, created.stderr).toBe(0);
  });
  afterEach(() => t.cleanup());

  /** A frame while lines are read from a pipe: the count, the rate once there is one, the time. */
  const COUNTING = /^big\.csv: [1-9][\d,]* lines( · [\d,]+ lines\/s)? · \d+ s$/;
  const countOf = (frame: string) => Number(/: ([\d,]+) /.exec(frame)![1]!.replace(/,/g, ''));
  /**
   * The counting frames of a file fed half, then the rest (throughPipe): the first came while
   * only the first half was there, and none counts more lines than the file has. (Every line
   * read may show as still counting: the last of the data and the pipe's end are two reads, and
   * the line is redrawn on a timer between them when the feeding process is slow to close it.)
   */
  const expectCountingFrames = (counts: number[]) => {
    expect(counts[0]).toBeLessThanOrEqual(Math.floor(lines.length / 2));
    expect(Math.max(...counts)).toBeLessThanOrEqual(lines.length);
  };

  it('import: lines read, rate and time while it runs, then the usual summary; nothing extra in a pipe or with --json', async () => {
    const r = await throughPipe(['--db', t.db, 'import', '1', piped()], piped(), t.dir, lines, /big\.csv: [1-9][\d,]* lines/);
    expect(r.code, r.output).toBe(0);
    const shown = frames(r.output);
    const counting = shown.filter((f) => COUNTING.test(f));
    expect(counting.length, r.output.slice(0, 2000)).toBeGreaterThan(0);
    const counts = counting.map(countOf);
    expect(counts).toEqual([...counts].sort((a, b) => a - b)); // it only goes forward
    expectCountingFrames(counts);
    // All read: the count is the total; then the step that has no count of its own.
    expect(shown.some((f) => /^big\.csv: 100,000 of 100,000 lines \(100%\) · writing to the database…/.test(f))).toBe(true);
    // The progress is gone before the summary, which is the line it always is.
    expect(r.output).toMatch(/\r\u001B\[2Kcampaign 1: imported 100000 new recipients, 0 duplicates skipped/);

    // The same file into a pipe: the summary alone, nothing on stderr.
    const other = await runCli(['--db', t.db, 'campaign', 'create', '--name', 'Piped', '--subject', 'Hola', '--from', 'hola@aremko.cl', '--html', join(t.dir, 'm.html')]);
    expect(other.code).toBe(0);
    const quiet = await runCli(['--db', t.db, 'import', '2', 'big.csv'], { cwd: t.dir });
    expect(quiet.code).toBe(0);
    expect(quiet.stderr).toBe('');
    expect(quiet.stdout).toBe(`campaign 2: imported 100000 new recipients, 0 duplicates skipped, 0 suppressed, 0 invalid lines skipped (big.csv: UTF-8, ","-separated, address column "email")\n`);

    // --json in a terminal: the JSON document and nothing else.
    const third = await runCli(['--db', t.db, 'campaign', 'create', '--name', 'Json', '--subject', 'Hola', '--from', 'hola@aremko.cl', '--html', join(t.dir, 'm.html')]);
    expect(third.code).toBe(0);
    const json = await inTerminal(['--db', t.db, 'import', '3', 'big.csv', '--json'], t.dir);
    expect(json.code).toBe(0);
    expect(json.output).not.toContain('\u001B');
    expect(JSON.parse(json.output)).toEqual({ imported: ROWS, duplicates: 0, suppressed: 0, invalid: [] });
  }, 180_000);

  it.skipIf(!pgUrl() && process.env.CI !== 'true')('import of a file waiting for another import (PostgreSQL): the line says so, of about how many lines', async () => {
    // The file's estimated size shows while the import waits, as long as the test holds the other
    // import open: nothing is timed.
    const db = await createTestDatabase('postgres');
    try {
      const store = await db.open();
      const c = await store.createCampaign(settings(), Date.now());
      const other = await store.beginImport(c.id);
      await other.add([{ line: 2, email: 'primera@example.cl', fields: {} }]);
      const run = startInTerminal(['--db', db.location, 'import', String(c.id), 'big.csv'], t.dir);
      // (cut to the terminal's 80 columns)
      const WAITING = /big\.csv: 0 of ≈([\d,]+) lines \(0%\) · waiting for another import/;
      await run.waitFor(WAITING);
      await other.commit();
      const r = await run.done;
      expect(r.code, r.output).toBe(0);
      const estimate = Number(WAITING.exec(r.output)![1]!.replace(/,/g, ''));
      expect(Math.abs(estimate - ROWS) / ROWS).toBeLessThan(0.05); // from three samples of the file (≈101,600 here)
      expect(r.output).toMatch(/\r\u001B\[2Kcampaign \d+: imported 100000 new recipients, 0 duplicates skipped/);
    } finally {
      await db.cleanup();
    }
  }, 180_000);

  it('suppress import: the same progress in a terminal, nothing extra in a pipe', async () => {
    const r = await throughPipe(['--db', t.db, 'suppress', 'import', piped()], piped(), t.dir, lines, /big\.csv: [1-9][\d,]* lines/);
    expect(r.code, r.output).toBe(0);
    const shown = frames(r.output);
    const counts = shown.filter((f) => COUNTING.test(f)).map(countOf);
    expect(counts.length, r.output.slice(0, 2000)).toBeGreaterThan(0);
    expect(counts).toEqual([...counts].sort((a, b) => a - b));
    expectCountingFrames(counts);
    // Its lines are the file's, header included.
    expect(shown.some((f) => /^big\.csv: 100,001 of 100,001 lines \(100%\) · writing to the suppression list…/.test(f))).toBe(true);
    expect(r.output).toMatch(/\r\u001B\[2Kadded 100000 addresses to the suppression list/);

    const quiet = await runCli(['--db', t.db, 'suppress', 'import', 'big.csv'], { cwd: t.dir });
    expect(quiet.code).toBe(0);
    expect(quiet.stderr).toBe('');
    expect(quiet.stdout).toMatch(/^added 0 addresses to the suppression list, 100000 duplicates skipped, 0 invalid lines skipped \(big\.csv: [^\n]*\)\n$/);
  }, 180_000);
});

describe.skipIf(!hasScript && process.env.CI !== 'true')('run in a terminal', () => {
  let store: ReturnType<typeof tempStore>;
  beforeEach(async () => {
    store = tempStore();
    // Three batches of two, 2 s apart: the run waits twice, long enough for the line to count down.
    const c = await store.store.createCampaign(settings({ name: 'Watched', batchSize: 2, intervalSeconds: 2 }), Date.now());
    await addRecipients(store.store, c.id, 6);
    await store.store.transition(c.id, ['draft'], 'sending', Date.now());
    // A second campaign, run without a terminal.
    const d = await store.store.createCampaign(settings({ name: 'Cron', batchSize: 2, intervalSeconds: 2 }), Date.now());
    await addRecipients(store.store, d.id, 6, 100);
    await store.store.transition(d.id, ['draft'], 'sending', Date.now());
  });
  afterEach(async () => {
    await store.cleanup();
  });

  it('keeps its log lines and shows where the campaign stands under them; into a pipe, the log lines only', async () => {
    const r = await inTerminal(['--db', store.db, 'run', '--campaign', '1', '--transport', `outbox:${join(store.dir, 'out')}`], store.dir);
    expect(r.code, r.output).toBe(0);
    const lines = r.output.split('\r\n');
    // Every log line is still there, whole.
    const sent = lines.filter((l) => / info  #1 sent {12}sent to r\d@example\.com/.test(l.replace(/^.*\u001B\[2K/, '')));
    expect(sent).toHaveLength(6);
    // Under them, where it stands: the counts and the wait for the next batch.
    const shown = frames(r.output);
    expect(shown.some((f) => /^#1 Watched: [24]\/6 sent · next batch in 0:0[0-2] \(\d{4}-\d\d-\d\dT[\d:.]+Z\)$/.test(f)), shown.join('\n')).toBe(true);
    // Gone before the last words.
    expect(r.output).toMatch(/\r\u001B\[2Kcampaign 1: completed — this run: 6 sent/);

    const piped = await runCli(['--db', store.db, 'run', '--campaign', '2', '--transport', `outbox:${join(store.dir, 'out2')}`]);
    expect(piped.code).toBe(0);
    expect(piped.stdout).not.toMatch(/[\r\u001B]/);
    const out = piped.stdout.trimEnd().split('\n');
    for (const l of out.slice(0, -1)) expect(l).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z (info|warn|error) +#2 \w+ +\S/);
    expect(out.at(-1)).toMatch(/^campaign 2: completed — this run: 6 sent/);
  }, 60_000);
});

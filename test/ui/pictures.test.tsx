/**
 * The pictures in a campaign's detail — sends per minute over the last hour, what became of each
 * batch — drawn from a real run, at 80×24 and narrower, with and without colour, in Unicode and
 * ASCII; and the drawing functions on their own.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { batchBar, batchCell, sparkline } from '../../src/ui/components/Pictures.js';
import { asciiFromEnv, makeTheme } from '../../src/ui/theme.js';
import { type Harness, KEY, mount } from './harness.js';
import { runWithFailures } from './real-run.js';

// Colour on (Ink's chalk reads this when it loads, before any import below runs): without it no
// frame would hold colour, and "NO_COLOR means no colour" would hold for nothing.
vi.hoisted(() => {
  process.env.FORCE_COLOR = '1';
});

let h: Harness | undefined;
afterEach(async () => {
  await h?.cleanup();
  h = undefined;
});

const text = (segments: { text: string }[]) => segments.map((s) => s.text).join('');

describe('drawing', () => {
  it('a sparkline scales to the busiest minute; an idle minute is a dot (a blank in ASCII)', () => {
    expect(sparkline([0, 1, 2, 3, 4, 5, 6, 7, 8], false)).toBe('·▁▂▃▄▅▆▇█');
    expect(sparkline([0, 1, 2, 3, 4, 5, 6, 7, 8], true)).toBe(' _.-~=+*#');
    // Any send at all is visible, however busy the peak.
    expect(sparkline([1, 0, 1000], false)).toBe('▁·█');
    expect(sparkline([0, 0, 0], false)).toBe('···');
    expect(sparkline([], false)).toBe('');
  });

  it('a batch bar splits sent / failed / in doubt; failures keep a cell; glyphs tell them apart without colour', () => {
    const colour = makeTheme(false);
    const plain = makeTheme(true);
    const ascii = makeTheme(true, true);
    const b = { batch: 3, sent: 48, failed: 1, inDoubt: 1, retried: 0 };
    expect(text(batchBar(b, 5, plain))).toBe('███x?');
    expect(batchBar(b, 5, colour).map((s) => [s.text, s.tone])).toEqual([
      ['███', 'good'],
      ['█', 'bad'],
      ['█', 'warn'],
    ]);
    expect(text(batchBar(b, 5, ascii))).toBe('###x?');
    expect(text(batchBar({ batch: 1, sent: 50, failed: 0, inDoubt: 0, retried: 0 }, 5, plain))).toBe('█████');
    expect(text(batchBar({ batch: 1, sent: 0, failed: 4, inDoubt: 0, retried: 0 }, 5, plain))).toBe('xxxxx');
    expect(text(batchBar({ batch: 1, sent: 0, failed: 0, inDoubt: 0, retried: 0 }, 5, plain))).toBe('░░░░░');
    const cell = batchCell(b, plain, String);
    expect(cell.counts).toBe('48 ✗1 ?1');
    expect(batchCell(b, ascii, String).counts).toBe('48 x1 ?1');
    expect(cell.width).toBe('#3 '.length + 5 + 1 + '48 ✗1 ?1'.length);
  });

  it('ASCII when the terminal or the locale cannot show the blocks; NO_COLOR alone keeps them', () => {
    expect(asciiFromEnv({ LANG: 'es_CL.UTF-8', TERM: 'xterm-256color' })).toBe(false);
    expect(asciiFromEnv({ LANG: 'C.utf8' })).toBe(false);
    expect(asciiFromEnv({})).toBe(false);
    expect(asciiFromEnv({ LANG: 'en_US.UTF-8', NO_COLOR: '1' })).toBe(false);
    expect(asciiFromEnv({ LANG: 'C' })).toBe(true);
    expect(asciiFromEnv({ LANG: 'es_CL.ISO-8859-1' })).toBe(true);
    expect(asciiFromEnv({ LC_ALL: 'POSIX', LANG: 'en_US.UTF-8' })).toBe(true);
    expect(asciiFromEnv({ LANG: 'en_US.UTF-8', TERM: 'linux' })).toBe(true);
    expect(asciiFromEnv({ LANG: 'en_US.UTF-8', TERM: 'dumb' })).toBe(true);
  });
});

/** The detail of campaign #1 after a real run (12 recipients, 4 batches, 3 failed, 2 in doubt). */
async function detailAfterRun(options: Parameters<typeof mount>[0]) {
  const x = await mount(options, async (store) => {
    await runWithFailures(store);
  });
  x.resize(80, 24);
  await x.waitFor('› #1 With failures');
  await x.press(KEY.enter);
  await x.waitFor(/aremko-mail › #1 With failures/);
  return x;
}

/**
 * The run's minutes are the newest of a sparkline, and every older one is quiet. The run takes a
 * second or so of wall-clock time, whose minute may turn during it (the run in two bars, one of
 * them the busiest) or between it and the frame (then the newest minute is quiet).
 */
function expectRunNewest(glyphs: string, quiet: string, full: string) {
  const g = [...glyphs];
  if (g.at(-1) === quiet) g.pop();
  const run = g.splice(-2);
  expect(run.at(-1), glyphs).not.toBe(quiet);
  expect(run, glyphs).toContain(full);
  expect(g.every((x) => x === quiet), glyphs).toBe(true);
}

const lineWith = (frame: string, start: string) => frame.split('\n').find((l) => l.startsWith(start)) ?? '';

function fits(frame: string, columns: number, rows: number) {
  const lines = frame.split('\n');
  expect(lines.length).toBeLessThanOrEqual(rows - 1);
  for (const l of lines) expect([...l].length, l).toBeLessThanOrEqual(columns);
}

describe('pictures in the detail', () => {
  it('80×24: the last hour per minute and every batch, below what the campaign is doing, above the log', async () => {
    h = await detailAfterRun({ lang: 'en' });
    const f = await h.waitFor('Batches:');
    fits(f, 80, 24);
    const spark = lineWith(f, 'Sent/min (max ');
    const m = /^Sent\/min \(max (\d+)\) (\S+)$/.exec(spark);
    expect(m, spark).not.toBeNull();
    expect(Number(m![1])).toBeGreaterThanOrEqual(4); // 7 sent, within a minute or two
    expect([...m![2]!]).toHaveLength(60); // the whole hour fits at 80 columns
    expectRunNewest(m![2]!, '·', '█'); // quiet until the run, the run at the right
    // Each batch: 4 recipients, in order, with what failed (x) and what is in doubt (?).
    const batches = lineWith(f, 'Batches:');
    expect(batches).toMatch(/#1 [█x?░]{5} \d/);
    expect(batches.indexOf('#1 ')).toBeLessThan(batches.indexOf('#4 '));
    const total = [...batches.matchAll(/#\d+ [█x?░]{5} (\d+)((?: ✗\d+)?)((?: \?\d+)?)/g)].reduce(
      (acc, x) => ({
        sent: acc.sent + Number(x[1]),
        failed: acc.failed + Number(x[2]!.replace(/\D/g, '') || 0),
        doubt: acc.doubt + Number(x[3]!.replace(/\D/g, '') || 0),
      }),
      { sent: 0, failed: 0, doubt: 0 },
    );
    expect(total).toEqual({ sent: 7, failed: 3, doubt: 2 });
    // What matters most is all still there, and a log of several lines below.
    const lines = f.split('\n');
    for (const label of ['100%', 'sent: 7 · pending: 0', 'failed: 3 · in doubt: 2', 'Next batch:', 'Last error:', 'Sending:'])
      expect(f).toContain(label);
    const rule = lines.findIndex((l) => l.startsWith('── Log'));
    expect(lines.findIndex((l) => l.startsWith('Batches:'))).toBe(rule - 1);
    expect(lines.findIndex((l) => l.startsWith('Last error:'))).toBeLessThan(rule - 2);
    expect(lines.slice(rule + 1).filter((l) => /^\d\d:\d\d:\d\d /.test(l)).length).toBeGreaterThanOrEqual(5);
  });

  it('in Spanish', async () => {
    h = await detailAfterRun({ lang: 'es' });
    const f = await h.waitFor('Lotes:');
    expect(lineWith(f, 'Envíos/min (máx ')).toMatch(/^Envíos\/min \(máx \d+\) [·▁▂▃▄▅▆▇█]{60}$/);
  });

  it('narrower: fewer minutes and batches at 60 columns; in a short terminal they go before anything else', async () => {
    h = await detailAfterRun({ lang: 'en' });
    await h.waitFor('Batches:');
    h.resize(60, 24);
    let f = await h.waitFor((x) => x.split('\n').every((l) => [...l].length <= 60) && x.includes('Batches:'));
    fits(f, 60, 24);
    const [, label, glyphs] = /^(Sent\/min \(max \d+\) )(\S+)$/.exec(lineWith(f, 'Sent/min (max '))!;
    expect([...glyphs!]).toHaveLength(60 - label!.length); // the newest minutes that fit
    expectRunNewest(glyphs!, '·', '█');
    const batches = lineWith(f, 'Batches:');
    expect(batches).toContain('#4 '); // the newest kept
    expect(batches).not.toContain('#1 '); // the oldest dropped for room
    // A short terminal: the pictures go first; the essentials and a few log lines stay.
    h.resize(80, 16);
    f = await h.waitFor((x) => x.split('\n').length <= 15 && !x.includes('Batches:'));
    expect(f).not.toContain('Sent/min');
    for (const label of ['100%', 'failed: 3 · in doubt: 2', 'Next batch:', 'Last error:']) expect(f).toContain(label);
    h.resize(80, 24);
    await h.waitFor('Batches:');
  });

  it('NO_COLOR: no colour at all, failures told by x and ?; with colour, red and yellow blocks', async () => {
    h = await detailAfterRun({ lang: 'en', noColor: true });
    await h.waitFor('Batches:');
    const raw = h.frames[h.frames.length - 1]!;
    expect(raw).not.toMatch(/\u001B\[3\dm/); // no foreground colour anywhere
    expect(lineWith(h.frame(), 'Batches:')).toMatch(/[x?]/);
    await h.cleanup();

    h = await detailAfterRun({ lang: 'en', noColor: false });
    await h.waitFor('Batches:');
    const coloured = h.frames[h.frames.length - 1]!.split('\n').find((l) => l.includes('Batches:'))!;
    expect(coloured).toMatch(/\u001B\[31m█+/); // failed: red blocks
    expect(coloured).toMatch(/\u001B\[33m█+/); // in doubt: yellow blocks
    // Colour tells the parts apart: every bar is all blocks.
    for (const bar of lineWith(h.frame(), 'Batches:').matchAll(/#\d+ (\S{5}) /g)) expect(bar[1]).toBe('█████');
  });

  it('ASCII (LANG=C, the Linux console): only ASCII in the pictures', async () => {
    h = await detailAfterRun({ lang: 'en', ascii: true });
    const f = await h.waitFor('Batches:');
    const spark = lineWith(f, 'Sent/min (max ');
    const batches = lineWith(f, 'Batches:');
    // (Ink trims a line's trailing blanks: a quiet newest minute, which is a blank here.)
    expect(spark).toMatch(/^Sent\/min \(max \d+\) [ _.\-~=+*#]{59,60}$/);
    expectRunNewest(spark.slice(spark.lastIndexOf(') ') + 2).padEnd(60, ' '), ' ', '#');
    expect(batches).toMatch(/^[\x20-\x7E]+$/);
    expect(batches).toMatch(/#\d+ [#x?.]{5} \d+/);
  });
});

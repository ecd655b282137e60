/**
 * `campaign create|list|show` with bad input (issue 8 items 2, 3, 4 and the terminal escapes):
 * each refusal is exit 2 with one line naming the flag or template, and nothing is stored.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli, tempDir } from '../helpers/cli.js';

let tmp: ReturnType<typeof tempDir>;
let html: string;
const cli = (...args: string[]) => runCli(['--db', tmp.db, ...args]);

beforeEach(() => {
  tmp = tempDir('aremko-cli-campaign-');
  html = join(tmp.dir, 'mail.html');
  writeFileSync(html, '<p>Hola {{nombre}}</p>');
});

afterEach(() => tmp.cleanup());

const create = (...extra: string[]) =>
  cli('campaign', 'create', '--name', 'Verano', '--subject', 'Hola {{nombre}}', '--from', 'Aremko <hola@aremko.cl>', '--html', html, ...extra);

/** Runs each case, a few at a time (each is a process of its own). */
async function eachCase<T>(cases: T[], check: (c: T) => Promise<void>) {
  for (let i = 0; i < cases.length; i += 4) await Promise.all(cases.slice(i, i + 4).map(check));
}

async function stored(): Promise<unknown[]> {
  const r = await cli('campaign', 'list', '--json');
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout);
}

/** A refusal as the contract wants it: exit 2, one line on stderr naming `what`, nothing on stdout. */
function expectRefusal(r: { code: number | null; stdout: string; stderr: string }, what: string | RegExp) {
  expect(r.code, r.stderr).toBe(2);
  expect(r.stdout).toBe('');
  expect(r.stderr.split('\n').filter(Boolean), r.stderr).toHaveLength(1);
  expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  if (typeof what === 'string') expect(r.stderr).toContain(what);
  else expect(r.stderr).toMatch(what);
}

describe('campaign create: durations and counts out of range', () => {
  const bad: [string, string, string][] = [
    ['--interval', '99999999999999999999', '--interval: "99999999999999999999" is out of range: it must be 0s to 30d'],
    ['--interval', '31d', '--interval: "31d" is out of range: it must be 0s to 30d'],
    ['--interval', '0.5', '--interval: "0.5" is not a whole number of seconds'],
    ['--interval', '12 minutes', '--interval: "12 minutes" is not a duration'],
    ['--retry-delay', '99999999999999999999', '--retry-delay: "99999999999999999999" is out of range: it must be 1s to 1d'],
    ['--retry-delay', '0', '--retry-delay: "0" is out of range: it must be 1s to 1d'],
    ['--batch-size', '0', '--batch-size: "0" is out of range: it must be 1 to 100000'],
    ['--batch-size', '99999999999999999999', '--batch-size: "99999999999999999999" is out of range: it must be 1 to 100000'],
    ['--batch-size', '1e3', '--batch-size: "1e3" is not a whole number'],
    ['--batch-size', '2.5', '--batch-size: "2.5" is not a whole number'],
    ['--max-attempts', '0', '--max-attempts: "0" is out of range: it must be 1 to 20'],
    ['--max-attempts', '21', '--max-attempts: "21" is out of range: it must be 1 to 20'],
    ['--rate', '0/h', '--rate: "0/h" is out of range: n must be 1 to 1000000'],
    ['--rate', '99999999999999999999/s', '--rate: "99999999999999999999/s" is out of range: n must be 1 to 1000000'],
    ['--rate', '5/w', '--rate: "5/w" is not a rate'],
  ];

  it('refuses each with exit 2 and one line naming the flag; nothing is stored', async () => {
    await eachCase(bad, async ([flag, value, message]) => expectRefusal(await create(flag, value), message));
    expect(await stored()).toEqual([]);
  });

  it('takes the edges of each range', async () => {
    const r = await create('--interval', '30d', '--retry-delay', '1d', '--batch-size', '100000', '--max-attempts', '20', '--rate', '1000000/d', '--json');
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toMatchObject({
      interval_seconds: 30 * 86400,
      retry_delay_seconds: 86400,
      batch_size: 100000,
      max_attempts: 20,
      rate: '1000000/d',
    });
    const low = await create('--interval', '0', '--retry-delay', '1s', '--batch-size', '1', '--max-attempts', '1', '--rate', '1/s', '--json');
    expect(JSON.parse(low.stdout)).toMatchObject({ interval_seconds: 0, retry_delay_seconds: 1, batch_size: 1, max_attempts: 1, rate: '1/s' });
  });

  it('documents every range in --help', async () => {
    const r = await runCli(['campaign', 'create', '--help']);
    expect(r.code).toBe(0);
    const help = r.stdout.replace(/\s+/g, ' ');
    for (const text of ['recipients per batch (1 to 100000)', '(0s to 30d)', '(1 to 20)', '(1s to 1d)', '(n 1 to 1000000)']) expect(help).toContain(text);
  });
});

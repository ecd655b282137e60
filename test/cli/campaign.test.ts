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

/**
 * Runs each case, a few at a time (each is a process of its own). The database is created first:
 * processes racing to create a new database can collide in its migrations (reported to the lead).
 */
async function eachCase<T>(cases: T[], check: (c: T) => Promise<void>) {
  expect((await cli('campaign', 'list')).code).toBe(0);
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

  it('refuses a --name over 200 characters', async () => {
    const r = await cli('campaign', 'create', '--name', 'n'.repeat(201), '--subject', 'Hola', '--from', 'hola@aremko.cl', '--html', html);
    expectRefusal(r, '--name: 201 characters; at most 200');
  });

  it('refuses a flag given twice', async () => {
    expectRefusal(await create('--batch-size', '5', '--batch-size', '6'), '--batch-size is given 2 times; give it once');
    expectRefusal(await create('--from', 'otro@aremko.cl'), '--from is given 2 times; give it once');
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

describe('campaign create: templates that cannot render (issue 8 item 3)', () => {
  const template = (name: string, content: string) => {
    const path = join(tmp.dir, name);
    writeFileSync(path, content);
    return path;
  };

  it('refuses a partial, an unknown helper, a missing block helper and an oversized template, naming the template', async () => {
    const cases: [string[], string][] = [
      [['--html', template('partial.html', '<p>Hola</p>\n{{> firma}}')], 'html template: line 2: "{{> firma}}" is a partial; partials are not supported'],
      [['--html', template('helper.html', '<p>{{nohelper nombre}}</p>')], 'html template: line 1: "{{nohelper nombre}}" calls an unknown helper "nohelper"'],
      [['--html', html, '--text', template('block.txt', 'x\n{{#repeat 3}}hola{{/repeat}}')], 'text template: line 2: '],
      [['--html', html, '--subject', 'Hola {{upper nombre}}'], 'subject template: line 1: "{{upper nombre}}" calls an unknown helper "upper"'],
      [['--html', template('big.html', '<p>{{nombre}}</p>'.repeat(400_000))], 'html template: it is 6800000 bytes (6.5 MiB); at most 524288 (512 KiB)'],
      [['--html', html, '--subject', 'x'.repeat(2000)], 'subject template: it is 2000 bytes'],
    ];
    await eachCase(cases, async ([args, message]) => {
      const subject = args.includes('--subject') ? [] : ['--subject', 'Hola {{nombre}}'];
      const r = await cli('campaign', 'create', '--name', 'Verano', ...subject, '--from', 'hola@aremko.cl', ...args);
      expectRefusal(r, message);
    });
    expect(await stored()).toEqual([]);
  });
});

describe('campaign create: address flags (issue 8 item 4)', () => {
  it('refuses a --from or --reply-to that would add a header, or is not exactly one address; nothing is stored', async () => {
    const cases: [string, string, string][] = [
      ['--from', 'Aremko <hola@aremko.cl>\r\nBcc: victim@evil.test', '--from: "Aremko <hola@aremko.cl>\\x0d\\x0aBcc: victim@evil.test" contains a control character (\\x0d)'],
      ['--from', 'Aremko <hola@aremko.cl>\nBcc: victim@evil.test', '--from: '],
      ['--from', 'hola@aremko.cl, otro@aremko.cl', '--from: "hola@aremko.cl, otro@aremko.cl" is not one email address'],
      ['--from', 'Aremko, Spa <hola@aremko.cl>', 'put the name in double quotes'],
      ['--from', 'Aremko <hola@aremko.cl> extra', 'is not one email address'],
      ['--from', '', '--from: "" is empty'],
      ['--reply-to', 'reservas@aremko.cl\r\nBcc: victim@evil.test', '--reply-to: "reservas@aremko.cl\\x0d\\x0aBcc: victim@evil.test" contains a control character'],
      ['--reply-to', 'Reservas <reservas@aremko>', '--reply-to: "Reservas <reservas@aremko>" is not one email address'],
      ['--unsubscribe', 'mailto:baja@aremko.cl\u001b[2J', '--unsubscribe: "mailto:baja@aremko.cl\\x1b[2J" must be'],
    ];
    await eachCase(cases, async ([flag, value, message]) => {
      const args = ['campaign', 'create', '--name', 'Verano', '--subject', 'Hola', '--html', html];
      const r = await cli(...args, ...(flag === '--from' ? [] : ['--from', 'hola@aremko.cl']), flag, value);
      expectRefusal(r, message);
    });
    expect(await stored()).toEqual([]);
  });

  it('takes a display name, a quoted name, a quoted local part and an IDN domain', async () => {
    for (const [from, replyTo] of [
      ['"Aremko, Spa" <hola@aremko.cl>', 'José Muñoz <jose@ñandú.cl>'],
      ['"john doe"@x.test', '<reservas@aremko.cl>'],
    ]) {
      const r = await cli('campaign', 'create', '--name', 'V', '--subject', 'Hola', '--html', html, '--from', from!, '--reply-to', replyTo!, '--json');
      expect(r.stderr).toBe('');
      expect(JSON.parse(r.stdout)).toMatchObject({ from, reply_to: replyTo });
    }
  });
});

describe('campaign list and show: control characters shown harmlessly', () => {
  it('prints a name and a subject carrying terminal escapes as \\x1b', async () => {
    const name = 'Verano \u001b[2J\u001b]0;pwned\u0007 \u202eodnum';
    const r = await cli('campaign', 'create', '--name', name, '--subject', 'Hola \u001b[31m{{nombre}}', '--from', 'hola@aremko.cl', '--html', html);
    expect(r.code).toBe(0);
    const list = await cli('campaign', 'list');
    expect(list.stdout).toContain('Verano \\x1b[2J\\x1b]0;pwned\\x07 \\u{202e}odnum');
    const show = await cli('campaign', 'show', '1');
    expect(show.stdout).toContain('campaign 1: Verano \\x1b[2J\\x1b]0;pwned\\x07 \\u{202e}odnum (draft)');
    expect(show.stdout).toContain('subject:     Hola \\x1b[31m{{nombre}}');
    for (const out of [list.stdout, show.stdout]) expect(out.replaceAll('\n', '')).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202e]/);
    // JSON keeps the text as stored (JSON escapes control characters itself).
    expect(JSON.parse((await cli('campaign', 'show', '1', '--json')).stdout).name).toBe(name);
  });
});

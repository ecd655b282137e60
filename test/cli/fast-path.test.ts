/**
 * src/cli/fast-path.ts reads the common command lines without yargs. For every line it takes,
 * yargs (src/cli/cli.ts, the reference) must run the same command with the same arguments; the
 * lines cron and scripts use must actually be taken (or the fast path is dead weight).
 */
import fc from 'fast-check';
import type { CommandModule } from 'yargs';
import { describe, expect, it } from 'vitest';
import { buildCli, commandsFor } from '../../src/cli/cli.js';
import { normaliseArgv, parseFast, SENDING_FAST_COMMANDS } from '../../src/cli/fast-path.js';
import { transportFromFile } from '../../src/core/config.js';

type Seen = { command: string; args: Record<string, unknown> } | { error: string };

/** What yargs does with argv: the command whose handler it calls and the arguments it gets, or the error it stops at. */
async function viaYargs(argv: string[]): Promise<Seen> {
  const args = normaliseArgv(argv);
  let seen: Seen | null = null;
  const capture = (command: string) => (a: any) => {
    seen = { command, args: { ...a } };
  };
  const cli = buildCli(args, {
    width: 100,
    defaultHandler: capture(''),
    onUsageError: (message) => {
      throw new Error(`yargs refused: ${message}`);
    },
  });
  for (const c of await commandsFor(args)) {
    const name = String(c.command).split(' ')[0]!;
    cli.command({ ...c, handler: capture(name) } as CommandModule<any, any>);
  }
  try {
    await cli.parseAsync();
  } catch (err) {
    if ((err as Error).message.startsWith('yargs refused')) throw err;
    return { error: (err as Error).message }; // the middleware's (a transport file that cannot be read)
  }
  if (!seen) throw new Error(`yargs ran no command for ${JSON.stringify(argv)}`);
  return seen;
}

/** What main.ts does with a line the fast path took, up to calling the command. */
function viaFastPath(argv: string[]): Seen | null {
  const fast = parseFast(argv);
  if (fast === null || fast.command === '--help') return null;
  const args = { ...fast.args };
  if (SENDING_FAST_COMMANDS.has(fast.command)) {
    try {
      const url = transportFromFile(args.transport as string | undefined, args['transport-file'] as string | undefined);
      if (url !== undefined) args.transport = url;
    } catch (err) {
      return { error: (err as Error).message };
    }
  }
  return { command: fast.command, args };
}

async function expectSameAsYargs(argv: string[]): Promise<void> {
  const fast = viaFastPath(argv);
  if (fast === null) return;
  expect(fast, JSON.stringify(argv)).toEqual(await viaYargs(argv));
}

// The lines the fast path exists for: each must be taken, and mean what yargs says it means.
const TAKEN = [
  ['status'],
  ['status', '--json'],
  ['status', '3', '--json'],
  ['--db', '/var/lib/aremko/db.sqlite', 'status', '--json'],
  ['--db=postgres://u:p@db:5432/app?schema=mail', 'status', '7'],
  ['status', '--json', '--db', 'data/x.db', '12'],
  ['--json'],
  ['--db', 'x.db', '--json'],
  [],
  ['--headless', '--auto', '--max-runtime', '4m'],
  ['--db', 'x.db', '--headless', '--auto', '--max-runtime', '4m', '--log-format', 'json'],
  ['run', '--campaign', '3'],
  ['run', '--campaign=3', '--ignore-schedule', '--transport', 'smtp://u:p@mail:587?pool=5'],
  ['run', '--auto', '--transport-file', '/run/secrets/transport', '--dkim-key', 'k.pem', '--dkim-selector', 's1'],
  ['--transport', 'outbox:out', 'run', '--auto', '--log-format=text'],
  // A global option's value that is a command's name is still the value (found by the property below).
  ['--db', 'run', 'status'],
  ['--transport', 'status', 'run', '--auto'],
];

// Lines it must leave to yargs: help and version, unknown or repeated options, other commands,
// spellings it does not read the way yargs does.
const LEFT = [
  ['--help', '--db', 'x'],
  ['status', '--help'],
  ['--version'],
  ['status', '--no-json'],
  ['status', '--json=false'],
  ['status', '--json', 'true'],
  ['status', '--db', 'a', '--db', 'b'],
  ['status', 'abc'],
  ['status', '1', '2'],
  ['status', '--limit', '3'],
  ['--json', 'status'],
  ['run', '--campaign', '3.5'],
  ['run', '--campaign', '-3'],
  ['run', '--maxRuntime', '4m'],
  ['run', '--log-format', 'xml'],
  ['run', '--json'],
  ['run', 'now'],
  ['logs', '1'],
  ['statsu'],
  ['status', '-h'],
  ['status', '--'],
  ['status', '--db'],
  ['status', '--db', '--json'],
  ['--lang', 'es'],
  ['status', '1234567890123456'],
];

describe('the fast path (src/cli/fast-path.ts)', () => {
  it.each(TAKEN)('takes %j and gives the command what yargs would', async (...argv) => {
    expect(parseFast(argv)).not.toBeNull();
    await expectSameAsYargs(argv);
  });

  it.each(LEFT)('leaves %j to yargs', (...argv) => {
    expect(parseFast(argv)).toBeNull();
  });

  it('takes --help (and -h) alone, as the prebuilt help', () => {
    expect(parseFast(['--help'])).toEqual({ command: '--help' });
    expect(parseFast(['-h'])).toEqual({ command: '--help' });
  });

  it('agrees with yargs on generated command lines, whenever it takes one', async () => {
    const word = fc.constantFrom('status', 'run', 'logs', 'campaign', '1', '42', '007', 'x', '3.5', '-1', 'true', 'false', 'json', 'text', '4m', '', 'a=b');
    const option = fc.constantFrom(
      '--db',
      '--json',
      '--auto',
      '--campaign',
      '--max-runtime',
      '--ignore-schedule',
      '--log-format',
      '--transport',
      '--transport-file',
      '--dkim-key',
      '--dkim-selector',
      '--headless',
      '--no-json',
      '--limit',
      '--db=x.db',
      '--campaign=5',
      '--log-format=json',
      '--json=true',
      '--',
      '-n',
    );
    let taken = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(fc.oneof(word, option), { maxLength: 7 }), async (argv) => {
        const fast = parseFast(argv);
        if (fast === null || fast.command === '--help') return;
        taken++;
        await expectSameAsYargs(argv);
      }),
      { numRuns: 600 },
    );
    // The generator reaches the fast path often enough for the property to mean something.
    expect(taken).toBeGreaterThan(30);
  });
});

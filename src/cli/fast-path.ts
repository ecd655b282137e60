/**
 * The command lines that scripts and cron run most, read without yargs: loading and setting up
 * yargs costs more than all of `status --json` does (bench/RESULTS.md, start-up).
 *
 * Only the plainest shapes are taken — `status [id] [--json]`, `run …` and `--headless …`, the
 * default command without a terminal, and `--help` alone — each option at most once, spelled
 * `--name value` or `--name=value`, with values that need no interpretation: digits for a number,
 * one of the listed words for a choice, a bare flag for a boolean. Anything else — an unknown or
 * repeated option, `--no-…`, a camelCase spelling, a value that starts with `-`, `--version`, a
 * second positional — is not taken (null) and goes to yargs (cli.ts), whose behaviour is the
 * reference: test/cli/fast-path.test.ts checks that, for every line taken here, yargs would give
 * the command the same arguments.
 *
 * This module imports nothing: it is evaluated on every start.
 */

type OptionType = 'string' | 'boolean' | 'number' | 'log-format';

/** The options every command takes (cli.ts: `global: true`). */
const GLOBAL_OPTIONS: Record<string, OptionType> = {
  db: 'string',
  transport: 'string',
  'transport-file': 'string',
  'dkim-key': 'string',
  'dkim-selector': 'string',
};

/** The global options as typed, `--db` …: each takes a value (cli.ts's lazy command loader skips it). */
export const GLOBAL_VALUE_OPTIONS: ReadonlySet<string> = new Set(Object.keys(GLOBAL_OPTIONS).map((name) => `--${name}`));

/** Per command, its own options (as declared in its module) and their defaults. */
const COMMANDS = {
  status: { options: { json: 'boolean' }, positional: 'id', defaults: {} },
  run: {
    options: { campaign: 'number', auto: 'boolean', 'max-runtime': 'string', 'ignore-schedule': 'boolean', 'log-format': 'log-format' },
    positional: null,
    defaults: { 'log-format': 'text' },
  },
  /** No command: the TUI in a terminal, `status` otherwise (main.ts takes only the second). */
  '': { options: { json: 'boolean' }, positional: null, defaults: {} },
} as const satisfies Record<string, { options: Record<string, OptionType>; positional: string | null; defaults: Record<string, unknown> }>;

export type FastCommand = keyof typeof COMMANDS;

/** The commands that send, and so read a transport URL kept in a file first (as cli.ts's middleware does). */
export const SENDING_FAST_COMMANDS: ReadonlySet<FastCommand> = new Set<FastCommand>(['', 'run']);

export type FastLine = { command: FastCommand; args: Record<string, unknown> } | { command: '--help' };

/** At most 15 digits: a whole number yargs reads as a number too (it keeps longer ones as text). */
const DIGITS = /^\d{1,15}$/;

/** `aremko-mail --headless …` is `aremko-mail run …`. */
export function normaliseArgv(argv: string[]): string[] {
  const i = argv.indexOf('--headless');
  if (i === -1) return argv;
  const rest = argv.filter((_, j) => j !== i);
  return rest[0] === 'run' ? rest : ['run', ...rest];
}

const camel = (name: string) => name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/**
 * The command and the arguments its handler would get from yargs (`_`, `$0`, every given option
 * under its name and its camelCase alias, the defaults), or null when the line is not one of the
 * plain shapes above.
 */
export function parseFast(argv: string[]): FastLine | null {
  if (argv.length === 1 && (argv[0] === '--help' || argv[0] === '-h')) return { command: '--help' };
  const tokens = normaliseArgv(argv);
  let command: FastCommand | null = null;
  let booleanBeforeCommand = false;
  const positionals: string[] = [];
  const given = new Map<string, string | true>();
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    if (!token.startsWith('-')) {
      // The first positional names the command; the fast path knows only a few.
      if (command === null && positionals.length === 0) {
        if (token === '' || !Object.hasOwn(COMMANDS, token)) return null;
        command = token as FastCommand;
      } else positionals.push(token);
      continue;
    }
    if (!token.startsWith('--') || token === '--') return null;
    const eq = token.indexOf('=');
    const name = token.slice(2, eq === -1 ? undefined : eq);
    if (given.has(name)) return null;
    // Before the command only the global options are known to yargs as strings; a boolean there
    // is taken only when no command follows (the default command's --json).
    const type: OptionType | undefined =
      GLOBAL_OPTIONS[name] ?? (COMMANDS[command ?? ''].options as Record<string, OptionType>)[name];
    if (type === undefined) return null;
    if (command === null && !Object.hasOwn(GLOBAL_OPTIONS, name)) booleanBeforeCommand = true;
    let value: string | true;
    if (eq !== -1) value = token.slice(eq + 1);
    else if (type === 'boolean') {
      // yargs would read a following true/false as the flag's value: not taken.
      const next = tokens[i + 1];
      if (next === 'true' || next === 'false') return null;
      value = true;
    } else {
      const next = tokens[i + 1];
      if (next === undefined || next.startsWith('-')) return null;
      value = next;
      i++;
    }
    given.set(name, value);
  }
  const cmd: FastCommand = command ?? '';
  if (booleanBeforeCommand && cmd !== '') return null;
  const spec = COMMANDS[cmd];
  if (positionals.length > (spec.positional ? 1 : 0)) return null;
  const types: Record<string, OptionType> = { ...GLOBAL_OPTIONS, ...spec.options };
  const args: Record<string, unknown> = { _: command ? [command] : [], $0: 'aremko-mail' };
  const set = (name: string, v: unknown) => {
    args[name] = v;
    if (camel(name) !== name) args[camel(name)] = v;
  };
  for (const [name, v] of Object.entries(spec.defaults)) set(name, v);
  for (const [name, raw] of given) {
    const type = types[name];
    if (type === undefined) return null;
    if (type === 'boolean') {
      if (raw !== true) return null; // --json=… : not taken
      set(name, true);
    } else if (raw === true || raw.startsWith('-')) return null;
    else if (type === 'number') {
      if (!DIGITS.test(raw)) return null;
      set(name, Number(raw));
    } else if (type === 'log-format') {
      if (raw !== 'text' && raw !== 'json') return null;
      set(name, raw);
    } else set(name, raw);
  }
  if (spec.positional && positionals.length === 1) {
    if (!DIGITS.test(positionals[0]!)) return null;
    set(spec.positional, Number(positionals[0]));
  }
  return { command: cmd, args };
}

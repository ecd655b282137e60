/** The entry point: help for every command, unknown commands, the status fallback without a terminal. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli, tempDir } from '../helpers/cli.js';

const COMMANDS = ['campaign', 'status', 'start', 'pause', 'resume', 'cancel', 'import', 'run', 'logs', 'prune', 'resolve', 'preview', 'send-test', 'export', 'suppress', 'demo'];

let t: ReturnType<typeof tempDir>;
beforeEach(() => (t = tempDir()));
afterEach(() => t.cleanup());

describe('aremko-mail', () => {
  it('--help lists every command, and each command has its own --help', async () => {
    const help = await runCli(['--help']);
    expect(help.code).toBe(0);
    for (const c of COMMANDS) expect(help.stdout).toMatch(new RegExp(`aremko-mail ${c}\\b`));
    const each = await Promise.all(COMMANDS.map((c) => runCli([c, '--help'])));
    each.forEach((r, i) => {
      expect(r.code, COMMANDS[i]).toBe(0);
      expect(r.stdout).toContain(`aremko-mail ${COMMANDS[i]}`);
    });
  });

  it('a global option whose value is a command name keeps it as the value: `--db import campaign list` lists the campaigns of a file named "import"', async () => {
    const r = await runCli(['--db', 'import', 'campaign', 'list'], { cwd: t.dir });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/no campaigns/);
  });

  it('an unknown command is a usage error (exit 2), not a silent status', async () => {
    const r = await runCli(['statsu', '--db', t.db]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown command "statsu"/);
  });

  it('without a terminal and without a command it prints status (one JSON document with --json)', async () => {
    const r = await runCli(['--db', t.db, '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([]);
  });
});

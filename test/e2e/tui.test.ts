/**
 * The built binary in a real terminal: tmux at 80×24. Open, select, start the demo campaign,
 * watch it send, pause, quit; exit code 0, terminal given back. Waits poll `capture-pane` until
 * the expected text shows, bounded — no fixed sleeps.
 *
 * Needs the build (`npm run build`; `npm test` builds first).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CLI, runCli, tempDir } from '../helpers/cli.js';

const hasTmux = spawnSync('tmux', ['-V']).status === 0;

interface Term {
  socket: string;
  dir: string;
  db: string;
  capture(): string;
  keys(...keys: string[]): void;
  waitFor(test: string | RegExp, timeoutMs?: number): Promise<string>;
  exitCode(timeoutMs?: number): Promise<number>;
  resize(columns: number, rows: number): void;
  kill(): void;
}

const open: Term[] = [];

/** A temp folder with a database holding the demo campaign (made by the CLI, as an operator would). */
async function demoDir(recipients: number) {
  const t = tempDir('aremko-e2e-');
  const demo = await runCli(['--db', t.db, 'demo', '--recipients', String(recipients)]);
  expect(demo.code, demo.stderr).toBe(0);
  return t;
}

/** Starts `aremko-mail <args>` in a detached tmux session of the given size, in `t.dir` on `t.db`. */
function terminal(t: ReturnType<typeof tempDir>, args: string[], env: Record<string, string>, size: [number, number] = [80, 24]): Term {
  const socket = `aremko-e2e-${process.pid}-${open.length}-${Date.now()}`;
  const exitFile = join(t.dir, `exit-code-${socket}`);
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const envs = Object.entries({ NO_COLOR: '1', ...env })
    .map(([k, v]) => `${k}=${quote(v)}`)
    .join(' ');
  const command =
    `cd ${quote(t.dir)} && env -u CI -u AREMKO_MAIL_TRANSPORT -u LC_ALL ${envs} ${quote(process.execPath)} ${quote(CLI)} --db ${quote(t.db)} ${args.map(quote).join(' ')}; ` +
    `echo $? > ${quote(exitFile)}; sleep 600`;
  const tmux = (...a: string[]) => execFileSync('tmux', ['-L', socket, '-f', '/dev/null', ...a], { encoding: 'utf8' });
  const term: Term = {
    socket,
    dir: t.dir,
    db: t.db,
    capture: () => tmux('capture-pane', '-p', '-t', 'tui'),
    keys: (...keys) => {
      for (const k of keys) tmux('send-keys', '-t', 'tui', k);
    },
    waitFor: async (test, timeoutMs = 20_000) => {
      const deadline = Date.now() + timeoutMs;
      let screen = '';
      for (;;) {
        screen = term.capture();
        if (typeof test === 'string' ? screen.includes(test) : test.test(screen)) return screen;
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${String(test)}; screen:\n${screen}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    exitCode: async (timeoutMs = 60_000) => {
      const deadline = Date.now() + timeoutMs;
      while (!existsSync(exitFile) || readFileSync(exitFile, 'utf8').trim() === '') {
        if (Date.now() > deadline) throw new Error(`the TUI did not exit; screen:\n${term.capture()}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      return Number(readFileSync(exitFile, 'utf8').trim());
    },
    resize: (columns, rows) => {
      tmux('resize-window', '-t', 'tui', '-x', String(columns), '-y', String(rows));
    },
    kill: () => {
      spawnSync('tmux', ['-L', socket, 'kill-server']);
      t.cleanup();
    },
  };
  tmux('new-session', '-d', '-s', 'tui', '-x', String(size[0]), '-y', String(size[1]), command);
  open.push(term);
  return term;
}

async function status(db: string) {
  const r = await runCli(['--db', db, 'status', '1', '--json']);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
}

beforeAll(() => {
  // The TUI is on the bundle's yargs side (cli.mjs and its chunks), beside the entry.
  if (!existsSync(CLI) || !existsSync(join(CLI, '../cli.mjs')))
    throw new Error(`build first: npm run build (the e2e test drives ${CLI})`);
});

afterEach(() => {
  while (open.length) open.pop()!.kill();
});

describe.skipIf(!hasTmux && process.env.CI !== 'true')('the TUI in a real terminal (tmux, 80×24)', () => {
  it('en: open, select, start the demo, see progress, pause, quit → exit 0, terminal restored', { timeout: 120_000 }, async () => {
    const term = terminal(await demoDir(120), [], { LANG: 'en_US.UTF-8', AREMKO_MAIL_TRANSPORT: 'outbox:outbox' });

    await term.waitFor('› #1 Aremko Spa — demo');
    let screen = term.capture();
    expect(screen).toMatch(/draft\s+░+\s+0%/);
    expect(screen.split('\n')[0]).toContain('aremko-mail · Campaigns');
    term.keys('Enter');
    await term.waitFor('aremko-mail › #1 Aremko Spa — demo');
    term.keys('s');
    // The first batch (50) goes out at once; then the 30 s interval counts down.
    screen = await term.waitFor(/batch 1 finished; next at/, 60_000);
    screen = await term.waitFor(/Next batch: in 0:[0-2]\d/);
    expect(screen).toMatch(/sent: 50 · pending: 70/);
    expect(screen).toContain('Sending: this window');
    expect(screen).toMatch(/batch 1 finished; next at/);
    expect(readdirSync(join(term.dir, 'outbox')).filter((f) => f.endsWith('.eml'))).toHaveLength(50);
    // Every line of the screen fits: nothing wrapped, nothing below row 23.
    for (const line of screen.split('\n')) expect([...line].length).toBeLessThanOrEqual(80);
    expect(screen.split('\n')[23] ?? '').toBe('');

    term.keys('p');
    await term.waitFor('Stopped sending #1: it was paused.');
    expect(term.capture()).toMatch(/#1 Aremko Spa — demo\s+paused/);
    const s = await status(term.db);
    expect(s.status).toBe('paused');
    expect(s.lease).toBeNull();
    expect(s.counts.sent).toBe(50);

    term.keys('q');
    await term.waitFor('aremko-mail · Campaigns');
    term.keys('q');
    expect(await term.exitCode()).toBe(0);
    // The alternate screen is gone: the screen from before is back, without the TUI on it.
    expect(term.capture()).not.toContain('aremko-mail');
  });

  it('es: a pause from another shell shows at once; resume; quit while sending asks, then stops like SIGTERM', { timeout: 120_000 }, async () => {
    const dir = await demoDir(150);
    const term = terminal(dir, [], { LANG: 'es_CL.UTF-8' }, [80, 24]);
    // Without a transport the TUI says how to set one; with --transport on the command line it sends.
    await term.waitFor('› #1 Aremko Spa — demo');
    term.keys('s');
    await term.waitFor('no hay transporte configurado');
    term.keys('q');
    expect(await term.exitCode()).toBe(0);

    const term2 = terminal(dir, ['--transport', 'outbox:salida', '--lang', 'es'], {}, [80, 24]);
    const db2 = term2.db;
    await term2.waitFor('› #1 Aremko Spa — demo');
    term2.keys('Enter');
    await term2.waitFor('aremko-mail › #1 Aremko Spa — demo');
    term2.keys('s');
    await term2.waitFor(/lote 1 terminado; el próximo a las/, 60_000);
    expect(term2.capture()).toContain('Envía: esta ventana');

    const paused = await runCli(['--db', db2, 'pause', '1']);
    expect(paused.code, paused.stderr).toBe(0);
    const t = Date.now();
    await term2.waitFor(/Aremko Spa — demo\s+en pausa/, 5000);
    expect(Date.now() - t).toBeLessThan(2500);
    await term2.waitFor('Se dejó de enviar #1: quedó en pausa.');

    term2.keys('s');
    await term2.waitFor(/Aremko Spa — demo\s+enviando/);
    await term2.waitFor('Envía: esta ventana');

    // Resizing keeps the layout whole.
    term2.resize(60, 18);
    let screen = await term2.waitFor(/Próximo lote/);
    await new Promise((r) => setTimeout(r, 300));
    screen = term2.capture();
    const lines = screen.split('\n');
    for (const line of lines) expect([...line].length).toBeLessThanOrEqual(60);
    expect(lines[0]).toContain('aremko-mail › #1');
    term2.resize(80, 24);
    await term2.waitFor(/── Registro ─{40}/);

    term2.keys('q');
    await term2.waitFor('aremko-mail · Campañas');
    term2.keys('q');
    await term2.waitFor('¿Detener y salir?');
    term2.keys('n');
    await term2.waitFor('aremko-mail · Campañas');
    term2.keys('C-c');
    await term2.waitFor('¿Detener y salir?');
    term2.keys('s');
    expect(await term2.exitCode()).toBe(0);
    const s = await status(db2);
    expect(s.lease).toBeNull();
    expect(s.counts.sending).toBe(0);
    expect(s.status).toBe('sending'); // the next run carries on
  });

  // Needs Store.listRecipients / recipientHistory / activity / batchStats / resolveInDoubt(…, emails)
  // in src/core (phase 2): until the SqliteStore has them the built TUI answers `f` with "this
  // database cannot list recipients yet". Then: a campaign run through the outbox transport with
  // one recipient made to fail, `f`, `/`, `Enter` on it, `r`, in en and es at 80×24.
  it.todo('f lists the failed and in-doubt recipients of a real run, / filters, Enter shows a history, r resolves one (en, es, 80×24)');
  it.todo('the detail shows sends per minute and per-batch outcomes of a real run at 80×24, and drops them at 60×18');

  it('without a terminal it never mounts Ink: it prints status', async () => {
    const t = tempDir('aremko-e2e-pipe-');
    try {
      expect((await runCli(['--db', t.db, 'demo', '--recipients', '5'])).code).toBe(0);
      const r = await runCli(['--db', t.db]);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^#1 Aremko Spa — demo: draft · 0\/5 sent/);
      expect(r.stdout).not.toContain('\u001b');
      const j = await runCli(['--db', t.db, '--json']);
      expect(JSON.parse(j.stdout)[0].status).toBe('draft');
    } finally {
      t.cleanup();
    }
  });
});

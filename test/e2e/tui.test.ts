/**
 * The built binary in a real terminal: tmux at 80×24. Open, select, start the demo campaign,
 * watch it send, pause, quit; exit code 0, terminal given back. A real `run` killed with SIGKILL
 * is said to be not running. After a real run through a real SMTP server that refuses, defers and
 * cuts off recipients: `f`, `/`, a recipient's history, `r` one by one, the pictures — in both
 * languages. Waits poll `capture-pane` until the expected text shows, bounded — no fixed sleeps.
 *
 * Needs the build (`npm run build`; `npm test` builds first).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CLI, runCli, startCli, tempDir } from '../helpers/cli.js';
import { startTestSmtp } from '../helpers/smtp-server.js';
import { FAILURES } from '../ui/real-run.js';

const hasTmux = spawnSync('tmux', ['-V']).status === 0;

interface Term {
  socket: string;
  dir: string;
  db: string;
  capture(): string;
  keys(...keys: string[]): void;
  waitFor(test: string | RegExp | ((screen: string) => boolean), timeoutMs?: number): Promise<string>;
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
        if (typeof test === 'string' ? screen.includes(test) : test instanceof RegExp ? test.test(screen) : test(screen)) return screen;
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

/**
 * A temp folder whose database holds campaign #1 "With failures" after a real `run` process sent
 * it through a real SMTP server that refuses, defers and cuts off chosen recipients (FAILURES:
 * r1 unknown mailbox, r4 deferred until its 2 attempts are used up, r7 and r10 cut off after the
 * data — in doubt —, r9 refused as spam): 12 recipients, batches of 4, made with the CLI.
 */
async function failuresDir() {
  const t = tempDir('aremko-e2e-f-');
  const smtp = await startTestSmtp({ behaviour: ({ rcpt }) => FAILURES[rcpt.toLowerCase()] ?? 'accept' });
  try {
    writeFileSync(join(t.dir, 'm.html'), '<p>Hola {{nombre}}</p>');
    writeFileSync(join(t.dir, 'r.csv'), ['email,nombre', ...Array.from({ length: 12 }, (_, i) => `r${i}@example.com,Nombre ${i}`)].join('\n') + '\n');
    const cli = async (...args: string[]) => {
      const r = await runCli(['--db', t.db, ...args], { cwd: t.dir });
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
      return r;
    };
    await cli('campaign', 'create', '--name', 'With failures', '--subject', 'Hola {{nombre}}', '--from', 'hola@aremko.cl', '--html', 'm.html',
      '--batch-size', '4', '--interval', '0', '--max-attempts', '2', '--retry-delay', '1s');
    await cli('import', '1', 'r.csv');
    await cli('start', '1');
    const run = await cli('run', '--campaign', '1', '--transport', smtp.url);
    expect(run.stdout).toMatch(/campaign 1: completed/);
  } finally {
    await smtp.close();
  }
  const s = await status(t.db);
  expect(s.counts).toMatchObject({ total: 12, sent: 7, failed: 3, in_doubt: 2 });
  return t;
}

/** Every line fits the terminal's width, and nothing is drawn on its last row. */
function fitsScreen(screen: string, columns: number, rows: number) {
  const lines = screen.split('\n');
  for (const line of lines) expect([...line].length, line).toBeLessThanOrEqual(columns);
  expect(lines[rows - 1] ?? '').toBe('');
}

/** The failed list's row for an address (highlighted or not). */
const rowOf = (screen: string, email: string) => screen.split('\n').find((l) => /^(› | {2})/.test(l) && l.slice(2).startsWith(`${email} `)) ?? '';

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

  it('a run killed with SIGKILL: the TUI says it is not running (not "sending"), in English and Spanish', { timeout: 120_000 }, async () => {
    const dir = await demoDir(120);
    expect((await runCli(['--db', dir.db, 'start', '1'])).code).toBe(0);
    // A real runner: the first batch of 50 at once, then it waits the 30 s interval, holding its lease.
    const run = startCli(['--db', dir.db, 'run', '--campaign', '1', '--transport', `outbox:${join(dir.dir, 'out')}`]);
    const owner = `${hostname()}:${run.child.pid}`;
    try {
      await run.waitForLine((l) => /batch 1 finished/.test(l));
      const term = terminal(dir, [], { LANG: 'en_US.UTF-8' });
      await term.waitFor('› #1 Aremko Spa — demo');
      term.keys('Enter');
      await term.waitFor(`Sending: a run on ${owner}`);

      run.child.kill('SIGKILL');
      expect((await run.done).signal).toBe('SIGKILL');
      let screen = await term.waitFor(`Sending: ${owner} is not running — the next run takes over`, 5000);
      expect(screen).not.toContain(`a run on ${owner}`);
      expect(screen).toMatch(/Next batch: in 0:[0-2]\d/); // the interval the dead runner stored still holds
      fitsScreen(screen, 80, 24);
      term.keys('Escape');
      screen = await term.waitFor(`${owner} not running`);
      expect(screen).not.toContain(`sending: ${owner}`);
      term.keys('q');
      expect(await term.exitCode()).toBe(0);

      const es = terminal(dir, [], { LANG: 'es_CL.UTF-8' });
      await es.waitFor(`${owner} no está corriendo`);
      es.keys('Enter');
      screen = await es.waitFor(`Envía: ${owner} no está corriendo — la próxima ejecución toma el relevo`);
      fitsScreen(screen, 80, 24);
      expect((await status(dir.db)).lease).toMatchObject({ owner, alive: false });
    } finally {
      if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill('SIGKILL');
    }
  });

  it('es: f lists the failed and in-doubt recipients of a real run, / filters, Enter shows a history, r marks one sent', { timeout: 120_000 }, async () => {
    const dir = await failuresDir();
    const term = terminal(dir, [], { LANG: 'es_CL.UTF-8' });
    await term.waitFor('› #1 With failures');
    term.keys('Enter');
    await term.waitFor('aremko-mail › #1 With failures');
    term.keys('f');
    let screen = await term.waitFor('5 fallidos o en duda · filas 1–5 de 5');
    expect(screen).toContain('Fallidos y en duda · #1 With failures');
    expect(screen).toMatch(/dirección\s+estado\s+int\.\s+cuándo\s+último error/);
    expect(rowOf(screen, 'r1@example.com')).toMatch(/^› r1@example\.com\s+fallido\s+1\s+\d\d:\d\d:\d\d 550 5\.1\.1/);
    expect(rowOf(screen, 'r4@example.com')).toMatch(/fallido\s+2\s+\d\d:\d\d:\d\d 451 4\.7\.1 greylisted/);
    expect(rowOf(screen, 'r7@example.com')).toMatch(/en duda\s+1\s/);
    expect(rowOf(screen, 'r9@example.com')).toMatch(/fallido\s+1\s+.*554 5\.7\.1/);
    expect(rowOf(screen, 'r10@example.com')).toMatch(/en duda\s+1\s/);
    for (const sent of ['r0@', 'r2@', 'r3@', 'r5@', 'r11@']) expect(screen).not.toContain(sent);
    fitsScreen(screen, 80, 24);

    // / filters by the error text; Enter leaves the filter; Enter again opens that one's history.
    term.keys('/');
    await term.waitFor('Filtro (dirección o error): ');
    term.keys('greylisted');
    await term.waitFor('Filtro (dirección o error): greylisted');
    term.keys('Enter');
    screen = await term.waitFor('1 de 5 coinciden con "greylisted"');
    expect(rowOf(screen, 'r4@example.com')).toMatch(/^› /);
    expect(screen).not.toContain('r1@example.com');
    term.keys('Enter');
    screen = await term.waitFor(/Historial · r4@example\.com[\s\S]*intento 2/);
    const lines = screen.split('\n');
    const first = lines.findIndex((l) => l.includes('intento 1'));
    const second = lines.findIndex((l) => l.includes('intento 2'));
    expect(first).toBeGreaterThan(0);
    expect(second).toBeGreaterThan(first); // oldest first
    expect(lines[first]).toMatch(/intento 1 · falla temporal · lote \d+ · reintento a las \d\d:\d\d:\d\d/);
    expect(lines[second]).toMatch(/intento 2 · rechazado/);
    expect(lines[second + 1]).toMatch(/451 4\.7\.1 greylisted, try again later \(abandonado tras 2 intentos\)/);
    fitsScreen(screen, 80, 24);

    // Back to the list. The filter also finds the tool's own words as the list shows them, in
    // Spanish (they are stored in English), with or without the accent.
    term.keys('Escape');
    await term.waitFor('1 de 5 coinciden con "greylisted"');
    term.keys('/', 'C-u', 'conexion', 'Enter');
    screen = await term.waitFor('2 de 5 coinciden con "conexion"');
    expect(rowOf(screen, 'r7@example.com')).toMatch(/en duda/);
    expect(rowOf(screen, 'r10@example.com')).toMatch(/en duda/);
    for (const other of ['r1@', 'r4@', 'r9@']) expect(screen).not.toContain(other);
    // Clear the filter; the last row (r10, in doubt): r, then m marks it sent.
    term.keys('/', 'C-u', 'Enter');
    await term.waitFor('5 fallidos o en duda');
    term.keys('End');
    await term.waitFor((s) => rowOf(s, 'r10@example.com').startsWith('› '));
    // Cut off after the data: its history says what the transport made of it, in Spanish.
    term.keys('Enter');
    screen = await term.waitFor(/Historial · r10@example\.com[\s\S]*intento 1/);
    expect(screen).toMatch(/conexión perdida después de salir/);
    expect(screen).not.toMatch(/connection lost/);
    term.keys('Escape');
    await term.waitFor((s) => rowOf(s, 'r10@example.com').startsWith('› '));
    term.keys('r');
    await term.waitFor('r10@example.com está en duda: puede que haya recibido el mensaje, o no.');
    term.keys('m');
    screen = await term.waitFor('r10@example.com (#1) quedó marcado como enviado.');
    await term.waitFor('4 fallidos o en duda');
    const s = await status(term.db);
    expect(s.counts).toMatchObject({ sent: 8, in_doubt: 1, failed: 3 });

    term.keys('q');
    await term.waitFor('aremko-mail › #1 With failures');
    term.keys('q');
    await term.waitFor('aremko-mail · Campañas');
    term.keys('q');
    expect(await term.exitCode()).toBe(0);
  });

  it('en: f, a recipient in doubt, its history, r resends it; the campaign goes back to sending', { timeout: 120_000 }, async () => {
    const dir = await failuresDir();
    const term = terminal(dir, [], { LANG: 'en_US.UTF-8' });
    await term.waitFor('› #1 With failures');
    term.keys('Enter', 'f');
    let screen = await term.waitFor('5 failed or in doubt · rows 1–5 of 5');
    expect(screen).toMatch(/address\s+status\s+tries\s+when\s+last error/);
    expect(rowOf(screen, 'r7@example.com')).toMatch(/in doubt\s+1\s+\d\d:\d\d:\d\d /);
    fitsScreen(screen, 80, 24);
    // r1 r4 r7: the third row.
    term.keys('j', 'j');
    await term.waitFor((x) => rowOf(x, 'r7@example.com').startsWith('› '));
    term.keys('Enter');
    screen = await term.waitFor(/History · r7@example\.com[\s\S]*attempt 1 · in doubt/);
    expect(screen).toMatch(/in doubt · attempts: 1 · batch \d/);
    fitsScreen(screen, 80, 24);
    term.keys('r');
    await term.waitFor('r7@example.com is in doubt: it may or may not have received the message.');
    term.keys('r');
    screen = await term.waitFor('r7@example.com (#1) queued to send again.');
    const s = await status(term.db);
    expect(s.status).toBe('sending');
    expect(s.counts).toMatchObject({ pending: 1, in_doubt: 1 });
    term.keys('q');
    await term.waitFor('4 failed or in doubt');
    term.keys('q', 'q');
    await term.waitFor('aremko-mail · Campaigns');
    term.keys('q');
    expect(await term.exitCode()).toBe(0);
  });

  it('the detail shows sends per minute and per-batch outcomes of a real run at 80×24, and drops them at 60×18', { timeout: 120_000 }, async () => {
    const dir = await failuresDir();
    const term = terminal(dir, [], { LANG: 'en_US.UTF-8' });
    await term.waitFor('› #1 With failures');
    term.keys('Enter');
    let screen = await term.waitFor('Batches:');
    fitsScreen(screen, 80, 24);
    const lines = screen.split('\n');
    const spark = lines.find((l) => l.startsWith('Sent/min (max ')) ?? '';
    expect(spark).toMatch(/^Sent\/min \(max \d+\) [·▁▂▃▄▅▆▇█]{60}$/);
    expect(spark).toMatch(/[▁▂▃▄▅▆▇█]·{0,2}$/); // the run, in the newest minutes
    const batches = lines.find((l) => l.startsWith('Batches:')) ?? '';
    for (const n of [1, 2, 3]) expect(batches).toMatch(new RegExp(`#${n} [█x?░]{5} \\d`));
    expect(batches).toMatch(/[x?]/); // NO_COLOR: failures and doubts told by glyphs
    const rule = lines.findIndex((l) => l.startsWith('── Log'));
    expect(lines.findIndex((l) => l.startsWith('Batches:'))).toBe(rule - 1);

    term.resize(60, 18);
    // The frame drawn for 60×18 (not the old one as tmux reflows it): the header on top, every
    // line within 60 columns, the last row empty.
    screen = await term.waitFor((x) => {
      const rows = x.split('\n');
      return rows[0]!.startsWith('aremko-mail › #1') && (rows[17] ?? '') === '' && rows.every((l) => [...l].length <= 60) && /^── Log/m.test(x);
    });
    fitsScreen(screen, 60, 18);
    expect(screen).not.toContain('Batches:');
    expect(screen).not.toContain('Sent/min');
    for (const label of ['100%', 'failed: 3 · in doubt: 2', 'Next batch:', 'Last error:']) expect(screen).toContain(label);
    term.resize(80, 24);
    await term.waitFor('Batches:');
  });

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

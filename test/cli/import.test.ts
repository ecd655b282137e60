import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import iconv from 'iconv-lite';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CLI, type CliResult, runCli, tempDir } from '../helpers/cli.js';

const fixture = (name: string) => resolve(__dirname, '../fixtures/import', name);

let tmp: ReturnType<typeof tempDir>;
const cli = (...args: string[]) => runCli(['--db', tmp.db, ...args]);

async function counts(id: string) {
  const status = await cli('status', id, '--json');
  expect(status.code).toBe(0);
  return JSON.parse(status.stdout).counts;
}

beforeEach(async () => {
  tmp = tempDir('aremko-cli-import-');
  const html = join(tmp.dir, 'mail.html');
  writeFileSync(html, '<p>Hola {{nombre}}</p>');
  const created = await cli('campaign', 'create', '--name', 'Verano', '--subject', 'Hola', '--from', 'hola@aremko.cl', '--html', html);
  expect(created.code).toBe(0);
  expect(created.stdout.trim()).toBe('1');
});

/** Children a test started itself; killed if a test fails while one still runs (e.g. hangs). */
const children: ChildProcess[] = [];

afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  tmp.cleanup();
});

/** Runs a command, killed after the test if it still runs (a test of a hang must not leave one behind). */
function runTracked(command: string, args: string[]): Promise<CliResult> {
  const child = spawn(command, args, { env: { ...process.env, NO_COLOR: '1' } });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
  return new Promise((done, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => done({ code, signal, stdout, stderr }));
  });
}

/** `aremko-mail --db <db> import 1 <(cat file) --json` through bash: a real process substitution. */
const importProcessSubstitution = (file: string) =>
  runTracked('bash', ['-c', 'exec "$0" "$1" --db "$2" import 1 <(cat "$3") --json', process.execPath, CLI, tmp.db, file]);

/** What `import 1` would see of a file: the CRLF header over 1,000 LF rows. */
const mixedEndings = 'email,nombre\r\n' + Array.from({ length: 1000 }, (_, i) => `n${i}@x.test,N${i}\n`).join('');

describe('aremko-mail import', () => {
  it('prints exactly the contract JSON', async () => {
    const r = await cli('import', '1', fixture('excel-cp1252-semicolon.csv'), '--json');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(Object.keys(report)).toEqual(['imported', 'duplicates', 'suppressed', 'invalid']);
    expect(report).toEqual({
      imported: 4,
      duplicates: 0,
      suppressed: 0,
      invalid: [{ line: 5, value: 'raul@', reason: 'not a valid address' }],
    });
    expect(await counts('1')).toMatchObject({ total: 4, pending: 4 });
  });

  it('prints a summary line and the invalid lines as text', async () => {
    const r = await cli('import', '1', fixture('invalid.csv'));
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      'campaign 1: imported 2 new recipients, 0 duplicates skipped, 0 suppressed, 5 invalid lines skipped ' +
        '(invalid.csv: UTF-8, ","-separated, address column "email")\n' +
        '  line 3: "": empty\n' +
        '  line 4: "sin-arroba.example.com": no @\n' +
        '  line 5: "juan@": not a valid address\n' +
        '  line 6: "juan perez@example.com": not a valid address\n' +
        '  line 8: "@example.com": not a valid address\n',
    );
  });

  it('shows the first 20 invalid lines and points to --json for the rest', async () => {
    const file = join(tmp.dir, 'many-invalid.csv');
    writeFileSync(file, 'email\n' + Array.from({ length: 25 }, (_, i) => `malo${i}\n`).join(''));
    const r = await cli('import', '1', file);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(22);
    expect(lines[20]).toBe('  line 21: "malo19": no @');
    expect(lines[21]).toBe('  … and 5 more; use --json for all');
    const json = JSON.parse((await cli('import', '1', file, '--json')).stdout);
    expect(json.invalid).toHaveLength(25);
  });

  it('names another address column with --email-column', async () => {
    const without = await cli('import', '1', fixture('custom-column.csv'));
    expect(without.code).toBe(1);
    expect(without.stderr).toMatch(/custom-column\.csv: line 1: no address column.*--email-column/);

    const r = await cli('import', '1', fixture('custom-column.csv'), '--email-column', 'Correo Personal', '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ imported: 2, duplicates: 0, suppressed: 0, invalid: [] });
  });

  it('says which encoding, delimiter and column it used', async () => {
    const r = await cli('import', '1', fixture('tab-separated.tsv'));
    expect(r.stdout).toContain('(tab-separated.tsv: UTF-8, tab-separated, address column "e-mail")');
    const excel = await cli('import', '1', fixture('excel-cp1252-semicolon.csv'));
    expect(excel.stdout).toContain('Windows-1252, ";"-separated, address column "correo"');
  });

  it.each([
    ['not-csv.png', 'line 3: binary data'],
    ['cut-off.csv', 'line 3: the file ends inside a quoted field'],
    ['no-address-column.csv', 'line 1: no address column'],
  ])('imports nothing from %s and exits 1 naming the file and line', async (name, message) => {
    await cli('import', '1', fixture('duplicates.csv'));
    const r = await cli('import', '1', fixture(name), '--json');
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`${fixture(name)}: ${message}`);
    expect(r.stderr).toContain('nothing was imported');
    expect(await counts('1')).toMatchObject({ total: 3, pending: 3 });
  });

  it('exits 2 for a file that does not exist, naming it', async () => {
    const r = await cli('import', '1', join(tmp.dir, 'nope.csv'));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`cannot read ${join(tmp.dir, 'nope.csv')}: no such file`);
  });

  it('exits 2 on bad usage', async () => {
    expect((await cli('import', '1')).code).toBe(2);
    const badId = await cli('import', 'uno', fixture('duplicates.csv'));
    expect(badId.code).toBe(2);
    expect(badId.stderr).toContain('campaign id must be a positive whole number, not "uno"');
  });

  it('exits 1 for a campaign that does not exist or is cancelled', async () => {
    const missing = await cli('import', '7', fixture('duplicates.csv'));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('campaign 7 does not exist');

    expect((await cli('cancel', '1')).code).toBe(0);
    const cancelled = await cli('import', '1', fixture('duplicates.csv'));
    expect(cancelled.code).toBe(1);
    expect(cancelled.stderr).toContain('campaign 1 is cancelled');
    expect(await counts('1')).toMatchObject({ total: 0 });
  });

  it('imports all 1,000 rows of a CRLF header over LF rows; the first recipient keeps its own fields', async () => {
    const file = join(tmp.dir, 'f.csv');
    writeFileSync(file, mixedEndings);
    const r = await cli('import', '1', file, '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ imported: 1000, duplicates: 0, suppressed: 0, invalid: [] });
    expect(await counts('1')).toMatchObject({ total: 1000, pending: 1000 });
    const preview = await cli('preview', '1', '--json');
    expect(JSON.parse(preview.stdout)).toMatchObject({ to: 'n0@x.test', html: '<p>Hola N0</p>' });
    const last = await cli('preview', '1', '--email', 'n999@x.test', '--json');
    expect(JSON.parse(last.stdout).html).toBe('<p>Hola N999</p>');
  });

  it('reads standard input with -', async () => {
    const r = await runCli(['--db', tmp.db, 'import', '1', '-'], { input: mixedEndings });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('imported 1000 new recipients');
    expect(r.stdout).toContain('(standard input: UTF-8, ","-separated, address column "email")');
    expect(await counts('1')).toMatchObject({ total: 1000 });
  });

  it('reads a FIFO once (it used to wait forever for a second pass)', async () => {
    const fifo = join(tmp.dir, 'ff');
    execFileSync('mkfifo', [fifo]);
    const importing = runTracked(process.execPath, [CLI, '--db', tmp.db, 'import', '1', fifo, '--json']);
    await writeFile(fifo, mixedEndings); // opens when the import opens the FIFO for reading
    const r = await importing;
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ imported: 1000 });
  });

  it('reads a process substitution <(…), a pipe named /dev/fd/N (it used to find "only blank lines")', async () => {
    const file = join(tmp.dir, 'f.csv');
    writeFileSync(file, mixedEndings);
    const r = await importProcessSubstitution(file);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ imported: 1000 });
  });

  it('refuses a file mixing UTF-8 and Windows-1252, naming the lines; --encoding decides', async () => {
    const file = join(tmp.dir, 'mixed.csv');
    writeFileSync(file, Buffer.concat([Buffer.from('email,nombre\njose@x.test,José\n'), iconv.encode('pena@x.test,Peña\n', 'windows-1252')]));
    const refused = await cli('import', '1', file);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toBe(
      `aremko-mail: ${file}: mixed encodings: line 2 is UTF-8 but line 3 is not; save the file as UTF-8, or choose how to ` +
        'read it with --encoding utf-8 or --encoding windows-1252; nothing was imported\n',
    );
    expect(await counts('1')).toMatchObject({ total: 0 });

    const forcedUtf8 = await cli('import', '1', file, '--encoding', 'utf-8');
    expect(forcedUtf8.code).toBe(1);
    expect(forcedUtf8.stderr).toBe(
      `aremko-mail: ${file}: line 3 is not UTF-8 (--encoding utf-8 was given); is the file Windows-1252 (--encoding windows-1252)? nothing was imported\n`,
    );

    const cp1252 = await cli('import', '1', file, '--encoding', 'windows-1252');
    expect(cp1252.code).toBe(0);
    expect(cp1252.stdout).toContain('Windows-1252');
    const pena = await cli('preview', '1', '--email', 'pena@x.test', '--json');
    expect(JSON.parse(pena.stdout).html).toBe('<p>Hola Peña</p>');

    const unknown = await cli('import', '1', file, '--encoding', 'latin9');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/encoding.*latin9/);
  });

  it('imports a quoted local part and an IDN domain as valid addresses', async () => {
    const file = join(tmp.dir, 'special.csv');
    writeFileSync(file, 'email,nombre\n' + '"""john doe""@x.test",John\n' + 'ana@ñandú.cl,Ana\n');
    const r = await cli('import', '1', file, '--json');
    expect(JSON.parse(r.stdout)).toEqual({ imported: 2, duplicates: 0, suppressed: 0, invalid: [] });
    const john = await cli('preview', '1', '--email', '"john doe"@x.test', '--json');
    expect(JSON.parse(john.stdout)).toMatchObject({ to: '"john doe"@x.test', html: '<p>Hola John</p>' });
  });

  it('refuses duplicate header names, naming them and the line; nothing imported', async () => {
    const file = join(tmp.dir, 'dup.csv');
    writeFileSync(file, 'email,nombre,Nombre\nana@x.test,Ana,ANA\n');
    const r = await cli('import', '1', file);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `aremko-mail: ${file}: line 1: the header names the column "nombre" twice (columns 2 and 3: "nombre" and "Nombre"); ` +
        'rename one; nothing was imported\n',
    );
    expect(await counts('1')).toMatchObject({ total: 0 });
  });

  it('shows control characters in values and the file name harmlessly', async () => {
    const file = join(tmp.dir, 'evil\u001b[31m.csv');
    writeFileSync(file, 'email\n\u001b]0;pwned\u0007@x\n');
    const r = await cli('import', '1', file);
    expect(r.code).toBe(0);
    expect(r.stdout.replaceAll('\n', '')).not.toMatch(/[\u0000-\u001f\u007f]/);
    expect(r.stdout).toContain('(evil\\x1b[31m.csv: UTF-8');
    expect(r.stdout).toContain('line 2: "\\u001b]0;pwned\\u0007@x": not a valid address');
  });

  it('explains itself in --help', async () => {
    const r = await runCli(['import', '--help']);
    expect(r.code).toBe(0);
    for (const text of ['import <campaign> <file>', '--email-column', 'email, correo, e-mail, mail', 'Windows-1252', 'Exit codes', '"invalid"', '--encoding', 'standard input'])
      expect(r.stdout).toContain(text);
  });
});

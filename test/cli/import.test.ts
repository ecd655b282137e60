import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli, tempDir } from '../helpers/cli.js';

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

afterEach(() => tmp.cleanup());

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

  it('explains itself in --help', async () => {
    const r = await runCli(['import', '--help']);
    expect(r.code).toBe(0);
    for (const text of ['import <campaign> <file>', '--email-column', 'email, correo, e-mail, mail', 'Windows-1252', 'Exit codes', '"invalid"'])
      expect(r.stdout).toContain(text);
  });
});

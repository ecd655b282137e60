import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli, tempDir } from '../helpers/cli.js';

const fixture = (name: string) => resolve(__dirname, '../fixtures/import', name);

let tmp: ReturnType<typeof tempDir>;
const cli = (...args: string[]) => runCli(['--db', tmp.db, ...args]);

async function listed(): Promise<{ email: string; reason: string; created_at: string }[]> {
  const r = await cli('suppress', 'list', '--json');
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout);
}

beforeEach(() => {
  tmp = tempDir('aremko-cli-suppress-');
});

afterEach(() => tmp.cleanup());

describe('aremko-mail suppress', () => {
  it('adds, lists and removes addresses', async () => {
    const added = await cli('suppress', 'add', 'juan@example.cl', ' Ana@Example.cl ');
    expect(added.code).toBe(0);
    expect(added.stdout).toBe('added 2 addresses to the suppression list\n');

    const again = await cli('suppress', 'add', 'ANA@example.cl', 'pedro@example.cl', '--reason', 'complaint', '--json');
    expect(JSON.parse(again.stdout)).toEqual({ added: 1, duplicates: 1 });

    const list = await listed();
    expect(list.map(({ email, reason }) => ({ email, reason }))).toEqual([
      { email: 'Ana@Example.cl', reason: 'manual' },
      { email: 'juan@example.cl', reason: 'manual' },
      { email: 'pedro@example.cl', reason: 'complaint' },
    ]);
    for (const s of list) expect(s.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

    const text = await cli('suppress', 'list');
    expect(text.stdout.split('\n')[0]).toMatch(/^Ana@Example\.cl {4}\d{4}-.*Z {2}manual$/);

    const removed = await cli('suppress', 'remove', 'ana@example.cl', 'nadie@example.cl', '--json');
    expect(JSON.parse(removed.stdout)).toEqual({ removed: 1, not_listed: 1 });
    expect((await listed()).map((s) => s.email)).toEqual(['juan@example.cl', 'pedro@example.cl']);
  });

  it('adds nothing when any address is invalid, and names it', async () => {
    const r = await cli('suppress', 'add', 'ok@example.cl', 'sin-arroba', 'juan@');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('not an email address: "sin-arroba" (no @), "juan@" (not a valid address); nothing was added');
    expect(await listed()).toEqual([]);
  });

  it('refuses an address carrying CR/LF or escapes, shown harmlessly; a reason with escapes is listed harmlessly', async () => {
    const r = await cli('suppress', 'add', 'ok@example.cl', 'ana@example.cl\r\nBcc: x@evil.test');
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      'aremko-mail: not an email address: "ana@example.cl\\x0d\\x0aBcc: x@evil.test" (not a valid address); nothing was added\n',
    );
    expect(await listed()).toEqual([]);
    expect((await cli('suppress', 'add', 'ok@example.cl', '--reason', 'queja \u001b[2J')).code).toBe(0);
    expect((await cli('suppress', 'list')).stdout).toMatch(/^ok@example\.cl {2}\S+ {2}queja \\x1b\[2J\n$/);
  });

  it('says when the list is empty', async () => {
    expect((await cli('suppress', 'list')).stdout).toBe('the suppression list is empty\n');
  });

  it('imports a plain list of addresses with a reason', async () => {
    const r = await cli('suppress', 'import', fixture('suppress-list.txt'), '--reason', 'unsubscribed', '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      added: 2,
      duplicates: 1,
      invalid: [{ line: 3, value: 'no-es-correo', reason: 'no @' }],
    });
    expect((await listed()).map(({ email, reason }) => ({ email, reason }))).toEqual([
      { email: 'baja1@example.com', reason: 'unsubscribed' },
      { email: 'Baja2@Example.com', reason: 'unsubscribed' },
    ]);
  });

  it('imports a CSV export, reporting invalid lines as text', async () => {
    const r = await cli('suppress', 'import', fixture('excel-cp1252-semicolon.csv'));
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      'added 4 addresses to the suppression list, 0 duplicates skipped, 1 invalid line skipped ' +
        '(excel-cp1252-semicolon.csv: Windows-1252, ";"-separated, address column "correo")\n' +
        '  line 5: "raul@": not a valid address\n',
    );
  });

  it('adds nothing from a file that is not CSV, and exits 2 for a missing file', async () => {
    const bad = await cli('suppress', 'import', fixture('not-csv.png'));
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('not-csv.png: line 3');
    const missing = await cli('suppress', 'import', join(tmp.dir, 'nope.txt'));
    expect(missing.code).toBe(2);
    expect(await listed()).toEqual([]);
  });

  it('puts all 1,000 opted-out addresses of a CRLF-header, LF-rows file on the list (it added 1)', async () => {
    const file = join(tmp.dir, 'bajas.csv');
    writeFileSync(file, 'email,nombre\r\n' + Array.from({ length: 1000 }, (_, i) => `n${i}@x.test,N${i}\n`).join(''));
    const r = await cli('suppress', 'import', file, '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ added: 1000, duplicates: 0, invalid: [] });
    const list = await listed();
    expect(list).toHaveLength(1000);
    expect(list.every((s) => /^n\d+@x\.test$/.test(s.email))).toBe(true);
  });

  it('reads standard input with -, and takes --encoding', async () => {
    const r = await runCli(['--db', tmp.db, 'suppress', 'import', '-', '--reason', 'unsubscribed'], { input: 'uno@x.test\rdos@x.test\r' });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('added 2 addresses to the suppression list, 0 duplicates skipped, 0 invalid lines skipped (standard input: UTF-8, one address per line)\n');
    expect((await listed()).map((s) => s.email)).toEqual(['dos@x.test', 'uno@x.test']);

    // "é" sent as UTF-8 (two bytes), read as told: two Windows-1252 characters.
    const forced = await runCli(['--db', tmp.db, 'suppress', 'import', '-', '--encoding', 'windows-1252', '--json'], {
      input: 'email,nota\ntres@x.test,é\n',
    });
    expect(JSON.parse(forced.stdout)).toEqual({ added: 1, duplicates: 0, invalid: [] });
    const unknown = await runCli(['--db', tmp.db, 'suppress', 'import', '-', '--encoding', 'ascii'], { input: 'x@y.test\n' });
    expect(unknown.code).toBe(2);
  });

  it('suppresses pending recipients, and imports listed addresses as suppressed', async () => {
    const html = join(tmp.dir, 'mail.html');
    writeFileSync(html, '<p>Hola</p>');
    await cli('campaign', 'create', '--name', 'Verano', '--subject', 'Hola', '--from', 'hola@aremko.cl', '--html', html);
    expect((await cli('suppress', 'add', 'ana@example.com')).code).toBe(0);

    const imported = await cli('import', '1', fixture('duplicates.csv'), '--json');
    expect(JSON.parse(imported.stdout)).toEqual({ imported: 2, duplicates: 3, suppressed: 1, invalid: [] });

    expect((await cli('suppress', 'add', 'bruno@example.com')).code).toBe(0);
    const status = JSON.parse((await cli('status', '1', '--json')).stdout);
    expect(status.counts).toMatchObject({ total: 3, pending: 1, suppressed: 2 });
  });

  it('rejects an empty --reason as bad usage', async () => {
    const r = await cli('suppress', 'add', 'juan@example.cl', '--reason', ' ');
    expect(r.code).toBe(2);
    expect(await listed()).toEqual([]);
  });

  it.each(['add', 'remove', 'list', 'import'])('explains suppress %s in --help', async (sub) => {
    const r = await runCli(['suppress', sub, '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`suppress ${sub}`);
    expect(r.stdout).toContain('JSON');
  });
});

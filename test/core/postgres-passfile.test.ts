/**
 * The password file (~/.pgpass, PGPASSFILE), read as libpq documents it. Real files in a temp
 * folder; the permission rule is checked on real modes.
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { lookUpPassword, parsePassfileLine, passfilePath, passwordFor } from '../../src/core/store/postgres-passfile.js';
import { parsePostgresUrl } from '../../src/core/store/postgres-url.js';

const dir = mkdtempSync(join(tmpdir(), 'aremko-pgpass-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function passfile(name: string, text: string, mode = 0o600): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  chmodSync(file, mode);
  return file;
}

const key = { host: 'db.internal', port: 5432, database: 'app', user: 'mailer' };

describe('the password file', () => {
  it('the first line that matches wins; * matches anything; comments and short lines are skipped', () => {
    const text = [
      '# staging',
      'db.internal:5432:app',
      'other:5432:app:mailer:not-this',
      'db.internal:*:app:mailer:first',
      '*:*:*:*:catch-all',
    ].join('\n');
    expect(passwordFor(text, key)).toBe('first');
    expect(passwordFor(text, { ...key, host: 'elsewhere' })).toBe('catch-all');
    expect(passwordFor('db.internal:5433:app:mailer:x\r\n', key)).toBeNull();
    expect(passwordFor('db.internal:5432:app:mailer:crlf\r\n', key)).toBe('crlf');
  });

  it('\\: and \\\\ escape, in every field; a colon in the password needs none', () => {
    expect(parsePassfileLine(String.raw`h\:x:5432:d\\b:u:p\:a:ss`)).toEqual(['h:x', '5432', 'd\\b', 'u', 'p:a:ss']);
    expect(passwordFor(String.raw`db.internal:5432:app:mailer:s3c:r\\t`, key)).toBe('s3c:r\\t');
  });

  it('any five fields, escaped as libpq says, read back as written', () => {
    const escape = (s: string) => s.replace(/[\\:]/g, (c) => `\\${c}`);
    const field = fc.string({ minLength: 1, maxLength: 12 }).filter((s) => !/[\r\n]/.test(s));
    fc.assert(
      fc.property(fc.tuple(field, field, field, field, field), (fields) => {
        const line = fields.map(escape).join(':');
        fc.pre(!line.startsWith('#'));
        expect(parsePassfileLine(line)).toEqual(fields);
      }),
    );
  });

  it('a file other users may read or write, or a folder, is not read, and says why', () => {
    const open = passfile('open', 'db.internal:5432:app:mailer:pw\n', 0o644);
    expect(lookUpPassword(key, open)).toEqual({ kind: 'ignored', file: open, why: 'other users may read or write it (mode 0644; chmod 600 it)' });
    const group = passfile('group', 'db.internal:5432:app:mailer:pw\n', 0o620);
    expect(lookUpPassword(key, group)).toMatchObject({ kind: 'ignored' });
    const folder = join(dir, 'folder');
    mkdirSync(folder);
    expect(lookUpPassword(key, folder)).toEqual({ kind: 'ignored', file: folder, why: 'it is not a plain file' });
    expect(lookUpPassword(key, join(dir, 'missing'))).toEqual({ kind: 'none' });
    const owner = passfile('owner', 'db.internal:5432:app:mailer:pw\n', 0o400);
    expect(lookUpPassword(key, owner)).toEqual({ kind: 'found', password: 'pw', file: owner });
  });

  it('PGPASSFILE names the file, else .pgpass in HOME', () => {
    expect(passfilePath({ PGPASSFILE: '/run/secrets/pgpass', HOME: '/home/x' })).toBe('/run/secrets/pgpass');
    expect(passfilePath({ HOME: '/home/x' })).toBe('/home/x/.pgpass');
  });
});

describe('a URL without a password', () => {
  /** Parses with PGPASSFILE (and no PGPASSWORD) as given. */
  function parsed(url: string, file: string, folders: string[] = ['/nonexistent/aremko']) {
    const saved = { PGPASSFILE: process.env.PGPASSFILE, PGPASSWORD: process.env.PGPASSWORD };
    process.env.PGPASSFILE = file;
    delete process.env.PGPASSWORD;
    try {
      return parsePostgresUrl(url, folders);
    } finally {
      for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }

  it('takes it from the password file, matched on host, port, database and user; the URL and PGPASSWORD win', () => {
    const file = passfile('urls', ['db.internal:6000:app:mailer:from-file-6000', 'db.internal:5432:app:mailer:from-file', 'localhost:5432:app:mailer:local'].join('\n'));
    expect(parsed('postgres://mailer@db.internal/app', file)).toMatchObject({ password: 'from-file', passwordNote: `password from ${file}` });
    expect(parsed('postgres://mailer@db.internal:6000/app', file)).toMatchObject({ password: 'from-file-6000' });
    expect(parsed('postgres://mailer:in-url@db.internal/app', file)).toMatchObject({ password: 'in-url', passwordNote: null });
    // no host anywhere, and a socket in a default folder: both are `localhost` in the file, as in libpq
    expect(parsed('postgres://mailer@/app', file)).toMatchObject({ host: 'localhost', password: 'local' });
    const folder = join(dir, 'sockets');
    mkdirSync(folder, { recursive: true });
    writeFileSync(join(folder, '.s.PGSQL.5432'), '');
    expect(parsed('postgres://mailer@/app', file, [folder])).toMatchObject({ socket: `${folder}/.s.PGSQL.5432`, password: 'local' });
    expect(parsed('postgres://mailer@/app?host=/elsewhere', file, [folder])).toMatchObject({ password: undefined });
  });

  it('says why there is none: no line matches, or the file was not read', () => {
    const file = passfile('nomatch', 'other:5432:app:mailer:x\n');
    expect(parsed('postgres://mailer@db.internal/app', file)).toMatchObject({
      password: undefined,
      passwordNote: `no password given: none in the URL, PGPASSWORD or ${file}`,
    });
    const open = passfile('open-url', 'db.internal:5432:app:mailer:pw\n', 0o644);
    expect(parsed('postgres://mailer@db.internal/app', open)).toMatchObject({
      password: undefined,
      passwordNote: `no password: ${open} was not read, other users may read or write it (mode 0644; chmod 600 it)`,
    });
  });
});

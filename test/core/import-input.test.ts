/**
 * Issue 8, items 1, 4 and 6: line endings of every kind, one streaming pass (streams, chunk
 * boundaries anywhere), the encoding decided while streaming, duplicate header names.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import iconv from 'iconv-lite';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type AddressInput, importRecipients, importSuppressions, openAddressFile } from '../../src/core/import.js';
import { openSqliteStore, type SqliteStore } from '../../src/core/store/sqlite.js';
import type { Recipient } from '../../src/core/types.js';
import { tempDir } from '../helpers/cli.js';
import { settings } from '../helpers/store.js';

let tmp: ReturnType<typeof tempDir>;
let store: SqliteStore;
let campaignId: number;
const NOW = Date.UTC(2026, 10, 27, 12);

beforeEach(async () => {
  tmp = tempDir('aremko-import-input-');
  store = openSqliteStore(tmp.db);
  campaignId = (await store.createCampaign(settings(), NOW)).id;
});

afterEach(async () => {
  await store.close();
  tmp.cleanup();
});

function file(name: string, content: string | Buffer): string {
  const path = join(tmp.dir, name);
  writeFileSync(path, content);
  return path;
}

/** The same bytes as a stream cut into pieces of `size` bytes (1: every boundary there is). */
function chunked(content: Buffer, size: number, name = 'standard input'): AddressInput {
  const pieces: Buffer[] = [];
  for (let i = 0; i < content.length; i += size) pieces.push(content.subarray(i, i + size));
  return { name, stream: Readable.from(pieces) };
}

async function recipients(): Promise<Recipient[]> {
  const all: Recipient[] = [];
  for await (const r of store.iterateRecipients(campaignId)) all.push(r);
  return all;
}

async function rowsOf(input: AddressInput, options: Parameters<typeof openAddressFile>[1] = {}) {
  const f = await openAddressFile(input, options);
  const rows = [];
  for await (const batch of f.batches()) rows.push(...batch);
  return { rows, format: f.format };
}

const ENDINGS = { CRLF: '\r\n', LF: '\n', CR: '\r' } as const;
type Ending = keyof typeof ENDINGS;
const combos: [Ending, Ending, Ending][] = [];
for (const h of Object.keys(ENDINGS) as Ending[])
  for (const r of Object.keys(ENDINGS) as Ending[]) for (const q of Object.keys(ENDINGS) as Ending[]) combos.push([h, r, q]);

describe('line endings: CRLF, LF and lone CR, mixed anywhere', () => {
  it('imports all 1,000 rows of a CRLF header over LF rows, and no field takes the next row (the issue)', async () => {
    const rows = Array.from({ length: 1000 }, (_, i) => `n${i}@x.test,N${i}\n`).join('');
    const report = await importRecipients(store, campaignId, file('f.csv', `email,nombre\r\n${rows}`), { now: NOW });
    expect(report).toMatchObject({ imported: 1000, duplicates: 0, suppressed: 0, invalid: [] });
    const all = await recipients();
    expect(all).toHaveLength(1000);
    expect(all[0]!.fields).toEqual({ email: 'n0@x.test', nombre: 'N0' });
    expect(all[999]!.fields).toEqual({ email: 'n999@x.test', nombre: 'N999' });
    for (const r of all) expect(JSON.stringify(r.fields)).not.toMatch(/\\r|@x\.test.*@x\.test/);
  });

  it.each(combos)('header %s, rows %s, inside a quoted field %s: every row, no CR, right line numbers', async (h, r, q) => {
    const [he, re, qe] = [ENDINGS[h], ENDINGS[r], ENDINGS[q]];
    const content =
      `Email,Nombre,Nota${he}` + // line 1
      `uno@x.test,Uno,"dos${qe}líneas"${re}` + // lines 2-3
      `malo,Dos,x${re}` + // line 4
      `${re}` + // line 5: blank
      `tres@x.test,"Tres, ""T""","a${qe}${qe}b"${re}` + // lines 6-8
      `otro-malo,,${re}` + // line 9
      `cuatro@x.test,Cuatro,fin`; // line 10, no line end
    for (const input of [file('mixed.csv', content), chunked(Buffer.from(content), 1)]) {
      const { rows, format } = await rowsOf(input);
      expect(format).toEqual({ encoding: 'utf-8', delimiter: ',', addressColumn: 'email' });
      expect(rows).toEqual([
        { kind: 'address', line: 2, email: 'uno@x.test', fields: { email: 'uno@x.test', nombre: 'Uno', nota: 'dos\nlíneas' } },
        { kind: 'invalid', line: 4, value: 'malo', reason: 'no @' },
        { kind: 'address', line: 6, email: 'tres@x.test', fields: { email: 'tres@x.test', nombre: 'Tres, "T"', nota: 'a\n\nb' } },
        { kind: 'invalid', line: 9, value: 'otro-malo', reason: 'no @' },
        { kind: 'address', line: 10, email: 'cuatro@x.test', fields: { email: 'cuatro@x.test', nombre: 'Cuatro', nota: 'fin' } },
      ]);
    }
  });

  it('puts every address of a mixed-endings file on the suppression list', async () => {
    const rows = Array.from({ length: 1000 }, (_, i) => `baja${i}@x.test${i % 3 === 0 ? '\r\n' : i % 3 === 1 ? '\n' : '\r'}`).join('');
    const report = await importSuppressions(store, file('bajas.csv', `email\r\n${rows}`), { reason: 'unsubscribed', now: NOW });
    expect(report).toMatchObject({ added: 1000, duplicates: 0, invalid: [] });
    const list = await store.listSuppressions();
    expect(list).toHaveLength(1000);
    expect(list.every((s) => /^baja\d+@x\.test$/.test(s.email))).toBe(true);
  });
});

describe('one streaming pass: streams, and chunk boundaries anywhere', () => {
  const csv = Buffer.from('\ufeffcorreo;nombre\r\n"josé@x.test";José Núñez\r\nana@x.test;"Ana\r\nMaría"\r\n', 'utf8');

  it.each([1, 2, 3, 5, 64])('reads the same rows from %i-byte chunks of a stream as from the file', async (size) => {
    const fromFile = await rowsOf(file('a.csv', csv));
    const fromStream = await rowsOf(chunked(csv, size));
    expect(fromStream).toEqual(fromFile);
    expect(fromFile.format).toEqual({ encoding: 'utf-8', delimiter: ';', addressColumn: 'correo' });
    expect(fromFile.rows.map((r) => r.kind === 'address' && r.fields.nombre)).toEqual(['José Núñez', 'Ana\nMaría']);
  });

  it('imports from a stream such as standard input, logging it by name', async () => {
    const report = await importRecipients(store, campaignId, chunked(csv, 7), { now: NOW });
    expect(report).toMatchObject({ imported: 2, invalid: [] });
    expect((await store.listEvents(campaignId))[0]).toMatchObject({ type: 'import', data: { file: 'standard input', imported: 2 } });
  });

  it('refuses an empty stream as it refuses an empty file', async () => {
    await expect(importRecipients(store, campaignId, chunked(Buffer.alloc(0), 1), { now: NOW })).rejects.toThrow(
      'standard input: the file is empty',
    );
  });
});

describe('encoding, decided while streaming', () => {
  const cp1252 = (text: string) => iconv.encode(text, 'windows-1252');
  const utf8 = (text: string) => Buffer.from(text, 'utf8');

  it('switches to Windows-1252 at the first byte that is not UTF-8 when everything before was ASCII', async () => {
    const content = Buffer.concat([utf8('email,nombre\n' + 'a@x.test,Ana\n'.repeat(5000)), cp1252('pena@x.test,Peña\nzoe@x.test,Zoë €\n')]);
    for (const input of [file('late.csv', content), chunked(content, 3)]) {
      const { rows, format } = await rowsOf(input);
      expect(format.encoding).toBe('windows-1252');
      expect(rows.slice(-2).map((r) => r.kind === 'address' && r.fields.nombre)).toEqual(['Peña', 'Zoë €']);
    }
  });

  it('refuses UTF-8 with a stray Windows-1252 byte, naming the lines that are not UTF-8', async () => {
    const content = Buffer.concat([utf8('email,nombre\njose@x.test,José\n'), cp1252('pena@x.test,Peña\nok@x.test,ok\nnunez@x.test,Núñez\n')]);
    const failure = importRecipients(store, campaignId, file('mixed.csv', content), { now: NOW });
    await expect(failure).rejects.toThrow(
      /mixed\.csv: mixed encodings: line 2 is UTF-8 but lines 3 and 5 are not; .*--encoding utf-8 or --encoding windows-1252; nothing was imported/,
    );
    await expect(failure).rejects.toMatchObject({ exitCode: 1 });
    expect(await recipients()).toEqual([]);
  });

  it('refuses Windows-1252 with UTF-8 further on, and a BOM over Windows-1252 bytes', async () => {
    const later = Buffer.concat([utf8('email,nombre\n'), cp1252('pena@x.test,Peña\n'), utf8('jose@x.test,José\n')]);
    await expect(rowsOf(chunked(later, 4))).rejects.toThrow(/mixed encodings: line 3 is UTF-8 but line 2 is not/);
    const bom = Buffer.concat([utf8('\ufeffemail,nombre\n'), cp1252('pena@x.test,Peña\n')]);
    await expect(rowsOf(chunked(bom, 1000))).rejects.toThrow(/starts with a UTF-8 byte order mark but line 2 is not/);
  });

  it('names at most five lines, and says when there are more', async () => {
    const content = Buffer.concat([utf8('email,nombre\njose@x.test,José\n'), cp1252('a@x.test,Peña\n'.repeat(8))]);
    await expect(rowsOf(chunked(content, 5))).rejects.toThrow(/but lines 3, 4, 5, 6, 7 and more are not/);
  });

  it('reads as told with --encoding, and refuses bytes that are not UTF-8 under a forced utf-8', async () => {
    const mixed = Buffer.concat([utf8('email,nombre\njose@x.test,José\n'), cp1252('pena@x.test,Peña\n')]);
    const asCp1252 = await rowsOf(file('m.csv', mixed), { encoding: 'windows-1252' });
    expect(asCp1252.format.encoding).toBe('windows-1252');
    expect(asCp1252.rows.map((r) => r.kind === 'address' && r.fields.nombre)).toEqual(['JosÃ©', 'Peña']);

    await expect(rowsOf(file('m.csv', mixed), { encoding: 'utf-8' })).rejects.toThrow(
      /\/m\.csv: line 3 is not UTF-8 \(--encoding utf-8 was given\); is the file Windows-1252 \(--encoding windows-1252\)\? nothing was imported$/,
    );
    const cut = Buffer.concat([utf8('email,nombre\nana@x.test,Ana'), Buffer.from([0xc3])]);
    await expect(rowsOf(file('cut.csv', cut), { encoding: 'utf-8' })).rejects.toThrow(/cut\.csv: line 2 is not UTF-8/);
    const plain = await rowsOf(file('p.csv', utf8('email\nñandú@x.test\n')), { encoding: 'utf-8' });
    expect(plain.rows).toEqual([{ kind: 'address', line: 2, email: 'ñandú@x.test', fields: { email: 'ñandú@x.test' } }]);
  });

  it('reads a file that ends in the middle of a UTF-8 character as Windows-1252 when the rest is ASCII', async () => {
    const content = Buffer.concat([utf8('email,nombre\nana@x.test,An'), Buffer.from([0xc3])]);
    const { rows, format } = await rowsOf(file('end.csv', content));
    expect(format.encoding).toBe('windows-1252');
    expect(rows).toEqual([{ kind: 'address', line: 2, email: 'ana@x.test', fields: { email: 'ana@x.test', nombre: 'AnÃ' } }]);
  });

  it('refuses binary data at the line of its first NUL, even after a switch', async () => {
    const content = Buffer.concat([utf8('email\na@x.test\r\n'), cp1252('ñ\n'), Buffer.from([0x41, 0x00])]);
    await expect(rowsOf(chunked(content, 2))).rejects.toThrow(/line 4: binary data \(NUL bytes\)/);
  });
});

describe('header names', () => {
  it('refuses two columns that are one field once lower-cased, naming them and the line; nothing imported', async () => {
    const path = file('dup.csv', '\n\nemail,nombre,Nombre \nana@x.test,Ana,ANA\n');
    const failure = importRecipients(store, campaignId, path, { now: NOW });
    await expect(failure).rejects.toThrow(
      /dup\.csv: line 3: the header names the column "nombre" twice \(columns 2 and 3: "nombre" and "Nombre"\); rename one; nothing was imported/,
    );
    await expect(failure).rejects.toMatchObject({ exitCode: 1 });
    expect(await recipients()).toEqual([]);
  });

  it('lets blank header names repeat (trailing delimiters), and finds the address column in any case', async () => {
    const { rows, format } = await rowsOf(chunked(Buffer.from('E-MAIL;Nombre;;\nana@x.test;Ana;;\n'), 4));
    expect(format.addressColumn).toBe('e-mail');
    expect(rows).toEqual([{ kind: 'address', line: 2, email: 'ana@x.test', fields: { 'e-mail': 'ana@x.test', nombre: 'Ana', email: 'ana@x.test' } }]);
  });
});

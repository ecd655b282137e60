import { execFileSync } from 'node:child_process';
import { appendFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import iconv from 'iconv-lite';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { importRecipients, importSuppressions } from '../../src/core/import.js';
import { openSqliteStore, type SqliteStore } from '../../src/core/store/sqlite.js';
import type { Recipient } from '../../src/core/types.js';
import { tempDir } from '../helpers/cli.js';
import { settings } from '../helpers/store.js';

const fixture = (name: string) => resolve(__dirname, '../fixtures/import', name);

const verano = settings({ name: 'Verano', from: 'Aremko <hola@aremko.cl>' });

let tmp: ReturnType<typeof tempDir>;
let store: SqliteStore;
let campaignId: number;
const NOW = Date.UTC(2026, 10, 27, 12);

beforeEach(async () => {
  tmp = tempDir('aremko-import-');
  store = openSqliteStore(tmp.db);
  campaignId = (await store.createCampaign(verano, NOW)).id;
});

afterEach(async () => {
  await store.close();
  tmp.cleanup();
});

const importFile = (name: string, options: { emailColumn?: string } = {}) =>
  importRecipients(store, campaignId, fixture(name), { ...options, now: NOW });

async function counts(id = campaignId) {
  return (await store.summaries([id]))[0]!.counts;
}

async function recipients(id = campaignId): Promise<Recipient[]> {
  const all: Recipient[] = [];
  for await (const r of store.iterateRecipients(id)) all.push(r);
  return all;
}

describe('importRecipients: exports as they arrive', () => {
  it('reads a ;-separated Windows-1252 Excel export with accents intact', async () => {
    const report = await importFile('excel-cp1252-semicolon.csv');
    expect(report).toMatchObject({ imported: 4, duplicates: 0, suppressed: 0, reopened: false });
    expect(report.format).toEqual({ encoding: 'windows-1252', delimiter: ';', addressColumn: 'correo' });
    expect(report.invalid).toEqual([{ line: 5, value: 'raul@', reason: 'not a valid address' }]);

    const jose = await store.getRecipient(campaignId, 'jose.munoz@example.cl');
    expect(jose?.status).toBe('pending');
    expect(jose?.fields).toEqual({
      nombre: 'José',
      apellido: 'Muñoz',
      correo: 'jose.munoz@example.cl',
      comuna: 'Ñuñoa',
      nota: 'Pagó €25, con descuento',
      email: 'jose.munoz@example.cl',
    });
    expect((await store.getRecipient(campaignId, 'angela@example.cl'))?.fields.nota).toBe('Dijo: "sí"');
    expect((await store.getRecipient(campaignId, 'inigo.guell@example.cl'))?.fields.apellido).toBe('Güell');
    // Stored as written, found without regard to case.
    const mj = await store.getRecipient(campaignId, 'mj.perez@example.cl');
    expect(mj?.email).toBe('MJ.Perez@Example.cl');
    expect(mj?.fields).toMatchObject({ nombre: 'María José', apellido: 'Pérez Ñancupil', comuna: 'Peñalolén', nota: '' });
    expect(await counts()).toMatchObject({ total: 4, pending: 4 });
  });

  it('strips a UTF-8 BOM, reads CRLF line ends and trims addresses', async () => {
    const report = await importFile('utf8-bom-crlf.csv');
    expect(report.format).toEqual({ encoding: 'utf-8', delimiter: ',', addressColumn: 'email' });
    expect(report).toMatchObject({ imported: 2, duplicates: 0, suppressed: 0, invalid: [] });
    expect((await store.getRecipient(campaignId, 'camila@example.cl'))?.fields).toEqual({
      email: 'camila@example.cl',
      nombre: 'Camila Núñez',
      ciudad: 'Valparaíso',
    });
    const tomas = await store.getRecipient(campaignId, 'tomas@example.cl');
    expect(tomas?.email).toBe('tomas@example.cl');
    expect(tomas?.fields.ciudad).toBe('Chillán'); // no CR left at the line end
  });

  it('counts duplicates that differ only in case or spaces; the first occurrence wins', async () => {
    const report = await importFile('duplicates.csv');
    expect(report).toMatchObject({ imported: 3, duplicates: 3, suppressed: 0, invalid: [] });
    const ana = await store.getRecipient(campaignId, 'ANA@example.COM');
    expect(ana?.email).toBe('Ana@Example.com');
    expect(ana?.fields.nombre).toBe('Ana primera');
    expect((await store.getRecipient(campaignId, 'bruno@example.com'))?.fields.nombre).toBe('Bruno');

    const again = await importFile('duplicates.csv');
    expect(again).toMatchObject({ imported: 0, duplicates: 6, suppressed: 0 });
    expect(await counts()).toMatchObject({ total: 3, pending: 3 });
  });

  it('skips invalid addresses and reports each with its line and reason', async () => {
    const report = await importFile('invalid.csv');
    expect(report).toMatchObject({ imported: 2, duplicates: 0, suppressed: 0 });
    expect(report.invalid).toEqual([
      { line: 3, value: '', reason: 'empty' },
      { line: 4, value: 'sin-arroba.example.com', reason: 'no @' },
      { line: 5, value: 'juan@', reason: 'not a valid address' },
      { line: 6, value: 'juan perez@example.com', reason: 'not a valid address' },
      { line: 8, value: '@example.com', reason: 'not a valid address' },
    ]);
    expect((await recipients()).map((r) => r.email)).toEqual(['valida@example.com', 'otra@example.com']);
  });

  it('keeps line breaks inside quoted fields (as LF) and numbers the lines after them right', async () => {
    const report = await importFile('multiline-crlf.csv');
    expect(report).toMatchObject({ imported: 3, duplicates: 0, suppressed: 0 });
    expect(report.invalid).toEqual([
      { line: 7, value: 'no-es-correo', reason: 'no @' },
      { line: 10, value: '@malo', reason: 'not a valid address' },
    ]);
    expect((await store.getRecipient(campaignId, 'uno@example.com'))?.fields.direccion).toBe('Av. Providencia 1234\nDepto 56');
    expect((await store.getRecipient(campaignId, 'cuatro@example.com'))?.fields.direccion).toBe('Línea "citada"\ny otra');
  });

  it('detects a tab-separated file even with commas and semicolons in its values', async () => {
    const report = await importFile('tab-separated.tsv');
    expect(report.format).toEqual({ encoding: 'utf-8', delimiter: '\t', addressColumn: 'e-mail' });
    expect(report).toMatchObject({ imported: 3, invalid: [{ line: 6, value: 'mal', reason: 'no @' }] });
    expect((await store.getRecipient(campaignId, 'pia@example.cl'))?.fields).toEqual({
      'e-mail': 'pia@example.cl',
      nombre: 'Pía',
      comentario: 'uno, dos; tres',
      email: 'pia@example.cl',
    });
    expect((await store.getRecipient(campaignId, 'quique@example.cl'))?.fields.comentario).toBe('nota con\nsalto');
  });

  it('takes the delimiter from the header outside quotes', async () => {
    const file = join(tmp.dir, 'quoted-header.csv');
    writeFileSync(file, '"Nombre, completo";Correo\n"Muñoz, José";jose@example.cl\n');
    const report = await importRecipients(store, campaignId, file, { now: NOW });
    expect(report.format.delimiter).toBe(';');
    expect((await store.getRecipient(campaignId, 'jose@example.cl'))?.fields['nombre, completo']).toBe('Muñoz, José');
  });

  it('reads the whole file before deciding it is UTF-8', async () => {
    const file = join(tmp.dir, 'late-cp1252.csv');
    const rows = Array.from({ length: 20_000 }, (_, i) => `n${i}@example.cl,Ana`).join('\n');
    writeFileSync(file, `email,nombre\n${rows}\n`);
    appendFileSync(file, iconv.encode('pena@example.cl,Peña\n', 'windows-1252'));
    const report = await importRecipients(store, campaignId, file, { now: NOW });
    expect(report.format.encoding).toBe('windows-1252');
    expect(report.imported).toBe(20_001);
    expect((await store.getRecipient(campaignId, 'pena@example.cl'))?.fields.nombre).toBe('Peña');
  });

  it('imports a large generated file in batches, numbering lines across them', async () => {
    const file = join(tmp.dir, 'large.csv');
    execFileSync(process.execPath, [resolve(__dirname, '../../bench/gen-csv.mjs'), '12345', file]);
    appendFileSync(file, 'no-es-correo,X,Y,Z\n');
    const report = await importRecipients(store, campaignId, file, { now: NOW });
    expect(report).toMatchObject({ imported: 12_345, duplicates: 0, suppressed: 0 });
    expect(report.invalid).toEqual([{ line: 12_347, value: 'no-es-correo', reason: 'no @' }]);
    expect((await store.getRecipient(campaignId, 'cliente4@example.cl'))?.fields.comuna).toBe('Santiago, Centro');
    expect(await counts()).toMatchObject({ total: 12_345, pending: 12_345 });
  });

  it('finds another address column with emailColumn, in any case', async () => {
    await expect(importFile('custom-column.csv')).rejects.toThrow(/custom-column\.csv: line 1: no address column/);
    const report = await importFile('custom-column.csv', { emailColumn: ' CORREO personal ' });
    expect(report).toMatchObject({ imported: 2, invalid: [] });
    expect(report.format.addressColumn).toBe('correo personal');
    expect((await store.getRecipient(campaignId, 'lucia@example.cl'))?.fields).toEqual({
      cliente: 'Lucía Rojas',
      'correo personal': 'lucia@example.cl',
      empresa: 'Aremko',
      email: 'lucia@example.cl',
    });
    await expect(importFile('custom-column.csv', { emailColumn: 'mail' })).rejects.toThrow(/none is named "mail"/);
  });

  it('imports addresses on the suppression list as suppressed', async () => {
    await store.addSuppressions(['ANA@example.com'], 'manual', NOW);
    const report = await importFile('duplicates.csv');
    expect(report).toMatchObject({ imported: 2, duplicates: 3, suppressed: 1 });
    expect((await store.getRecipient(campaignId, 'ana@example.com'))?.status).toBe('suppressed');
    expect(await counts()).toMatchObject({ total: 3, pending: 2, suppressed: 1 });
  });

  it('logs each import in the event log', async () => {
    await importFile('invalid.csv');
    const [event] = await store.listEvents(campaignId);
    expect(event).toMatchObject({ type: 'import', level: 'info', data: { file: 'invalid.csv', imported: 2, invalid: 5 } });
  });
});

describe('importRecipients: a file that is not CSV imports nothing', () => {
  const bad: [string, RegExp][] = [
    ['not-csv.png', /not-csv\.png: line 3: binary data/],
    ['cut-off.csv', /cut-off\.csv: line 3: the file ends inside a quoted field/],
    ['no-address-column.csv', /no-address-column\.csv: line 1: no address column: the header has "nombre", "telefono", "ciudad"/],
  ];

  it.each(bad)('%s leaves the campaign exactly as it was', async (name, message) => {
    await importFile('excel-cp1252-semicolon.csv');
    const before = { counts: await counts(), recipients: await recipients() };

    const failure = importFile(name);
    await expect(failure).rejects.toThrow(message);
    await expect(failure).rejects.toMatchObject({ exitCode: 1 });

    expect(await counts()).toEqual(before.counts);
    expect(await recipients()).toEqual(before.recipients);
    // The cut-off file's complete rows were read before the failure; none of them was kept.
    expect(await store.getRecipient(campaignId, 'primera@example.com')).toBeNull();
    // Nothing staged is left behind for the next import.
    expect(await importFile('duplicates.csv')).toMatchObject({ imported: 3, duplicates: 3 });
  });

  it('refuses UTF-16 text, saying how to save it', async () => {
    const file = join(tmp.dir, 'utf16.csv');
    writeFileSync(file, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('email\r\na@example.cl\r\n', 'utf16le')]));
    await expect(importRecipients(store, campaignId, file, { now: NOW })).rejects.toThrow(/utf16\.csv: line 1: the file is UTF-16 text/);
  });

  it('refuses an empty file', async () => {
    const file = join(tmp.dir, 'empty.csv');
    writeFileSync(file, '');
    await expect(importRecipients(store, campaignId, file, { now: NOW })).rejects.toThrow(/empty\.csv: the file is empty/);
  });

  it('says a missing file cannot be read (a usage error: exit 2)', async () => {
    const failure = importRecipients(store, campaignId, join(tmp.dir, 'nope.csv'), { now: NOW });
    await expect(failure).rejects.toThrow(/cannot read .*nope\.csv: no such file/);
    await expect(failure).rejects.toMatchObject({ exitCode: 2 });
  });
});

describe('importRecipients: campaign states', () => {
  it('refuses a cancelled campaign and changes nothing', async () => {
    await store.transition(campaignId, ['draft'], 'cancelled', NOW);
    await expect(importFile('duplicates.csv')).rejects.toThrow(`campaign ${campaignId} is cancelled`);
    expect((await counts()).total).toBe(0);
  });

  it('refuses a campaign that does not exist', async () => {
    await expect(importRecipients(store, 999, fixture('duplicates.csv'), { now: NOW })).rejects.toThrow(/campaign 999 does not exist/);
  });

  it('adds to a paused campaign', async () => {
    await store.transition(campaignId, ['draft'], 'paused', NOW);
    expect(await importFile('duplicates.csv')).toMatchObject({ imported: 3, reopened: false });
    expect((await store.getCampaign(campaignId))?.status).toBe('paused');
  });

  it('reopens a completed campaign when new pending recipients arrive', async () => {
    await importFile('duplicates.csv');
    await store.transition(campaignId, ['draft'], 'completed', NOW);

    expect(await importFile('duplicates.csv')).toMatchObject({ imported: 0, reopened: false });
    expect((await store.getCampaign(campaignId))?.status).toBe('completed');

    expect(await importFile('invalid.csv')).toMatchObject({ imported: 2, reopened: true });
    expect((await store.getCampaign(campaignId))?.status).toBe('sending');
  });
});

describe('importSuppressions', () => {
  it('reads a plain list, one address per line with no header', async () => {
    const report = await importSuppressions(store, fixture('suppress-list.txt'), { reason: 'unsubscribed', now: NOW });
    expect(report).toEqual({
      added: 2,
      duplicates: 1,
      invalid: [{ line: 3, value: 'no-es-correo', reason: 'no @' }],
      format: { encoding: 'utf-8', delimiter: ',', addressColumn: null },
    });
    expect(await store.listSuppressions()).toEqual([
      { email: 'baja1@example.com', reason: 'unsubscribed', createdAt: NOW },
      { email: 'Baja2@Example.com', reason: 'unsubscribed', createdAt: NOW },
    ]);
  });

  it('reads a CSV export and suppresses matching pending recipients', async () => {
    await importFile('excel-cp1252-semicolon.csv');
    const report = await importSuppressions(store, fixture('excel-cp1252-semicolon.csv'), { reason: 'complaint', now: NOW });
    expect(report).toMatchObject({ added: 4, duplicates: 0, invalid: [{ line: 5, value: 'raul@', reason: 'not a valid address' }] });
    expect(await counts()).toMatchObject({ total: 4, pending: 0, suppressed: 4 });
  });

  it('adds nothing from a file that is not CSV', async () => {
    await expect(importSuppressions(store, fixture('cut-off.csv'), { reason: 'manual', now: NOW })).rejects.toThrow(/line 3/);
    expect(await store.listSuppressions()).toEqual([]);
  });
});

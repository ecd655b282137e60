/**
 * Property test of the address-file reader (issue 8, "How to know it is done").
 *
 * fast-check generates CSV files — line endings (CRLF, LF, CR) mixed per line and inside quoted
 * fields, quoting, delimiters and quotes inside values, a BOM, delimiters `,` `;` tab, UTF-8,
 * Windows-1252 and files mixing both, blank lines, ragged and duplicate rows, case variants of
 * the address column's name — and checks what is read against a MODEL of the same file: the
 * generator below knows which rows, fields and line numbers it wrote, without the production
 * parser (line numbers are counted on the generated text: CRLF, CR and LF are one break each).
 *
 * Seeded: the seed is in the describe name and in any failure report; rerun one with
 * AREMKO_PROPERTY_SEED=<seed> (and AREMKO_PROPERTY_RUNS=<n> for a longer search).
 */
import fc from 'fast-check';
import iconv from 'iconv-lite';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AddressRow, type FileEncoding, importRecipients, openAddressFile } from '../../src/core/import.js';
import type { SqliteStore } from '../../src/core/store/sqlite.js';
import type { Recipient } from '../../src/core/types.js';
import { settings, tempStore } from '../helpers/store.js';

const SEED = process.env.AREMKO_PROPERTY_SEED ? Number(process.env.AREMKO_PROPERTY_SEED) : (Date.now() ^ (Math.random() * 0x7fffffff)) | 0;
const RUNS = Number(process.env.AREMKO_PROPERTY_RUNS ?? 2500);
const STORE_RUNS = Math.max(50, Math.round(RUNS / 20));

// ---------------------------------------------------------------------------------------------
// What the generator writes
// ---------------------------------------------------------------------------------------------

type Delimiter = ',' | ';' | '\t';
/** How a value's characters become bytes. */
type Bytes = 'utf8' | 'cp1252';
type Mode = 'utf-8' | 'utf-8-bom' | 'windows-1252' | 'mixed';
const ENDINGS = ['\r\n', '\n', '\r'] as const;
type Ending = (typeof ENDINGS)[number];

/** ASCII that needs no quoting with any delimiter. */
const PLAIN = 'abcxyzABCXYZ019 .-_=+@\'';
/** Needs quoting (with some delimiter) or is a line break. */
const SPECIAL = [',', ';', '\t', '"', '\r', '\n', '\r\n'];
/** Windows-1252 characters whose bytes are all ≥ 0xC0: they can never form UTF-8 by accident. */
const CP1252_SAFE = 'áéíóúñÑüÁÉÍÓÚÜ';
/** Characters only UTF-8 can hold (or that Windows-1252 keeps in 0x80–0xBF). */
const UTF8_ONLY = ['ł', '€', '¿', '中', '😀', 'ѿ'];

interface Value {
  text: string;
  bytes: Bytes;
  quoted: boolean;
}

type Row =
  | { kind: 'blank'; text: '' | ' ' }
  | { kind: 'values'; values: Value[] };

interface FileSpec {
  delimiter: Delimiter;
  mode: Mode;
  /** --encoding given (only for files in one encoding). */
  forced: boolean;
  bom: boolean;
  blankLinesBefore: number;
  /** Header names as written (padding and case included), and the address column's index. */
  header: Value[];
  addressIndex: number;
  rows: Row[];
  /** One per line: header, rows. */
  endings: Ending[];
  finalEnding: boolean;
  chunk: number;
}

const ADDRESS_NAMES = ['email', 'EMAIL', 'Email', 'correo', 'CORREO', 'Correo', 'e-mail', 'E-Mail', 'mail', 'MAIL'];
const OTHER_NAMES = ['nombre', 'apellido', 'ciudad', 'nota', 'teléfono', 'código', 'ñandú', 'comuna', 'x', 'Monto'];

// ---------------------------------------------------------------------------------------------
// Arbitraries
// ---------------------------------------------------------------------------------------------

const bytesFor = (mode: Mode) =>
  mode === 'mixed' ? fc.constantFrom<Bytes>('utf8', 'cp1252') : fc.constant<Bytes>(mode === 'windows-1252' ? 'cp1252' : 'utf8');

function textArb(bytes: Bytes) {
  const pieces = [
    ...PLAIN.split('').map((c) => fc.constant(c)),
    fc.constantFrom(...SPECIAL),
    fc.constantFrom(...CP1252_SAFE.split('')),
    ...(bytes === 'utf8' ? [fc.constantFrom(...UTF8_ONLY)] : []),
  ];
  return fc.array(fc.oneof(...pieces), { maxLength: 8 }).map((a) => a.join(''));
}

const word = fc.stringMatching(/^[a-z0-9]{1,8}$/);

/** An address and how the reader must judge it. */
const addressArb = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(word, fc.option(word, { nil: undefined }), word, fc.constantFrom('cl', 'com', 'test')).map(([a, b, d, t]) => (b ? `${a}.${b}` : a) + `@${d}.${t}`) },
  { weight: 1, arbitrary: fc.constantFrom('"john doe"@x.test', 'ana@ñandú.cl', 'Ñandú@x.cl') },
  { weight: 1, arbitrary: fc.constantFrom('', 'sin-arroba', 'juan@', '@x.cl', 'a b@x.cl', 'juan@x') },
);

/** ASCII letters upper-cased at random (the store compares addresses without ASCII case). */
const caseVariant = (address: string) =>
  fc.array(fc.boolean(), { minLength: address.length, maxLength: address.length }).map((flags) =>
    address.replace(/[a-z]/g, (c, i: number) => (flags[i] ? c.toUpperCase() : c)),
  );

const spaces = fc.constantFrom('', '', ' ', '  ', '\t');

function valueArb(bytes: Bytes, text = textArb(bytes)) {
  return fc.record({ text, bytes: fc.constant(bytes), quoted: fc.boolean() });
}

const fileArb: fc.Arbitrary<FileSpec> = fc
  .record({
    delimiter: fc.constantFrom<Delimiter>(',', ';', '\t'),
    mode: fc.constantFrom<Mode>('utf-8', 'utf-8-bom', 'windows-1252', 'mixed'),
    forced: fc.boolean(),
    bom: fc.boolean(),
    blankLinesBefore: fc.nat(2),
    others: fc.uniqueArray(fc.constantFrom(...OTHER_NAMES), { minLength: 1, maxLength: 4, selector: (n) => n.toLowerCase() }),
    addressName: fc.constantFrom(...ADDRESS_NAMES),
    addressAt: fc.nat(),
    padding: fc.tuple(fc.constantFrom('', ' '), fc.constantFrom('', ' ')),
    rowCount: fc.nat(12),
    finalEnding: fc.boolean(),
    chunk: fc.oneof(fc.integer({ min: 1, max: 7 }), fc.integer({ min: 8, max: 200 }), fc.constant(65536)),
  })
  .chain((base) => {
    const columns = base.others.length + 1;
    const addressIndex = base.addressAt % columns;
    const names = [...base.others];
    names.splice(addressIndex, 0, `${base.padding[0]}${base.addressName}${base.padding[1]}`);
    const header = fc.tuple(...names.map((n) => valueArb('utf8', fc.constant(n)).chain((v) => bytesFor(base.mode).map((bytes) => ({ ...v, bytes })))));
    const row = (earlier: Row[]): fc.Arbitrary<Row> => {
      const values = fc
        .tuple(
          fc.integer({ min: 1, max: columns + 1 }),
          fc.array(bytesFor(base.mode).chain((b) => valueArb(b)), { minLength: columns + 1, maxLength: columns + 1 }),
          addressArb,
          spaces,
          spaces,
          bytesFor(base.mode),
        )
        .map(([length, vs, address, before, after, bytes]): Row => {
          const vals = vs.slice(0, length); // ragged rows too: shorter or longer than the header
          if (addressIndex < vals.length) vals[addressIndex] = { text: `${before}${address}${after}`, bytes, quoted: vals[addressIndex]!.quoted };
          return { kind: 'values', values: vals };
        });
      const duplicates = earlier.filter((r): r is Extract<Row, { kind: 'values' }> => r.kind === 'values' && addressIndex < r.values.length);
      const options: fc.Arbitrary<Row>[] = [values, fc.constantFrom<Row>({ kind: 'blank', text: '' }, { kind: 'blank', text: ' ' })];
      if (duplicates.length > 0)
        options.push(
          fc.constantFrom(...duplicates).chain((r) =>
            caseVariant(r.values[addressIndex]!.text).map((text): Row => {
              const values = [...r.values];
              values[addressIndex] = { ...values[addressIndex]!, text };
              return { kind: 'values', values };
            }),
          ),
        );
      return fc.oneof(...options);
    };
    // Rows one after the other, so that a duplicate can copy an earlier one.
    let rows: fc.Arbitrary<Row[]> = fc.constant([]);
    for (let i = 0; i < base.rowCount; i++) rows = rows.chain((earlier) => row(earlier).map((r) => [...earlier, r]));
    return fc.record({
      delimiter: fc.constant(base.delimiter),
      mode: fc.constant(base.mode),
      forced: fc.constant(base.forced && base.mode !== 'mixed'),
      bom: fc.constant(base.mode === 'utf-8-bom' || (base.mode === 'mixed' && base.bom)),
      blankLinesBefore: fc.constant(base.blankLinesBefore),
      header: header.map((h) => h as Value[]),
      addressIndex: fc.constant(addressIndex),
      rows,
      endings: fc.array(fc.constantFrom(...ENDINGS), { minLength: base.blankLinesBefore + base.rowCount + 1, maxLength: base.blankLinesBefore + base.rowCount + 1 }),
      finalEnding: fc.constant(base.finalEnding),
      chunk: fc.constant(base.chunk),
    });
  });

// ---------------------------------------------------------------------------------------------
// Writing the file, and the model of what reading it must give
// ---------------------------------------------------------------------------------------------

interface Segment {
  text: string;
  bytes: Bytes;
}

/** Line breaks in generated text: CRLF, CR and LF are one each. */
const breaksIn = (text: string) => text.match(/\r\n|\r|\n/g)?.length ?? 0;

function writeValue(v: Value, delimiter: Delimiter): { text: string; start: number } {
  const mustQuote = v.text.includes(delimiter) || /["\r\n]/.test(v.text);
  if (mustQuote || v.quoted) return { text: `"${v.text.replaceAll('"', '""')}"`, start: 1 };
  return { text: v.text, start: 0 };
}

interface Model {
  bytes: Buffer;
  format: { encoding: FileEncoding; delimiter: string; addressColumn: string };
  rows: AddressRow[];
  /** Set when the file mixes encodings: the message the reader must give. */
  refusal: RegExp | null;
  encodingOption: FileEncoding | undefined;
}

function reasonFor(email: string): string | null {
  if (email === '') return 'empty';
  if (!email.includes('@')) return 'no @';
  if (['juan@', '@x.cl', 'a b@x.cl', 'juan@x'].includes(email.toLowerCase())) return 'not a valid address';
  return null;
}

function model(spec: FileSpec): Model {
  const segments: Segment[] = [];
  let text = '';
  const emit = (t: string, bytes: Bytes) => {
    segments.push({ text: t, bytes });
    text += t;
  };
  let line = 0;
  const ending = () => spec.endings[line++]!;
  for (let i = 0; i < spec.blankLinesBefore; i++) emit(ending(), 'utf8');

  // The header: trimmed and lower-cased names.
  spec.header.forEach((v, i) => {
    if (i > 0) emit(spec.delimiter, 'utf8');
    emit(writeValue(v, spec.delimiter).text, v.bytes);
  });
  const names = spec.header.map((v) => v.text.trim().toLowerCase());

  const expected: { offset: number; row: Omit<AddressRow, 'line'> }[] = [];
  for (const row of spec.rows) {
    emit(ending(), 'utf8');
    if (row.kind === 'blank') {
      emit(row.text, 'utf8');
      continue;
    }
    const offset = text.length;
    row.values.forEach((v, i) => {
      if (i > 0) emit(spec.delimiter, 'utf8');
      emit(writeValue(v, spec.delimiter).text, v.bytes);
    });
    const values = row.values.map((v) => v.text.replace(/\r\n?/g, '\n'));
    if (values.every((v) => v.trim() === '')) continue; // a blank record: skipped, its lines counted
    const email = (values[spec.addressIndex] ?? '').trim();
    const reason = reasonFor(email);
    if (reason) {
      expected.push({ offset, row: { kind: 'invalid', value: email, reason } });
      continue;
    }
    const fields: Record<string, string> = {};
    for (let i = 0; i < names.length && i < values.length; i++) if (names[i]) fields[names[i]!] = values[i]!;
    fields.email = email;
    expected.push({ offset, row: { kind: 'address', email, fields } });
  }
  if (spec.finalEnding) emit(ending(), 'utf8');

  const lineAt = (offset: number) => 1 + breaksIn(text.slice(0, offset));
  const bom = spec.bom;
  const bytes = Buffer.concat([
    Buffer.from(bom ? [0xef, 0xbb, 0xbf] : []),
    ...segments.map((s) => (s.bytes === 'utf8' ? Buffer.from(s.text, 'utf8') : iconv.encode(s.text, 'windows-1252'))),
  ]);

  // Where the bytes are UTF-8 beyond ASCII, and where they are Windows-1252 beyond ASCII.
  let firstUtf8: number | null = null;
  const cp1252Lines: number[] = [];
  let offset = 0;
  for (const s of segments) {
    for (let i = 0; i < s.text.length; i++) {
      if (s.text.charCodeAt(i) < 0x80) continue;
      const at = lineAt(offset + i);
      if (s.bytes === 'utf8') firstUtf8 ??= at;
      else if (cp1252Lines[cp1252Lines.length - 1] !== at) cp1252Lines.push(at);
    }
    offset += s.text.length;
  }
  let refusal: RegExp | null = null;
  let encoding: FileEncoding = cp1252Lines.length > 0 ? 'windows-1252' : 'utf-8';
  if (cp1252Lines.length > 0 && (firstUtf8 !== null || bom)) {
    const shown = cp1252Lines.slice(0, 5);
    const more = cp1252Lines.length > 5 ? ' and more' : '';
    const list = shown.length === 1 ? `line ${shown[0]}${more}` : `lines ${shown.slice(0, -1).join(', ')}${more ? ', ' : ' and '}${shown.at(-1)}${more}`;
    const evidence = bom ? 'the file starts with a UTF-8 byte order mark' : `line ${firstUtf8} is UTF-8`;
    refusal = new RegExp(`^input\\.csv: mixed encodings: ${evidence} but ${list} (is|are) not; `);
  }
  const encodingOption = spec.forced ? (spec.mode === 'windows-1252' ? 'windows-1252' : 'utf-8') : undefined;
  if (encodingOption) encoding = encodingOption;
  return {
    bytes,
    format: { encoding, delimiter: spec.delimiter, addressColumn: names[spec.addressIndex]! },
    rows: expected.map(({ offset, row }) => ({ line: lineAt(offset), ...row }) as AddressRow),
    refusal,
    encodingOption,
  };
}

/** The file as a stream cut into `size`-byte pieces: every chunk boundary gets its turn. */
function stream(bytes: Buffer, size: number) {
  const pieces: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) pieces.push(bytes.subarray(i, i + size));
  return { name: 'input.csv', stream: Readable.from(pieces) };
}

async function read(spec: FileSpec, m: Model) {
  const file = await openAddressFile(stream(m.bytes, spec.chunk), { encoding: m.encodingOption });
  const rows: AddressRow[] = [];
  for await (const batch of file.batches()) rows.push(...batch);
  return { rows, format: file.format };
}

const describeSpec = (spec: FileSpec, m: Model) =>
  `file bytes (base64): ${m.bytes.toString('base64')}\nchunk: ${spec.chunk}; mode: ${spec.mode}; forced: ${m.encodingOption ?? 'no'}`;

/** What the generated files held, so that a generator that stopped making some case is noticed. */
function tally(seen: Map<string, number>, spec: FileSpec, m: Model) {
  const text = m.bytes.toString('latin1');
  const cases: [string, boolean][] = [
    ['mixed encodings refused', m.refusal !== null],
    ['read as Windows-1252', !m.refusal && m.format.encoding === 'windows-1252'],
    ['UTF-8 beyond ASCII', !m.refusal && m.format.encoding === 'utf-8' && /[\x80-\xff]/.test(text)],
    ['BOM', spec.bom],
    ['--encoding', m.encodingOption !== undefined],
    ['lone CR', /\r(?!\n)/.test(text)],
    ['CRLF', text.includes('\r\n')],
    ['LF alone', /(?<!\r)\n/.test(text)],
    ['line break inside a quoted value', m.rows.some((r) => r.kind === 'address' && Object.values(r.fields).some((v) => v.includes('\n')))],
    ['invalid address', m.rows.some((r) => r.kind === 'invalid')],
    ['duplicate address', new Set(m.rows.map((r) => r.kind === 'address' && r.email.toLowerCase())).size < m.rows.filter((r) => r.kind === 'address').length],
    [`delimiter ${JSON.stringify(spec.delimiter)}`, true],
  ];
  for (const [name, yes] of cases) if (yes) seen.set(name, (seen.get(name) ?? 0) + 1);
}

describe(`address files against a model of them (property, seed ${SEED})`, () => {
  it(`reads ${RUNS} generated files as the model says`, async () => {
    const seen = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(fileArb, async (spec) => {
        const m = model(spec);
        tally(seen, spec, m);
        if (m.refusal) {
          await expect(read(spec, m), describeSpec(spec, m)).rejects.toThrow(m.refusal);
          return;
        }
        const got = await read(spec, m);
        expect(got.format, describeSpec(spec, m)).toEqual(m.format);
        expect(got.rows, describeSpec(spec, m)).toEqual(m.rows);
      }),
      { seed: SEED, numRuns: RUNS },
    );
    // Every kind of file was among those generated, each in at least 1 % of the runs.
    const kinds = ['mixed encodings refused', 'read as Windows-1252', 'UTF-8 beyond ASCII', 'BOM', '--encoding', 'lone CR', 'CRLF',
      'LF alone', 'line break inside a quoted value', 'invalid address', 'duplicate address', 'delimiter ","', 'delimiter ";"', 'delimiter "\\t"'];
    for (const kind of kinds) expect(seen.get(kind) ?? 0, `${kind} in ${JSON.stringify([...seen])}`).toBeGreaterThanOrEqual(RUNS / 100);
  });

  describe('through importRecipients into a real SQLite store', () => {
    let t: Awaited<ReturnType<typeof tempStore>>;
    let store: SqliteStore;
    beforeAll(() => {
      t = tempStore();
      store = t.store;
    });
    afterAll(() => t.cleanup());

    it(`imports ${STORE_RUNS} generated files as the model says`, async () => {
      await fc.assert(
        fc.asyncProperty(fileArb, async (spec) => {
          const m = model(spec);
          const id = (await store.createCampaign(settings(), 0)).id;
          const importing = importRecipients(store, id, stream(m.bytes, spec.chunk), { encoding: m.encodingOption, now: 0 });
          if (m.refusal) {
            await expect(importing).rejects.toThrow(m.refusal);
            expect((await store.summaries([id]))[0]!.counts.total).toBe(0);
            return;
          }
          const report = await importing;
          // The first occurrence of an address wins; the store compares without ASCII case.
          const firsts = new Map<string, Extract<AddressRow, { kind: 'address' }>>();
          let valid = 0;
          for (const r of m.rows) {
            if (r.kind !== 'address') continue;
            valid++;
            const key = r.email.replace(/[A-Z]/g, (c) => c.toLowerCase());
            if (!firsts.has(key)) firsts.set(key, r);
          }
          expect(report, describeSpec(spec, m)).toEqual({
            imported: firsts.size,
            duplicates: valid - firsts.size,
            suppressed: 0,
            invalid: m.rows.flatMap((r) => (r.kind === 'invalid' ? [{ line: r.line, value: r.value, reason: r.reason }] : [])),
            format: m.format,
            reopened: false,
          });
          const stored: Pick<Recipient, 'email' | 'fields' | 'status'>[] = [];
          for await (const r of store.iterateRecipients(id)) stored.push({ email: r.email, fields: r.fields, status: r.status });
          expect(stored, describeSpec(spec, m)).toEqual([...firsts.values()].map((r) => ({ email: r.email, fields: r.fields, status: 'pending' })));
        }),
        { seed: SEED, numRuns: STORE_RUNS },
      );
    });
  });
});

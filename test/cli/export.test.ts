import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCampaign } from '../../src/core/campaigns.js';
import { openSqliteStore } from '../../src/core/store/sqlite.js';
import { CLI, runCli, tempDir } from '../helpers/cli.js';
import { settings } from '../helpers/store.js';

const t = tempDir();
const cli = (...args: string[]) => runCli(['--db', t.db, ...args]);
const SENT_AT = Date.UTC(2026, 10, 27, 23, 0, 0);
const FAILURE = '550 5.1.1 <maria@example.com>: "no such user",\nmailbox unavailable';

beforeAll(async () => {
  const store = openSqliteStore(t.db);
  try {
    const c = await createCampaign(
      store,
      settings({ name: 'Export', intervalSeconds: 0 }),
      SENT_AT - 60_000,
    );
    await store.addSuppressions(['baja@example.com'], 'manual', SENT_AT);
    const session = await store.beginImport(c.id);
    await session.add([
      { line: 2, email: 'jose@example.com', fields: { email: 'jose@example.com', nombre: 'José Núñez', status: 'VIP' } },
      { line: 3, email: 'maria@example.com', fields: { email: 'maria@example.com', nombre: 'María Peña', status: 'nuevo' } },
      { line: 4, email: 'baja@example.com', fields: { email: 'baja@example.com', nombre: 'Ramón', status: '' } },
      // Imported later from another file, with one more column.
      { line: 5, email: 'ines@example.com', fields: { email: 'ines@example.com', nombre: 'Inés', comuna: 'Ñuñoa' } },
    ]);
    await session.commit();

    // Send the first two through the store, as a runner would: José sent, María refused.
    await store.transition(c.id, ['draft'], 'sending', SENT_AT);
    const token = 'test-token';
    await store.joinCampaign(c.id, { host: 'test', pid: process.pid, token }, SENT_AT, 60_000, []);
    const step = await store.step(c.id, token, SENT_AT, [], 2);
    if (step.claim?.kind !== 'claimed') throw new Error('seeding: claims failed');
    const [first, second] = step.claim.recipients;
    await store.step(c.id, token, SENT_AT, [
      { recipientId: first!.id, outcome: 'sent', at: SENT_AT, detail: '250 ok', messageId: '<aremko.1.1.x@aremko.cl>' },
      { recipientId: second!.id, outcome: 'failed', at: SENT_AT, detail: FAILURE, messageId: '<aremko.1.2.x@aremko.cl>' },
    ], 0);
    await store.leaveCampaign(c.id, token, SENT_AT, []);
  } finally {
    await store.close();
  }
});
afterAll(() => t.cleanup());

const HEADER = ['email', 'status', 'attempts', 'sent_at', 'message_id', 'provider_id', 'last_error', 'nombre', 'field:status', 'comuna'];

describe('export', () => {
  it('prints a CSV that parses back: the contract columns first, then the imported columns', async () => {
    const r = await cli('export', '1');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const rows: string[][] = parse(r.stdout);
    expect(rows[0]).toEqual(HEADER);
    expect(rows.slice(1)).toEqual([
      ['jose@example.com', 'sent', '1', '2026-11-27T23:00:00.000Z', '<aremko.1.1.x@aremko.cl>', '', '', 'José Núñez', 'VIP', ''],
      ['maria@example.com', 'failed', '1', '', '<aremko.1.2.x@aremko.cl>', '', FAILURE, 'María Peña', 'nuevo', ''],
      ['baja@example.com', 'suppressed', '0', '', '', '', '', 'Ramón', '', ''],
      ['ines@example.com', 'pending', '0', '', '', '', '', 'Inés', '', 'Ñuñoa'],
    ]);
  });

  it('keeps only one status with --status', async () => {
    const sent: string[][] = parse((await cli('export', '1', '--status', 'sent')).stdout);
    expect(sent.map((row) => row[0])).toEqual(['email', 'jose@example.com']);
    const pending: string[][] = parse((await cli('export', '1', '--status', 'pending')).stdout);
    expect(pending.map((row) => row[0])).toEqual(['email', 'ines@example.com']);
  });

  it('always prints the header row, even when nothing matches', async () => {
    const r = await cli('export', '1', '--status', 'in_doubt');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('email,status,attempts,sent_at,message_id,provider_id,last_error\n');
  });

  it('rejects an unknown status with exit 2', async () => {
    const r = await cli('export', '1', '--status', 'bounced');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/status/);
    expect(r.stdout).toBe('');
  });

  it('prints one JSON array with --json, fields apart', async () => {
    const r = await cli('export', '1', '--json', '--status', 'failed');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([
      {
        email: 'maria@example.com',
        status: 'failed',
        attempts: 1,
        sent_at: null,
        message_id: '<aremko.1.2.x@aremko.cl>',
        provider_id: null,
        last_error: FAILURE,
        fields: { nombre: 'María Peña', status: 'nuevo' },
      },
    ]);
    expect(JSON.parse((await cli('export', '1', '--json', '--status', 'in_doubt')).stdout)).toEqual([]);
    expect(JSON.parse((await cli('export', '1', '--json')).stdout).map((x: { email: string }) => x.email)).toEqual([
      'jose@example.com',
      'maria@example.com',
      'baja@example.com',
      'ines@example.com',
    ]);
  });

  it('writes --output atomically (mode 0600) and says how many rows', async () => {
    const file = join(t.dir, 'export.csv');
    const r = await cli('export', '1', '--output', file, '--bom');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`exported 4 recipients of campaign 1 to ${file}`);
    const bytes = readFileSync(file);
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    expect(parse(bytes, { bom: true })[0]).toEqual(HEADER);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readdirSync(t.dir).filter((f) => f.includes('.partial-'))).toEqual([]);
  });

  it('exits 1 naming the file when --output cannot be written', async () => {
    const r = await cli('export', '1', '--output', join(t.dir, 'no-such-folder', 'x.csv'));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('--output: cannot write');
    expect(r.stderr).not.toContain('unexpected error');
  });

  it("keeps each campaign's recipients apart when imports interleave", async () => {
    const store = openSqliteStore(t.db);
    try {
      const other = await store.createCampaign((await store.getCampaign(1))!, Date.now());
      const add = async (campaignId: number, emails: string[]) => {
        const session = await store.beginImport(campaignId);
        await session.add(emails.map((email, i) => ({ line: i + 2, email, fields: { nombre: email } })));
        await session.commit();
      };
      await add(other.id, ['otro1@example.com', 'otro2@example.com']);
      await add(1, ['tarde@example.com']); // after the other campaign's rows
      const emails = async (...args: string[]) => (parse((await cli('export', ...args)).stdout) as string[][]).slice(1).map((row) => row[0]);
      expect(await emails(String(other.id))).toEqual(['otro1@example.com', 'otro2@example.com']);
      expect(await emails('1')).toEqual(['jose@example.com', 'maria@example.com', 'baja@example.com', 'ines@example.com', 'tarde@example.com']);
      expect(await emails('1', '--status', 'pending')).toEqual(['ines@example.com', 'tarde@example.com']);
    } finally {
      await store.close();
    }
  });

  it('exits 1 for an unknown campaign', async () => {
    const r = await cli('export', '42');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('campaign 42 does not exist');
  });
});

describe('export: cells a spreadsheet would run, provider_id, terminals', () => {
  const u = tempDir('aremko-export-cells-');
  const run = (...args: string[]) => runCli(['--db', u.db, ...args]);
  const FORMULAS = ['=HYPERLINK("http://evil.test","x")', '+56 9 1234', '-2+3', '@SUM(A1:A9)', '\tcmd', '\rcmd'];

  beforeAll(async () => {
    const store = openSqliteStore(u.db);
    try {
      const c = await createCampaign(store, settings({ name: 'Celdas' }), 0);
      const session = await store.beginImport(c.id);
      await session.add([
        ...FORMULAS.map((nota, i) => ({ line: i + 2, email: `f${i}@example.com`, fields: { email: `f${i}@example.com`, nota, '=col': 'x' } })),
        { line: 9, email: '-raya@example.com', fields: { email: '-raya@example.com', nota: 'normal = fine', '=col': '' } },
        { line: 10, email: 'esc@example.com', fields: { email: 'esc@example.com', nota: '\u001b[31mrojo\u001b[0m\u0007', '=col': '' } },
      ]);
      await session.commit();
    } finally {
      await store.close();
    }
    // provider_id: the HTTPS transports will fill it; until their migration lands, the column is
    // added here so that the export is seen to carry what the store holds.
    const db = new Database(u.db);
    try {
      const columns = db.prepare(`SELECT name FROM pragma_table_info('recipients')`).all() as { name: string }[];
      if (!columns.some((col) => col.name === 'provider_id')) db.exec(`ALTER TABLE recipients ADD COLUMN provider_id TEXT`);
      db.prepare(`UPDATE recipients SET provider_id = ? WHERE email = ?`).run('=re_0123', 'f0@example.com');
    } finally {
      db.close();
    }
  });
  afterAll(() => u.cleanup());

  it("prefixes ' to every cell starting with =, +, -, @, tab or CR, header included", async () => {
    const r = await run('export', '1');
    expect(r.code).toBe(0);
    const rows: string[][] = parse(r.stdout, { relax_column_count: false });
    expect(rows[0]).toEqual(['email', 'status', 'attempts', 'sent_at', 'message_id', 'provider_id', 'last_error', 'nota', "'=col"]);
    expect(rows.slice(1, 7).map((row) => row[7])).toEqual(FORMULAS.map((f) => `'${f}`));
    expect(rows[1]![5]).toBe("'=re_0123");
    expect(rows[7]!.slice(0, 1)).toEqual(["'-raya@example.com"]);
    expect(rows[7]![7]).toBe('normal = fine');
    for (const row of rows.slice(1)) for (const cell of row) expect(cell).not.toMatch(/^[=+\-@\t\r]/);
  });

  it('writes every cell as stored with --raw, and provider_id in JSON', async () => {
    const rows: string[][] = parse((await run('export', '1', '--raw')).stdout);
    expect(rows[0]![8]).toBe('=col');
    expect(rows.slice(1, 7).map((row) => row[7])).toEqual(FORMULAS);
    expect(rows[1]![5]).toBe('=re_0123');
    const json = JSON.parse((await run('export', '1', '--json')).stdout);
    expect(json[0]).toMatchObject({ email: 'f0@example.com', provider_id: '=re_0123', fields: { nota: FORMULAS[0] } });
    expect(json[1].provider_id).toBeNull();
  });

  it('shows control characters as escapes on a terminal, and keeps them in a file or a pipe', async () => {
    // `script` gives the command a terminal of its own, as an operator's shell would.
    const command = [process.execPath, CLI, '--db', u.db, 'export', '1', '--status', 'pending'].map((x) => `'${x}'`).join(' ');
    const { stdout } = await promisify(execFile)('script', ['-qec', command, '/dev/null'], { env: { ...process.env, NO_COLOR: '1' } });
    expect(stdout).toContain('esc@example.com,pending,0,,,,,\\x1b[31mrojo\\x1b[0m\\x07,');
    expect(stdout).not.toContain('\u001b');
    const piped = await run('export', '1', '--status', 'pending');
    expect(piped.stdout).toContain('esc@example.com,pending,0,,,,,\u001b[31mrojo\u001b[0m\u0007,');
  });
});

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../src/core/store/sqlite.js';
import type { Recipient } from '../../src/core/types.js';
import { runCli, tempDir } from '../helpers/cli.js';

let t: ReturnType<typeof tempDir>;
const cli = (...args: string[]) => runCli(['--db', t.db, ...args]);

beforeEach(() => {
  t = tempDir();
});
afterEach(() => t.cleanup());

async function recipientsOf(db: string, campaignId: number): Promise<Recipient[]> {
  const store = openSqliteStore(db);
  try {
    const all: Recipient[] = [];
    for await (const r of store.iterateRecipients(campaignId)) all.push(r);
    return all;
  } finally {
    await store.close();
  }
}

describe('demo', () => {
  it('prints only the id on stdout and the next steps on stderr', async () => {
    const r = await cli('demo');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('1\n');
    expect(r.stderr).toContain('created the draft campaign 1 "Aremko Spa — demo" with 300 recipients');
    expect(r.stderr).toContain(`aremko-mail --db ${t.db} start 1`);
    expect(r.stderr).toContain(`aremko-mail --db ${t.db} run --campaign 1 --transport outbox:data/outbox`);
  });

  it('creates a draft of N Chilean recipients with accents, on reserved domains only', async () => {
    const r = await cli('demo', '--recipients', '120', '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ id: 1, recipients: 120, created: true });

    const status = JSON.parse((await cli('status', '1', '--json')).stdout);
    expect(status).toMatchObject({ name: 'Aremko Spa — demo', status: 'draft', batch_size: 50, interval_seconds: 30 });
    expect(status.counts).toMatchObject({ total: 120, pending: 120 });
    const show = JSON.parse((await cli('campaign', 'show', '1', '--json')).stdout);
    expect(show.subject).toBe('Una tarde de tinajas para ti, {{nombre}}');
    expect(show.unsubscribe).toBe('https://aremko.cl/baja?email={{email}}');
    expect(show.html).toMatch(/\{\{nombre\}\}[\s\S]*\{\{comuna\}\}[\s\S]*\{\{unsubscribe_url\}\}/);

    const people = await recipientsOf(t.db, 1);
    expect(people).toHaveLength(120);
    expect(new Set(people.map((p) => p.email.toLowerCase())).size).toBe(120);
    for (const p of people) {
      expect(p.email).toMatch(/^[a-z0-9.]+@example\.(com|net|org)$/);
      expect(Object.keys(p.fields).sort()).toEqual(['apellido', 'comuna', 'nombre']);
    }
    const accented = (field: string) => people.filter((p) => /[áéíóúüñÁÉÍÓÚÑ]/.test(p.fields[field]!)).length;
    expect(accented('nombre')).toBeGreaterThan(20);
    expect(accented('apellido')).toBeGreaterThan(20);
    expect(accented('comuna')).toBeGreaterThan(5);
  });

  it('renders with accents intact and passes the start check (every template field present)', async () => {
    await cli('demo', '--recipients', '60');
    const preview = JSON.parse((await cli('preview', '1', '--json')).stdout);
    const [first] = await recipientsOf(t.db, 1);
    expect(preview.subject).toBe(`Una tarde de tinajas para ti, ${first!.fields.nombre}`);
    expect(preview.html).toContain(`Hola, ${first!.fields.nombre}`);
    expect(preview.text).toContain(first!.fields.comuna);
    expect(preview.headers['List-Unsubscribe']).toBe(`<https://aremko.cl/baja?email=${encodeURIComponent(first!.email)}>`);
    const start = await cli('start', '1');
    expect(start.stderr).toBe('');
    expect(start.code).toBe(0);
  });

  it('generates the same people in every database', async () => {
    await cli('demo', '--recipients', '50');
    const other = tempDir();
    try {
      await runCli(['--db', other.db, 'demo', '--recipients', '50']);
      const strip = (rs: Recipient[]) => rs.map((r) => [r.email, r.fields]);
      expect(strip(await recipientsOf(other.db, 1))).toEqual(strip(await recipientsOf(t.db, 1)));
    } finally {
      other.cleanup();
    }
  });

  it('--if-missing creates nothing when a demo exists, and prints its id', async () => {
    const first = await cli('demo', '--if-missing', '--recipients', '40');
    expect(first.stdout).toBe('1\n');
    const again = await cli('demo', '--if-missing', '--json');
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toEqual({ id: 1, recipients: 40, created: false });
    const text = await cli('demo', '--if-missing');
    expect(text.stdout).toBe('1\n');
    expect(text.stderr).toContain('already exists');
    expect(JSON.parse((await cli('status', '--json')).stdout)).toHaveLength(1);
    // Without --if-missing, a second demo is created.
    expect((await cli('demo', '--recipients', '10')).stdout).toBe('2\n');
  });

  it('rejects a --recipients that is not a whole number from 1, with exit 2', async () => {
    for (const n of ['0', '-3', '2.5', 'many']) {
      const r = await cli('demo', '--recipients', n);
      expect(r.code, n).toBe(2);
      expect(r.stderr).toContain('--recipients');
    }
    expect(JSON.parse((await cli('status', '--json')).stdout)).toEqual([]);
  });
});

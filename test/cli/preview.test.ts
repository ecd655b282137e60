import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCampaign } from '../../src/core/campaigns.js';
import { openSqliteStore } from '../../src/core/store/sqlite.js';
import { runCli, tempDir } from '../helpers/cli.js';
import { settings } from '../helpers/store.js';

const fixture = (name: string) => readFileSync(join(__dirname, '../fixtures/templates', name), 'utf8');

const t = tempDir();
const cli = (...args: string[]) => runCli(['--db', t.db, ...args]);

beforeAll(async () => {
  const store = openSqliteStore(t.db);
  try {
    const now = Date.now();
    const c = await createCampaign(
      store,
      settings({
        name: 'Bienvenida',
        subject: 'Una tarde de tinajas para ti, {{nombre}}',
        replyTo: 'reservas@aremko.cl',
        html: fixture('bienvenida.html'),
        unsubscribe: 'https://aremko.cl/baja?email={{email}}',
      }),
      now,
    );
    await store.addSuppressions(['baja@example.com'], 'manual', now);
    const session = await store.beginImport(c.id);
    await session.add([
      { line: 2, email: 'baja@example.com', fields: { nombre: 'Ramón', comuna: 'Maipú', firma: '' } },
      { line: 3, email: 'Jose.Nunez@example.com', fields: { nombre: 'José Núñez', comuna: 'Ñuñoa', firma: '<i>Aremko</i>' } },
      { line: 4, email: 'maria@example.com', fields: { nombre: 'María Peña', comuna: 'Peñalolén', firma: '' } },
    ]);
    await session.commit();
    // Campaign 2 uses its own text template and has no recipients yet.
    await createCampaign(
      store,
      { ...c, name: 'Vacía', text: fixture('bienvenida.txt'), replyTo: null, unsubscribe: 'mailto:baja@aremko.cl' },
      now,
    );
  } finally {
    await store.close();
  }
});
afterAll(() => t.cleanup());

describe('preview', () => {
  it('prints headers, the text part and the html source of the first recipient not suppressed, accents intact', async () => {
    const r = await cli('preview', '1');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = r.stdout;
    const lines = out.split('\n');
    const headerValue = (name: string) => lines.find((l) => l.startsWith(`${name}:`))?.slice(name.length + 1).trim();
    expect(headerValue('From')).toBe('Aremko Spa <hola@aremko.cl>');
    expect(headerValue('To')).toBe('Jose.Nunez@example.com');
    expect(headerValue('Reply-To')).toBe('reservas@aremko.cl');
    expect(headerValue('Subject')).toBe('Una tarde de tinajas para ti, José Núñez');
    expect(headerValue('Message-ID')).toMatch(/^<aremko\.1\.2\.[a-z0-9]+@aremko\.cl>$/);
    expect(headerValue('List-Unsubscribe')).toBe('<https://aremko.cl/baja?email=Jose.Nunez%40example.com>');
    expect(headerValue('List-Unsubscribe-Post')).toBe('List-Unsubscribe=One-Click');

    const textAt = out.indexOf('── text part');
    const htmlAt = out.indexOf('── html part (source)');
    expect(out.indexOf('Subject:')).toBeLessThan(textAt);
    expect(textAt).toBeLessThan(htmlAt);
    const text = out.slice(textAt, htmlAt);
    const html = out.slice(htmlAt);
    expect(text).toContain('Te esperamos en nuestras tinajas, a pasos de Ñuñoa.');
    expect(text).not.toContain('<p>');
    expect(html).toContain('<h1>¡Hola, José Núñez!</h1>');
    expect(html).toContain('Firma: <i>Aremko</i>'); // {{{firma}}} is raw
    expect(out).not.toContain('baja@example.com'); // the suppressed recipient is skipped
  });

  it('prints one JSON document with --json', async () => {
    const r = await cli('preview', '1', '--json');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(Object.keys(j).sort()).toEqual(['from', 'headers', 'html', 'message_id', 'subject', 'text', 'to']);
    expect(j.to).toBe('Jose.Nunez@example.com');
    expect(j.from).toBe('Aremko Spa <hola@aremko.cl>');
    expect(j.subject).toBe('Una tarde de tinajas para ti, José Núñez');
    expect(j.headers).toEqual({
      From: 'Aremko Spa <hola@aremko.cl>',
      To: 'Jose.Nunez@example.com',
      'Reply-To': 'reservas@aremko.cl',
      Subject: 'Una tarde de tinajas para ti, José Núñez',
      'Message-ID': j.message_id,
      'List-Unsubscribe': '<https://aremko.cl/baja?email=Jose.Nunez%40example.com>',
      'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
    });
    expect(j.text).toContain('a pasos de Ñuñoa');
    expect(j.html).toContain('¡Hola, José Núñez!');
    // The Message-ID is the one every attempt will use.
    expect(JSON.parse((await cli('preview', '1', '--json')).stdout).message_id).toBe(j.message_id);
  });

  it('renders the recipient named by --email, whatever its case, suppressed ones included', async () => {
    const maria = JSON.parse((await cli('preview', '1', '--email', 'MARIA@example.com', '--json')).stdout);
    expect(maria.to).toBe('maria@example.com');
    expect(maria.subject).toBe('Una tarde de tinajas para ti, María Peña');
    expect(maria.message_id).toMatch(/^<aremko\.1\.3\./);

    const suppressed = await cli('preview', '1', '--email', 'baja@example.com');
    expect(suppressed.code).toBe(0);
    expect(suppressed.stdout).toContain('baja@example.com (suppressed)');
  });

  it('uses the text template when the campaign has one, and no Post header for mailto', async () => {
    const store = openSqliteStore(t.db);
    try {
      const session = await store.beginImport(2);
      await session.add([{ line: 2, email: 'ines@example.com', fields: { nombre: 'Inés', comuna: '', firma: '' } }]);
      await session.commit();
    } finally {
      await store.close();
    }
    const j = JSON.parse((await cli('preview', '2', '--json')).stdout);
    expect(j.text).toBe('Hola, Inés:\n\nTe esperamos en nuestras tinajas.\n\nDarse de baja: mailto:baja@aremko.cl\n');
    expect(j.headers['List-Unsubscribe']).toBe('<mailto:baja@aremko.cl>');
    expect(j.headers).not.toHaveProperty('List-Unsubscribe-Post');
    expect(j.headers).not.toHaveProperty('Reply-To');
  });

  it('exits 1 for an address that is not a recipient', async () => {
    const r = await cli('preview', '1', '--email', 'nadie@example.com');
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('nadie@example.com is not a recipient of campaign 1');
  });

  it('exits 1 with a hint to import when the campaign has no recipients', async () => {
    const store = openSqliteStore(t.db);
    let id: number;
    try {
      id = (await store.createCampaign((await store.getCampaign(1))!, Date.now())).id;
    } finally {
      await store.close();
    }
    const r = await cli('preview', String(id));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`campaign ${id} has no recipients yet (import some: aremko-mail import ${id} <file.csv>)`);
  });

  it('exits 1 for an unknown campaign and 2 for an id that is not a number', async () => {
    const unknown = await cli('preview', '99');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('campaign 99 does not exist');
    expect((await cli('preview', 'abc')).code).toBe(2);
  });
});

describe('preview: bad input, shown harmlessly or refused in one line', () => {
  const u = tempDir('aremko-preview-bad-');
  const run = (...args: string[]) => runCli(['--db', u.db, ...args]);
  let bad: number;
  let good: number;

  beforeAll(async () => {
    const store = openSqliteStore(u.db);
    try {
      const add = async (id: number, fields: Record<string, string>) => {
        const session = await store.beginImport(id);
        await session.add([{ line: 2, email: 'ana@example.com', fields: { email: 'ana@example.com', ...fields } }]);
        await session.commit();
      };
      // Stored as a campaign created before templates were checked at create: straight into the store.
      bad = (await store.createCampaign(settings({ name: 'Vieja', html: '<p>Hola {{nombre}}</p>\n{{> firma}}' }), 0)).id;
      await add(bad, { nombre: 'Ana' });
      good = (await createCampaign(store, settings({ name: 'Escapes \u001b[2J', subject: 'Hola {{nombre}}', html: '<p>{{{nota}}}</p>' }), 0)).id;
      await add(good, { nombre: 'Ana \u001b]0;pwned\u0007', nota: 'línea 1\n\u001b[31mrojo\u001b[0m \u202eodnum' });
    } finally {
      await store.close();
    }
  });
  afterAll(() => u.cleanup());

  it('says in one line why a stored campaign cannot be rendered: exit 1, no stack trace', async () => {
    const r = await run('preview', String(bad));
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      `aremko-mail: campaign ${bad} cannot be rendered: html template: line 2: "{{> firma}}" is a partial; ` +
        'partials are not supported (write that part into the template itself)\n',
    );
    // start refuses it too, naming the template, and it stays a draft.
    const start = await run('start', String(bad));
    expect(start.code).toBe(1);
    expect(start.stderr).toContain('html template: line 2: "{{> firma}}" is a partial');
    expect(start.stderr.trim().split('\n')).toHaveLength(1);
    expect(JSON.parse((await run('status', String(bad), '--json')).stdout).status).toBe('draft');
  });

  it('refuses an --email that is not one address (exit 2), naming the flag', async () => {
    for (const email of ['ana@example.com\r\nBcc: x@evil.test', 'Ana <ana@example.com>', 'ana@example.com, otro@example.com']) {
      const r = await run('preview', String(good), '--email', email);
      expect(r.code, email).toBe(2);
      expect(r.stderr).toMatch(/^aremko-mail: --email: ".*" (contains a control character|is not one email address)/);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
  });

  it('shows control characters from the campaign and the fields as escapes; --json keeps them', async () => {
    const r = await run('preview', String(good));
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Subject:    Hola Ana \\x1b]0;pwned\\x07');
    expect(r.stdout).toContain('<p>línea 1\n\\x1b[31mrojo\\x1b[0m \\u{202e}odnum</p>');
    expect(r.stdout.replace(/[\n]/g, '')).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202e]/);
    const j = JSON.parse((await run('preview', String(good), '--json')).stdout);
    expect(j.html).toBe('<p>línea 1\n\u001b[31mrojo\u001b[0m \u202eodnum</p>');
  });
});

/**
 * The root box is never taller than rows - 1 (or Ink clears the screen every frame) and no line
 * is wider than the terminal, on every screen, at several sizes, and across resizes.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createCampaign, type Harness, KEY, mount } from './harness.js';
import { runWithFailures } from './real-run.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.cleanup();
  h = undefined;
});

const SIZES: [number, number][] = [
  [80, 24],
  [60, 15],
  [120, 40],
  [40, 10],
  [100, 30],
];

function checkFits(frame: string, columns: number, rows: number, where: string) {
  const lines = frame.split('\n');
  expect(lines.length, `${where}: ${lines.length} lines at ${columns}x${rows}\n${frame}`).toBeLessThanOrEqual(rows - 1);
  for (const line of lines) expect([...line].length, `${where}: line too wide at ${columns}x${rows}: "${line}"`).toBeLessThanOrEqual(columns);
}

describe('layout', () => {
  it('every screen fits at 80x24, 60x15, 120x40, 40x10 and 100x30, in both languages', async () => {
    for (const lang of ['es', 'en'] as const) {
      h = await mount({ lang, transport: null }, async (store) => {
        for (let i = 1; i <= 12; i++) {
          const c = await createCampaign(store, { name: `Campaña de invierno con un nombre bastante largo ${i}`, timeZone: 'America/Santiago' }, 3);
          for (let j = 0; j < 40; j++)
            await store.addEvent({
              campaignId: c.id,
              at: Date.now(),
              level: j % 7 === 0 ? 'error' : 'info',
              type: 'note',
              message: `a long log line that goes on and on to see that it is cut and never wraps the frame ${j}`,
            });
        }
        store.raw.prepare(`UPDATE campaigns SET last_error = 'mail server unavailable: connect ECONNREFUSED 127.0.0.1:25 and then some more words' WHERE id = 1`).run();
      });
      await h.waitFor('› #1 ');
      const screens: [string, () => Promise<unknown>][] = [
        ['list', async () => undefined],
        ['detail', async () => { await h!.press(KEY.enter); await h!.waitFor(/› #1 Campa/); await h!.waitFor('long log line'); }],
        ['notice', async () => { await h!.press('s'); await h!.waitFor(/AREMKO_MAIL_TRANSPORT|transport/); }],
        ['log', async () => { await h!.press('l'); await h!.waitFor(/(lines|líneas) \d/); }],
        ['log scrolled', async () => { await h!.press(KEY.pageUp); await h!.waitFor(/(lines|líneas) \d/); }],
        ['help', async () => { await h!.press('?'); await h!.waitFor(/Keys|Teclas/); }],
        ['cancel dialog', async () => { await h!.press(KEY.escape, KEY.escape, 'c'); await h!.waitFor(/\((y|s)\/n\)/); }],
      ];
      for (const [name, go] of screens) {
        await go();
        for (const [columns, rows] of SIZES) {
          h.resize(columns, rows);
          await h.waitFor((f) => f.split('\n').length <= rows - 1 && f.split('\n').every((l) => [...l].length <= columns), 3000).catch(() => undefined);
          checkFits(h.frame(), columns, rows, `${lang} ${name}`);
        }
        h.resize(100, 24);
      }
      await h.cleanup();
      h = undefined;
    }
  });

  it('the pictures, the failed list, filter mode, a history and the one-recipient question fit too', async () => {
    for (const lang of ['es', 'en'] as const) {
      h = await mount({ lang }, async (store) => {
        await runWithFailures(store, { settings: { name: 'Una campaña con un nombre largo que no cabe en una línea angosta' } });
      });
      await h.waitFor('› #1 ');
      const screens: [string, () => Promise<unknown>][] = [
        ['detail with pictures', async () => { await h!.press(KEY.enter); await h!.waitFor(/Batches:|Lotes:/); }],
        ['failed list', async () => { await h!.press('f'); await h!.waitFor('r10@example.com'); }],
        ['filter mode', async () => { await h!.press('/', 'r', '1'); await h!.waitFor(/(Filter|Filtro) .*r1/); }],
        ['history', async () => { await h!.press(KEY.enter, KEY.enter); await h!.waitFor(/(History|Historial) · r1@/); }],
        ['one-recipient question', async () => { await h!.press(KEY.escape, KEY.end, 'r'); await h!.waitFor(/r10@example\.com (is in doubt|está en duda)/); }],
      ];
      for (const [name, go] of screens) {
        h.resize(100, 24);
        await go();
        for (const [columns, rows] of SIZES) {
          h.resize(columns, rows);
          await h.waitFor((f) => f.split('\n').length <= rows - 1 && f.split('\n').every((l) => [...l].length <= columns), 3000).catch(() => undefined);
          checkFits(h.frame(), columns, rows, `${lang} ${name}`);
        }
      }
      await h.cleanup();
      h = undefined;
    }
  });

  it('a taller terminal shows more of the log tail; a shorter one fewer', async () => {
    h = await mount({ lang: 'en' }, async (store) => {
      const c = await createCampaign(store, { name: 'Tall' }, 1);
      for (let j = 1; j <= 50; j++) await store.addEvent({ campaignId: c.id, at: Date.now(), level: 'info', type: 'note', message: `event ${j}` });
    });
    await h.waitFor('› #1 Tall');
    await h.press(KEY.enter);
    await h.waitFor('event 50');
    const count = () => h!.frame().split('\n').filter((l) => / event \d+$/.test(l)).length;
    const at24 = count();
    h.resize(100, 40);
    await h.waitFor(() => count() > at24);
    expect(count()).toBe(at24 + 16);
    h.resize(100, 16);
    await h.waitFor(() => count() < at24);
    expect(h.frame().split('\n').length).toBeLessThanOrEqual(15);
    expect(h.frame()).toContain('event 50'); // newest at the bottom, still there
  });

  it('a short terminal drops the least useful lines instead of printing lines over each other', async () => {
    h = await mount({ lang: 'en' }, async (store) => {
      const c = await createCampaign(store, { name: 'Short', intervalSeconds: 600 }, 4);
      await store.transition(c.id, ['draft'], 'sending', Date.now());
      store.raw.prepare(`UPDATE campaigns SET next_batch_at = ?, last_error = 'boom' WHERE id = ?`).run(Date.now() + 300_000, c.id);
      await store.addEvent({ campaignId: c.id, at: Date.now(), level: 'info', type: 'note', message: 'newest event' });
    });
    await h.waitFor('› #1 Short');
    await h.press(KEY.enter);
    await h.waitFor('newest event');
    for (const [columns, rows] of [
      [50, 12],
      [50, 10],
      [40, 8],
    ] as const) {
      h.resize(columns, rows);
      await h.waitFor((f) => f.split('\n').length <= rows - 1);
      const lines = h.frame().split('\n');
      const label = (re: RegExp) => lines.filter((l) => re.test(l)).length;
      // Each shown line holds one thing: no label appears twice and none is fused into another.
      for (const re of [/Next batch:/, /Sending:/, /Last error:/, /Rate:/, /Batch \d/]) expect(label(re)).toBeLessThanOrEqual(1);
      for (const l of lines) expect(l.match(/(Next batch|Sending|Last error|Rate|sent):/g)?.length ?? 0).toBeLessThanOrEqual(1);
      expect(label(/%/)).toBe(1); // the progress bar is kept first
      if (rows >= 10) expect(label(/Next batch: in/)).toBe(1);
      if (rows >= 12) expect(label(/Last error: boom/)).toBe(1); // an error is worth a line
    }
  });
});

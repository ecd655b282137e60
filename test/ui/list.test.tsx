import { afterEach, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../src/core/store/sqlite.js';
import { createCampaign, type Harness, KEY, mount } from './harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.cleanup();
  h = undefined;
});

describe('campaign list', () => {
  it('says there are no campaigns and how to make one (en and es)', async () => {
    h = await mount({ lang: 'en' });
    await h.waitFor('No campaigns yet.');
    expect(h.frame()).toContain('aremko-mail demo');
    await h.cleanup();
    h = await mount({ lang: 'es' });
    await h.waitFor('Aún no hay campañas.');
    expect(h.frame()).toContain('Campañas');
  });

  it('shows name, status, progress, sent/total, failed, in doubt; moves with arrows and j/k', async () => {
    h = await mount({ lang: 'en' }, async (store) => {
      await createCampaign(store, { name: 'Spring sale' }, 12);
      const b = await createCampaign(store, { name: 'Winter news' }, 4);
      store.raw.prepare(`UPDATE recipients SET status = 'sent' WHERE campaign_id = ? AND id IN (SELECT id FROM recipients WHERE campaign_id = ? LIMIT 2)`).run(b.id, b.id);
      store.raw.prepare(`UPDATE recipients SET status = 'in_doubt' WHERE campaign_id = ? AND status = 'pending' AND id IN (SELECT id FROM recipients WHERE campaign_id = ? AND status = 'pending' LIMIT 1)`).run(b.id, b.id);
    });
    const f = await h.waitFor((x) => x.includes('Winter news') && x.includes('› #1 Spring sale'));
    expect(f).toMatch(/#1 Spring sale\s+draft\s+░+\s+0%/);
    expect(f).toContain('sent 0/12 · failed 0 · in doubt 0');
    // NO_COLOR: in doubt drawn as '?' (no colour to tell it apart)
    expect(f).toMatch(/#2 Winter news\s+draft\s+█+\?+░+\s+75%/);
    expect(f).toContain('sent 2/4 · failed 0 · in doubt 1');

    await h.press(KEY.down);
    await h.waitFor('› #2 Winter news');
    await h.press('k');
    await h.waitFor('› #1 Spring sale');
    await h.press('j');
    await h.waitFor('› #2 Winter news');
    await h.press(KEY.up);
    await h.waitFor('› #1 Spring sale');
    // Keys pressed faster than a render all count (no stale state): from #1, j j → #3.
    const other = openSqliteStore(h.db); // another process creates it
    await createCampaign(other, { name: 'Autumn' }, 1);
    await other.close();
    await h.waitFor('#3 Autumn');
    await h.press('j', 'j');
    await h.waitFor('› #3 Autumn');
    await h.press('k', 'k', 'j');
    await h.waitFor('› #2 Winter news');
    // Characters that arrive in one chunk (a paste, tmux send-keys "j Enter") are keys one by one.
    await h.press('kj');
    await h.press('k');
    await h.waitFor('› #1 Spring sale');
    await h.press('jj');
    await h.waitFor('› #3 Autumn');
    await h.press('k\r');
    await h.waitFor('aremko-mail › #2 Winter news');
  });

  it('Enter opens the detail, Esc and q come back, q on the list quits', async () => {
    h = await mount({ lang: 'en' }, async (store) => {
      await createCampaign(store, { name: 'Spring sale' }, 3);
    });
    await h.waitFor('› #1 Spring sale');
    await h.press(KEY.enter);
    await h.waitFor('aremko-mail › #1 Spring sale');
    expect(h.frame()).toContain('Batch 1 of 1');
    await h.press(KEY.escape);
    await h.waitFor('aremko-mail · Campaigns');
    await h.press(KEY.enter);
    await h.waitFor('aremko-mail › #1 Spring sale');
    await h.press('q');
    await h.waitFor('aremko-mail · Campaigns');
    expect(h.hasExited()).toBe(false);
    await h.press('q');
    await h.exited; // nothing was sending: no question asked
  });

  it('picks up a campaign created by another process within a second', async () => {
    h = await mount({ lang: 'es' });
    await h.waitFor('Aún no hay campañas.');
    // A second connection to the same file, as another process would have.
    const other = openSqliteStore(h.db);
    const started = Date.now();
    await createCampaign(other, { name: 'Llegó de otra terminal' }, 2);
    await other.close();
    await h.waitFor('#1 Llegó de otra terminal', 3000);
    expect(Date.now() - started).toBeLessThan(1500);
    expect(h.frame()).toContain('enviados 0/2 · fallidos 0 · en duda 0');
  });

  it('shows a live countdown to the next batch', async () => {
    h = await mount({ lang: 'en' }, async (store) => {
      const c = await createCampaign(store, { name: 'Countdown', intervalSeconds: 600 }, 2);
      await store.transition(c.id, ['draft'], 'sending', Date.now());
      store.raw.prepare(`UPDATE campaigns SET next_batch_at = ? WHERE id = ?`).run(Date.now() + 65_000, c.id);
    });
    const first = await h.waitFor(/next batch in 1:0\d/);
    const shown = /next batch in (1:0\d)/.exec(first)![1];
    // The countdown ticks by itself (no store change needed).
    await h.waitFor((f) => /next batch in (\d:\d\d)/.exec(f)?.[1] !== shown, 3000);
  });

  it('keeps the selection visible when campaigns do not fit', async () => {
    h = await mount({ lang: 'en' }, async (store) => {
      for (let i = 1; i <= 15; i++) await createCampaign(store, { name: `Campaign number ${i}` }, 0);
    });
    await h.waitFor('› #1 Campaign number 1');
    expect(h.frame()).toContain('↓');
    expect(h.frame()).not.toContain('Campaign number 15');
    for (let i = 0; i < 14; i++) await h.press(KEY.down);
    await h.waitFor('› #15 Campaign number 15');
    expect(h.frame()).toContain('↑');
    expect(h.frame().split('\n').length).toBeLessThanOrEqual(23);
  });
});

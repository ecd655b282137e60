/**
 * Keys go to the screen or dialog in front, in the order typed, even when they come faster than
 * React draws: a key that opens a screen is followed by keys for that screen.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Key } from 'ink';
import { splitKeys } from '../../src/ui/keys.js';
import { createCampaign, type Harness, KEY, mount } from './harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.cleanup();
  h = undefined;
});

const noKey = { return: false, ctrl: false, meta: false, shift: false, escape: false, delete: false, backspace: false } as Key;

describe('keys', () => {
  it('a run of characters is split into keys: Enter, DEL and control characters are keys of their own', () => {
    const keys = splitKeys('k\rj\u007F\u0015A', noKey).map(([input, key]) => [input, key.return, key.delete, key.ctrl, key.shift]);
    expect(keys).toEqual([
      ['k', false, false, false, false],
      ['', true, false, false, false],
      ['j', false, false, false, false],
      ['', false, true, false, false],
      ['u', false, false, true, false],
      ['A', false, false, false, true],
    ]);
    // One key, an escape sequence, or a control key stays as Ink gave it.
    expect(splitKeys('q', noKey)).toEqual([['q', noKey]]);
    expect(splitKeys('\u001B[A', { ...noKey, upArrow: true })).toHaveLength(1);
  });

  it('a key right after one that changes the screen reaches the new screen (one chunk, or typed fast)', async () => {
    h = await mount({ lang: 'en' }, async (store) => {
      await createCampaign(store, { name: 'First' }, 1);
      await createCampaign(store, { name: 'Second' }, 1);
    });
    await h.waitFor('› #1 First');
    // "? q" in one chunk: the help opens, and q closes it — it does not reach the list (quit).
    await h.press('?q');
    await h.waitFor((f) => f.includes('aremko-mail · Campaigns') && !f.includes('Esc or ? to close'));
    expect(h.hasExited()).toBe(false);
    // Enter then l, typed without waiting: l is the detail's (the log then returns to the detail).
    await h.press(KEY.enter, 'l');
    await h.waitFor('Log · #1 First');
    await h.press(KEY.escape);
    await h.waitFor('aremko-mail › #1 First');
    // The same in one chunk, from the list: "j Enter l" → campaign #2's log, back to its detail.
    await h.press(KEY.escape);
    await h.waitFor('aremko-mail · Campaigns');
    await h.press('j\rl');
    await h.waitFor('Log · #2 Second');
    await h.press('q');
    await h.waitFor('aremko-mail › #2 Second');
  });

  it('a dialog takes every key while it is open; Ctrl+C still quits from anywhere', async () => {
    h = await mount({ lang: 'en' }, async (store) => {
      await createCampaign(store, { name: 'Asked' }, 2);
    });
    await h.waitFor('› #1 Asked');
    await h.press(KEY.enter, 'c');
    await h.waitFor('Cancel campaign #1 "Asked"?');
    // j, l, ?, p mean nothing here: the question stays, nothing moves.
    await h.press('j', 'l', '?', 'p');
    await h.press('n');
    const f = await h.waitFor((x) => !x.includes('Cancel campaign'));
    expect(f).toContain('aremko-mail › #1 Asked');
    expect(f).not.toContain('Keys');
    expect((await h.store.summaries([1]))[0]!.campaign.status).toBe('draft');
    await h.press('c');
    await h.waitFor('Cancel campaign #1');
    await h.press(KEY.ctrlC);
    await h.exited;
  });
});

import { describe, expect, it } from 'vitest';
import { initialUiState, uiReducer, type UiState } from '../../src/ui/state.js';

const run = (...actions: Parameters<typeof uiReducer>[1][]) => actions.reduce<UiState>(uiReducer, initialUiState);

describe('ui reducer', () => {
  it('selects the first campaign, keeps a valid selection, clamps moves', () => {
    let s = run({ type: 'sync', ids: [3, 5, 9] });
    expect(s.selectedId).toBe(3);
    s = uiReducer(s, { type: 'move', delta: 1, ids: [3, 5, 9] });
    expect(s.selectedId).toBe(5);
    s = uiReducer(s, { type: 'move', delta: 5, ids: [3, 5, 9] });
    expect(s.selectedId).toBe(9);
    s = uiReducer(s, { type: 'move', delta: -9, ids: [3, 5, 9] });
    expect(s.selectedId).toBe(3);
    expect(uiReducer(s, { type: 'sync', ids: [1, 3] })).toBe(s); // still there: unchanged
    expect(uiReducer(s, { type: 'sync', ids: [7] }).selectedId).toBe(7);
    expect(uiReducer(s, { type: 'sync', ids: [] }).selectedId).toBeNull();
  });

  it('screens: open, log, back; the log returns where it came from', () => {
    let s = run({ type: 'open', id: 2 });
    expect(s.screen).toBe('detail');
    s = uiReducer(s, { type: 'openLog', id: 2 });
    expect(s).toMatchObject({ screen: 'log', logReturn: 'detail', logTop: null });
    s = uiReducer(s, { type: 'back' });
    expect(s.screen).toBe('detail');
    s = uiReducer(s, { type: 'back' });
    expect(s.screen).toBe('list');
    s = uiReducer(s, { type: 'openLog', id: 2 });
    expect(uiReducer(s, { type: 'back' }).screen).toBe('list');
  });

  it('a dialog closes before the screen goes back', () => {
    let s = run({ type: 'open', id: 1 }, { type: 'dialog', dialog: { kind: 'help' } });
    s = uiReducer(s, { type: 'back' });
    expect(s.dialog).toBeNull();
    expect(s.screen).toBe('detail');
  });

  it('log scrolling: follows the bottom until scrolled up; clamps at both ends', () => {
    let s = run({ type: 'openLog', id: 1 });
    s = uiReducer(s, { type: 'scroll', delta: -1, total: 100, page: 20 });
    expect(s.logTop).toBe(79);
    s = uiReducer(s, { type: 'scroll', delta: -500, total: 100, page: 20 });
    expect(s.logTop).toBe(0);
    s = uiReducer(s, { type: 'scroll', delta: 500, total: 100, page: 20 });
    expect(s.logTop).toBeNull();
    s = uiReducer(s, { type: 'scrollTo', where: 'top' });
    expect(s.logTop).toBe(0);
    s = uiReducer(s, { type: 'scrollTo', where: 'bottom' });
    expect(s.logTop).toBeNull();
    // Fewer lines than a page: nothing to scroll.
    expect(uiReducer(s, { type: 'scroll', delta: -3, total: 5, page: 20 }).logTop).toBeNull();
  });

  it('quit closes any dialog', () => {
    const s = run({ type: 'dialog', dialog: { kind: 'quit' } }, { type: 'quit' });
    expect(s).toMatchObject({ quitting: true, dialog: null });
  });
});

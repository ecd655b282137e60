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

describe('failed list and history state', () => {
  const open = () => run({ type: 'sync', ids: [4] }, { type: 'open', id: 4 }, { type: 'openFailed', id: 4 });

  it('f opens it fresh; the highlight moves within the rows and the page follows it', () => {
    let s = open();
    expect(s).toMatchObject({ screen: 'failed', selectedId: 4, failed: { cursor: 0, top: 0, filter: '', filtering: false } });
    s = uiReducer(s, { type: 'failedMove', delta: 1, total: 10, page: 4 });
    expect(s.failed).toMatchObject({ cursor: 1, top: 0 });
    s = uiReducer(s, { type: 'failedMove', delta: 3, total: 10, page: 4 });
    expect(s.failed).toMatchObject({ cursor: 4, top: 1 }); // just enough to show it
    s = uiReducer(s, { type: 'failedMove', delta: 100, total: 10, page: 4 });
    expect(s.failed).toMatchObject({ cursor: 9, top: 6 });
    s = uiReducer(s, { type: 'failedMove', delta: -4, total: 10, page: 4 });
    expect(s.failed).toMatchObject({ cursor: 5, top: 5 });
    s = uiReducer(s, { type: 'failedTo', where: 'top', total: 10, page: 4 });
    expect(s.failed).toMatchObject({ cursor: 0, top: 0 });
    s = uiReducer(s, { type: 'failedTo', where: 'bottom', total: 10, page: 4 });
    expect(s.failed).toMatchObject({ cursor: 9, top: 6 });
    // Rows went away (resolved elsewhere): a move of 0 puts the highlight back on one.
    s = uiReducer(s, { type: 'failedMove', delta: 0, total: 3, page: 4 });
    expect(s.failed).toMatchObject({ cursor: 2, top: 0 });
    expect(uiReducer(s, { type: 'failedMove', delta: 0, total: 3, page: 4 })).toBe(s); // nothing to change
    s = uiReducer(s, { type: 'failedMove', delta: 5, total: 0, page: 4 });
    expect(s.failed).toMatchObject({ cursor: 0, top: 0 });
  });

  it('a new filter starts at the top; filter mode on and off keeps the filter', () => {
    let s = uiReducer(open(), { type: 'failedMove', delta: 5, total: 10, page: 4 });
    s = uiReducer(s, { type: 'filtering', on: true });
    s = uiReducer(s, { type: 'filter', text: 'gmail' });
    expect(s.failed).toMatchObject({ filter: 'gmail', filtering: true, cursor: 0, top: 0 });
    s = uiReducer(s, { type: 'filtering', on: false });
    expect(s.failed).toMatchObject({ filter: 'gmail', filtering: false });
    expect(uiReducer(s, { type: 'filtering', on: false })).toBe(s);
  });

  it('history: Enter opens it, it scrolls within its lines, back goes to the list as it was, then to the detail', () => {
    let s = uiReducer(uiReducer(open(), { type: 'filter', text: 'x' }), { type: 'failedMove', delta: 2, total: 5, page: 4 });
    s = uiReducer(s, { type: 'openHistory', recipientId: 77, email: 'a@b.cl' });
    expect(s).toMatchObject({ screen: 'history', history: { recipientId: 77, email: 'a@b.cl', top: 0 } });
    s = uiReducer(s, { type: 'historyScroll', delta: 3, total: 10, page: 8 });
    expect(s.history!.top).toBe(2);
    s = uiReducer(s, { type: 'historyScroll', delta: -9, total: 10, page: 8 });
    expect(s.history!.top).toBe(0);
    s = uiReducer(s, { type: 'back' });
    expect(s).toMatchObject({ screen: 'failed', history: null, failed: { filter: 'x', cursor: 2 } });
    s = uiReducer(s, { type: 'back' });
    expect(s).toMatchObject({ screen: 'detail', failed: { filter: '', cursor: 0 } });
  });
});

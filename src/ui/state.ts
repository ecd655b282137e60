/**
 * The screen state of the TUI (which screen, which campaign, which dialog, log scroll) as a pure
 * reducer. Data from the store lives in the controller's snapshot, not here.
 */

export type Screen = 'list' | 'detail' | 'log' | 'failed' | 'history';

export type Dialog =
  | { kind: 'help' }
  | { kind: 'cancel'; id: number; name: string }
  | { kind: 'resolve'; id: number; count: number }
  /** One in-doubt recipient (from the failed list or its history). */
  | { kind: 'resolveOne'; id: number; email: string }
  | { kind: 'quit' };

/** The failed / in-doubt list of the selected campaign (`f`). */
export interface FailedView {
  /** Index of the highlighted row among all matching rows. */
  cursor: number;
  /** First row shown. */
  top: number;
  /** Address or error text to match; '' for all. */
  filter: string;
  /** Typing edits the filter. */
  filtering: boolean;
}

/** One recipient's history (Enter in the failed list). */
export interface HistoryView {
  recipientId: number;
  email: string;
  /** First line shown. */
  top: number;
}

export const initialFailedView: FailedView = { cursor: 0, top: 0, filter: '', filtering: false };

export interface UiState {
  screen: Screen;
  /** Where `Esc` from the log goes back to. */
  logReturn: 'list' | 'detail';
  /** The selected campaign (by id, so it stays selected when others are added). */
  selectedId: number | null;
  dialog: Dialog | null;
  /** First visible log line in the log screen; null: follow the newest. */
  logTop: number | null;
  /** Quit confirmed: stopping engines, then exit. */
  quitting: boolean;
  failed: FailedView;
  history: HistoryView | null;
}

export const initialUiState: UiState = {
  screen: 'list',
  logReturn: 'list',
  selectedId: null,
  dialog: null,
  logTop: null,
  quitting: false,
  failed: initialFailedView,
  history: null,
};

export type UiAction =
  | { type: 'sync'; ids: number[] }
  | { type: 'move'; delta: number; ids: number[] }
  | { type: 'open'; id: number }
  | { type: 'openLog'; id: number }
  | { type: 'back' }
  | { type: 'dialog'; dialog: Dialog }
  | { type: 'closeDialog' }
  | { type: 'scroll'; delta: number; total: number; page: number }
  | { type: 'scrollTo'; where: 'top' | 'bottom' }
  | { type: 'quit' }
  | { type: 'openFailed'; id: number }
  /** Moves the highlight by `delta` rows among `total`, keeping it inside a page of `page` rows. */
  | { type: 'failedMove'; delta: number; total: number; page: number }
  | { type: 'failedTo'; where: 'top' | 'bottom'; total: number; page: number }
  | { type: 'filtering'; on: boolean }
  | { type: 'filter'; text: string }
  | { type: 'openHistory'; recipientId: number; email: string }
  | { type: 'historyScroll'; delta: number; total: number; page: number };

const clamp = (n: number, lo: number, hi: number) => Math.max(lo, Math.min(hi, n));

export function uiReducer(state: UiState, action: UiAction): UiState {
  switch (action.type) {
    case 'sync': {
      // Keep the selection valid as campaigns come and go.
      if (action.ids.length === 0) return state.selectedId === null ? state : { ...state, selectedId: null };
      if (state.selectedId !== null && action.ids.includes(state.selectedId)) return state;
      return { ...state, selectedId: action.ids[0]! };
    }
    case 'move': {
      if (action.ids.length === 0) return state;
      const at = state.selectedId === null ? -1 : action.ids.indexOf(state.selectedId);
      const next = at === -1 ? 0 : clamp(at + action.delta, 0, action.ids.length - 1);
      const selectedId = action.ids[next]!;
      return selectedId === state.selectedId ? state : { ...state, selectedId };
    }
    case 'open':
      return { ...state, screen: 'detail', selectedId: action.id, dialog: null };
    case 'openLog':
      return {
        ...state,
        screen: 'log',
        logReturn: state.screen === 'detail' ? 'detail' : 'list',
        selectedId: action.id,
        logTop: null,
        dialog: null,
      };
    case 'back':
      if (state.dialog) return { ...state, dialog: null };
      if (state.screen === 'log') return { ...state, screen: state.logReturn, logTop: null };
      if (state.screen === 'detail') return { ...state, screen: 'list' };
      if (state.screen === 'failed') return { ...state, screen: 'detail', failed: initialFailedView };
      if (state.screen === 'history') return { ...state, screen: 'failed', history: null };
      return state;
    case 'dialog':
      return { ...state, dialog: action.dialog };
    case 'closeDialog':
      return state.dialog ? { ...state, dialog: null } : state;
    case 'scroll': {
      const maxTop = Math.max(0, action.total - action.page);
      const current = state.logTop ?? maxTop;
      const top = clamp(current + action.delta, 0, maxTop);
      return { ...state, logTop: top >= maxTop ? null : top };
    }
    case 'scrollTo':
      return { ...state, logTop: action.where === 'top' ? 0 : null };
    case 'quit':
      return { ...state, quitting: true, dialog: null };
    case 'openFailed':
      return { ...state, screen: 'failed', selectedId: action.id, dialog: null, failed: initialFailedView, history: null };
    case 'failedMove':
      return moveFailed(state, state.failed.cursor + action.delta, action.total, action.page);
    case 'failedTo':
      return moveFailed(state, action.where === 'top' ? 0 : action.total - 1, action.total, action.page);
    case 'filtering':
      return state.failed.filtering === action.on ? state : { ...state, failed: { ...state.failed, filtering: action.on } };
    case 'filter':
      // A new filter is a new list: start at its top.
      return { ...state, failed: { ...state.failed, filter: action.text, cursor: 0, top: 0 } };
    case 'openHistory':
      return { ...state, screen: 'history', dialog: null, history: { recipientId: action.recipientId, email: action.email, top: 0 } };
    case 'historyScroll': {
      if (!state.history) return state;
      const top = clamp(state.history.top + action.delta, 0, Math.max(0, action.total - action.page));
      return top === state.history.top ? state : { ...state, history: { ...state.history, top } };
    }
  }
}

/** The highlight at `cursor` (clamped to the rows), and the page moved just enough to show it. */
export function moveFailed(state: UiState, cursor: number, total: number, page: number): UiState {
  const f = state.failed;
  const c = total <= 0 ? 0 : clamp(cursor, 0, total - 1);
  const p = Math.max(1, page);
  let top = clamp(f.top, 0, Math.max(0, total - p));
  if (c < top) top = c;
  else if (c >= top + p) top = c - p + 1;
  if (c === f.cursor && top === f.top) return state;
  return { ...state, failed: { ...f, cursor: c, top } };
}

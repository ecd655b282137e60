/**
 * The screen state of the TUI (which screen, which campaign, which dialog, log scroll) as a pure
 * reducer. Data from the store lives in the controller's snapshot, not here.
 */

export type Screen = 'list' | 'detail' | 'log';

export type Dialog =
  | { kind: 'help' }
  | { kind: 'cancel'; id: number; name: string }
  | { kind: 'resolve'; id: number; count: number }
  | { kind: 'quit' };

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
}

export const initialUiState: UiState = {
  screen: 'list',
  logReturn: 'list',
  selectedId: null,
  dialog: null,
  logTop: null,
  quitting: false,
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
  | { type: 'quit' };

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
  }
}

/**
 * The actions the screens' keys call, in a context of their own (as gemini-cli keeps its UI
 * actions apart from its UI state). The value is stable for the life of the app; a key handler
 * never sees stale state because it reads `ui()` and `controller.getSnapshot()` when the key
 * arrives. What a screen draws comes to it as props from the App.
 */
import { createContext, useContext } from 'react';
import type { TuiController } from './controller.js';
import type { UiAction, UiState } from './state.js';

export interface AppActions {
  controller: TuiController;
  dispatch: (action: UiAction) => void;
  /** The newest screen state (keys typed faster than a render see each other's effect). */
  ui: () => UiState;
  /** `q` on the list, Ctrl+C: quit, asking first while this window sends. */
  requestQuit: () => void;
  /** Ctrl+C (or a second signal) while already stopping: leave at once. */
  forceQuit: () => void;
}

export const AppActionsContext = createContext<AppActions | null>(null);

export function useAppActions(): AppActions {
  const v = useContext(AppActionsContext);
  if (!v) throw new Error('useAppActions outside the App');
  return v;
}

import { useCallback, useReducer, useRef } from 'react';
import { initialUiState, type UiAction, type UiState, uiReducer } from '../state.js';

/**
 * The reducer, plus a ref that always holds the newest state: key handlers read the ref, so two
 * keys pressed faster than a render still see each other's effect (no stale closures).
 */
export function useUiState(initial: UiState = initialUiState) {
  const [state, dispatchReact] = useReducer(uiReducer, initial);
  const ref = useRef<UiState>(state);
  /** Returns whether the state changed. */
  const dispatch = useCallback((action: UiAction): boolean => {
    const next = uiReducer(ref.current, action);
    if (next === ref.current) return false;
    ref.current = next;
    dispatchReact(action);
    return true;
  }, []);
  return { state, ref, dispatch };
}

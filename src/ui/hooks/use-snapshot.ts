import { useSyncExternalStore } from 'react';
import type { Snapshot, TuiController } from '../controller.js';

/** The controller's latest snapshot; re-renders only when it publishes (≤ 10 a second). */
export function useSnapshot(controller: TuiController): Snapshot {
  return useSyncExternalStore(controller.subscribe, controller.getSnapshot, controller.getSnapshot);
}

import { useAppActions } from '../app-context.js';
import { isDown, isUp, LAYER, useKeys } from '../keys.js';

/**
 * The keys of the campaign list and of a campaign's detail: move (↑ ↓ k j), open (Enter), send
 * (s), pause (p), cancel (c, asks), in doubt (r, asks), log (l); in the detail also its failed
 * and in-doubt recipients (f).
 */
export function useCampaignKeys({ isActive, failedList = false }: { isActive: boolean; failedList?: boolean }): void {
  const { controller, dispatch, ui } = useAppActions();
  useKeys(
    (input, key) => {
      const current = controller.getSnapshot();
      const ids = current.campaigns.map((x) => x.campaign.id);
      if (isUp(input, key) || isDown(input, key)) {
        dispatch({ type: 'move', delta: isUp(input, key) ? -1 : 1, ids });
        return true;
      }
      const id = ui().selectedId;
      const summary = current.campaigns.find((x) => x.campaign.id === id);
      if (id === null || !summary) return false;
      if (key.return) {
        controller.clearNotice();
        dispatch({ type: 'open', id });
        return true;
      }
      switch (input) {
        case 's':
          void controller.actions.send(id);
          return true;
        case 'p':
          void controller.actions.pause(id);
          return true;
        case 'c': {
          const st = summary.campaign.status;
          if (st === 'draft' || st === 'sending' || st === 'paused')
            dispatch({ type: 'dialog', dialog: { kind: 'cancel', id, name: summary.campaign.name } });
          else void controller.actions.cancel(id); // says why not
          return true;
        }
        case 'r':
          if (summary.counts.in_doubt > 0) dispatch({ type: 'dialog', dialog: { kind: 'resolve', id, count: summary.counts.in_doubt } });
          else controller.notify({ code: 'no_in_doubt', id }, 'warn');
          return true;
        case 'l':
          controller.clearNotice();
          dispatch({ type: 'openLog', id });
          return true;
        case 'f':
          if (!failedList) return false;
          if (controller.actions.canListFailed(id)) {
            controller.clearNotice();
            dispatch({ type: 'openFailed', id });
          }
          return true;
      }
      return false;
    },
    { isActive, layer: LAYER.screen },
  );
}

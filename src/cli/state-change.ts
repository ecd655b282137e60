import type { CommandModule } from 'yargs';
import { statusJson } from '../core/status.js';
import type { Store } from '../core/store.js';
import type { Campaign } from '../core/types.js';
import { type GlobalArgs, now, observer, parseId, printJson, withJson, withStore } from './context.js';

/** `start|pause|resume|cancel <id>`: one state change, its rules in core/campaigns. */
export function stateChangeCommand(
  verb: string,
  describe: string,
  change: (store: Store, id: number, now: number) => Promise<Campaign>,
): CommandModule<GlobalArgs, GlobalArgs & { id: number }> {
  return {
    command: `${verb} <id>`,
    describe,
    builder: (y) => withJson(y).positional('id', { type: 'number', describe: 'campaign id' }) as any,
    handler: (a) =>
      withStore(a, async (store) => {
        const c = await change(store, parseId(a.id), now());
        if (a.json) return printJson(statusJson((await store.summaries([c.id], now()))[0]!, now(), observer));
        process.stdout.write(`campaign ${c.id} is ${c.status}\n`);
      }),
  };
}

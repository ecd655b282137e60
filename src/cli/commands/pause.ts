import type { CommandModule } from 'yargs';
import { pauseCampaign } from '../../core/campaigns.js';
import { statusJson } from '../../core/status.js';
import { type GlobalArgs, now, parseId, printJson, withJson, withStore } from '../context.js';

export const pauseCommand: CommandModule<GlobalArgs, GlobalArgs & { id: number }> = {
  command: 'pause <id>',
  describe: 'pause a sending campaign (runners claim nothing more)',
  builder: (y) => withJson(y).positional('id', { type: 'number', describe: 'campaign id' }) as any,
  handler: (a) =>
    withStore(a, async (store) => {
      const c = await pauseCampaign(store, parseId(a.id), now());
      if (a.json) return printJson(statusJson((await store.summaries([c.id]))[0]!));
      process.stdout.write(`campaign ${c.id} is ${c.status}\n`);
    }),
};

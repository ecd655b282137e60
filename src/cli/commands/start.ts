import type { CommandModule } from 'yargs';
import { startCampaign } from '../../core/campaigns.js';
import { statusJson } from '../../core/status.js';
import { type GlobalArgs, now, parseId, printJson, withJson, withStore } from '../context.js';

export const startCommand: CommandModule<GlobalArgs, GlobalArgs & { id: number }> = {
  command: 'start <id>',
  describe: 'start sending a draft campaign: draft → sending, first batch due at once',
  builder: (y) => withJson(y).positional('id', { type: 'number', describe: 'campaign id' }) as any,
  handler: (a) =>
    withStore(a, async (store) => {
      const c = await startCampaign(store, parseId(a.id), now());
      if (a.json) return printJson(statusJson((await store.summaries([c.id]))[0]!));
      process.stdout.write(`campaign ${c.id} is ${c.status}\n`);
    }),
};

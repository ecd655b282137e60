import type { CommandModule } from 'yargs';
import { requireCampaign } from '../../core/campaigns.js';
import { statusJson, statusLine } from '../../core/status.js';
import { type GlobalArgs, now, parseId, printJson, withJson, withStore } from '../context.js';

export interface StatusArgs extends GlobalArgs {
  id?: number;
}

export async function statusHandler(a: StatusArgs): Promise<void> {
  await withStore(a, async (store) => {
    if (a.id !== undefined) {
      const id = parseId(a.id);
      await requireCampaign(store, id);
      const [s] = await store.summaries([id]);
      if (a.json) return printJson(statusJson(s!));
      process.stdout.write(statusLine(s!, now()) + '\n');
      return;
    }
    const all = await store.summaries();
    if (a.json) return printJson(all.map(statusJson));
    if (all.length === 0) process.stdout.write('no campaigns yet (try: aremko-mail demo)\n');
    for (const s of all) process.stdout.write(statusLine(s, now()) + '\n');
  });
}

export const statusCommand: CommandModule<GlobalArgs, StatusArgs> = {
  command: 'status [id]',
  describe: 'where is it? one line per campaign, or JSON',
  builder: (y) => withJson(y).positional('id', { type: 'number', describe: 'campaign id (default: all)' }) as any,
  handler: statusHandler,
};

import type { CommandModule } from 'yargs';
import { requireCampaign } from '../../core/campaigns.js';
import { statusJson, statusLine } from '../../core/status.js';
import { type GlobalArgs, now, observer, parseId, printJson, withJson, withStore } from '../context.js';

export interface StatusArgs extends GlobalArgs {
  id?: number;
}

export async function statusHandler(a: StatusArgs): Promise<void> {
  await withStore(a, async (store) => {
    if (a.id !== undefined) {
      const id = parseId(a.id);
      await requireCampaign(store, id);
      const at = now();
      const [s] = await store.summaries([id], at);
      if (a.json) return printJson(statusJson(s!, at, observer));
      process.stdout.write(statusLine(s!, at, observer) + '\n');
      return;
    }
    const at = now();
    const all = await store.summaries(undefined, at);
    if (a.json) return printJson(all.map((s) => statusJson(s, at, observer)));
    if (all.length === 0) process.stdout.write('no campaigns yet (try: aremko-mail demo)\n');
    for (const s of all) process.stdout.write(statusLine(s, at, observer) + '\n');
  });
}

export const statusCommand: CommandModule<GlobalArgs, StatusArgs> = {
  command: 'status [id]',
  describe: 'where is it? one line per campaign, or JSON',
  builder: (y) => withJson(y).positional('id', { type: 'number', describe: 'campaign id (default: all)' }) as any,
  handler: statusHandler,
};

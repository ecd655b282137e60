import type { CommandModule } from 'yargs';
import { createDemoCampaign, DEFAULT_DEMO_RECIPIENTS, DEMO_CAMPAIGN_NAME, findDemoCampaign, MAX_DEMO_RECIPIENTS } from '../../core/demo.js';
import { UserError } from '../../core/types.js';
import { type GlobalArgs, now, printJson, withJson, withStore } from '../context.js';

interface DemoArgs extends GlobalArgs {
  recipients: number;
  'if-missing'?: boolean;
}

/** Shell-quotes a path for a copy-pasteable hint. */
const quote = (s: string) => (/^[\w./:@-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

export const demoCommand: CommandModule<GlobalArgs, DemoArgs> = {
  command: 'demo',
  describe: `create the demo draft campaign "${DEMO_CAMPAIGN_NAME}" (sample recipients on example.com/.net/.org)`,
  builder: (y) =>
    withJson(y)
      .option('recipients', {
        type: 'number',
        default: DEFAULT_DEMO_RECIPIENTS,
        describe: `how many sample recipients (1–${MAX_DEMO_RECIPIENTS})`,
      })
      .option('if-missing', {
        type: 'boolean',
        describe: 'if a demo campaign already exists, print its id and create nothing',
      })
      .epilogue(
        'Prints the campaign id alone on stdout (so `id=$(aremko-mail demo)` works); next steps go to stderr. ' +
          'Batches of 50 every 30 s; send it to a folder of .eml files: ' +
          'aremko-mail start <id> && aremko-mail run --campaign <id> --transport outbox:data/outbox',
      ) as any,
  handler: (a) =>
    withStore(a, async (store) => {
      const wanted = a.recipients;
      if (!Number.isInteger(wanted) || wanted < 1 || wanted > MAX_DEMO_RECIPIENTS)
        throw new UserError(`--recipients must be a whole number from 1 to ${MAX_DEMO_RECIPIENTS}, not "${wanted}"`, 2);

      const existing = a['if-missing'] ? await findDemoCampaign(store) : null;
      let id: number;
      let recipients: number;
      if (existing) {
        id = existing.id;
        recipients = (await store.summaries([id]))[0]!.counts.total;
      } else {
        const created = await createDemoCampaign(store, wanted, now());
        id = created.campaign.id;
        recipients = created.recipients;
      }

      if (a.json) return printJson({ id, recipients, created: !existing });
      process.stdout.write(`${id}\n`);
      const db = a.db ? ` --db ${quote(a.db)}` : '';
      process.stderr.write(
        (existing
          ? `the demo campaign already exists: ${id} (${recipients} recipients, ${existing.status}); nothing created\n`
          : `created the draft campaign ${id} "${DEMO_CAMPAIGN_NAME}" with ${recipients} recipients\n`) +
          `next:\n` +
          `  aremko-mail${db} preview ${id}\n` +
          `  aremko-mail${db} start ${id}\n` +
          `  aremko-mail${db} run --campaign ${id} --transport outbox:data/outbox\n`,
      );
    }),
};

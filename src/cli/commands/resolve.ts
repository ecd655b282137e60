import type { CommandModule } from 'yargs';
import { parseAddressFlag, requireCampaign } from '../../core/campaigns.js';
import { statusJson } from '../../core/status.js';
import { ConfigError, UserError } from '../../core/types.js';
import { type GlobalArgs, now, observer, parseId, printJson, withJson, withStore } from '../context.js';

interface ResolveArgs extends GlobalArgs {
  id: number;
  resend?: boolean;
  'mark-sent'?: boolean;
  email?: string[];
}

export const resolveCommand: CommandModule<GlobalArgs, ResolveArgs> = {
  command: 'resolve <id>',
  describe: 'decide about in_doubt recipients: send them again, or mark them sent',
  builder: (y) =>
    withJson(y)
      .positional('id', { type: 'number', describe: 'campaign id' })
      .option('resend', { type: 'boolean', describe: 'in_doubt → pending (same Message-ID); a completed campaign goes back to sending' })
      .option('mark-sent', { type: 'boolean', describe: 'in_doubt → sent' })
      .option('email', { type: 'string', array: true, describe: 'only these in_doubt recipients (repeat, or list several)' })
      .epilog('An in_doubt recipient may or may not have received the message: the connection was lost after the data went out, or its runner died. Check the server logs for its Message-ID (aremko-mail export <id> --status in_doubt) before choosing.') as any,
  handler: (a) =>
    withStore(a, async (store) => {
      if (Boolean(a.resend) === Boolean(a['mark-sent'])) throw new ConfigError('resolve needs exactly one of --resend or --mark-sent');
      const id = parseId(a.id);
      await requireCampaign(store, id);
      const mode = a.resend ? 'resend' : 'mark-sent';
      const emails = (a.email ?? []).map((e) => parseAddressFlag(String(e), '--email').address);
      if (a.email && emails.length === 0) throw new ConfigError('--email needs at least one address');
      if (emails.length > 0) {
        // Name the addresses that are not in doubt: a typo must not pass for "nothing to do".
        const notInDoubt: string[] = [];
        for (const e of emails) if ((await store.getRecipient(id, e))?.status !== 'in_doubt') notInDoubt.push(e);
        if (notInDoubt.length > 0) throw new UserError(`not in_doubt recipients of campaign ${id}: ${notInDoubt.join(', ')}; nothing was changed`);
      }
      const changed = await store.resolveInDoubt(id, mode, now(), emails.length > 0 ? emails : undefined);
      const [s] = await store.summaries([id], now());
      if (a.json) return printJson({ resolved: changed, mode, campaign: statusJson(s!, now(), observer) });
      process.stdout.write(
        changed === 0
          ? `campaign ${id} has no in_doubt recipients\n`
          : `${changed} in_doubt recipient(s) ${mode === 'resend' ? 'will be sent again by the next run' : 'marked sent'}; campaign ${id} is ${s!.campaign.status}\n`,
      );
    }),
};

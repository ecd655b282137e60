import type { CommandModule } from 'yargs';
import { isValidAddress, requireCampaign } from '../../core/campaigns.js';
import { resolveTransportUrl } from '../../core/config.js';
import { UserError } from '../../core/types.js';
import { type GlobalArgs, parseId, printJson, withJson, withStore } from '../context.js';

interface SendTestArgs extends GlobalArgs {
  id: number;
  to: string;
  email?: string;
  transport?: string;
}

export const sendTestCommand: CommandModule<GlobalArgs, SendTestArgs> = {
  command: 'send-test <id>',
  describe: "send one rendered message to an address of yours; no recipient changes",
  builder: (y) =>
    withJson(y)
      .positional('id', { type: 'number', describe: 'campaign id' })
      .option('to', { type: 'string', demandOption: true, describe: 'where to send the test' })
      .option('email', { type: 'string', describe: 'render with this recipient\'s fields (default: the first recipient)' }) as any,
  handler: (a) =>
    withStore(a, async (store) => {
      const [{ MessageBuilder }, { createTransport, parseTransportUrl }] = await Promise.all([
        import('../../core/message.js'),
        import('../../core/transport/index.js'),
      ]);
      const campaign = await requireCampaign(store, parseId(a.id));
      if (!isValidAddress(a.to)) throw new UserError(`--to: "${a.to}" is not an email address`, 2);
      const config = parseTransportUrl(resolveTransportUrl(a.transport));
      const recipient = a.email ? await store.getRecipient(campaign.id, a.email) : await store.firstRecipient(campaign.id);
      if (!recipient)
        throw new UserError(a.email ? `${a.email} is not a recipient of campaign ${campaign.id}` : `campaign ${campaign.id} has no recipients to render with (import some first)`);
      // Message-ID of its own: a test must never share the real recipient's id.
      const message = await new MessageBuilder(campaign).build({ ...recipient, id: -Date.now() }, a.to);
      const transport = createTransport(config);
      try {
        const outcome = await transport.send({ from: message.envelopeFrom, to: a.to, raw: message.raw, messageId: message.messageId });
        if (a.json) printJson({ to: a.to, transport: config.display, message_id: message.messageId, outcome });
        else process.stdout.write(`${outcome.kind === 'sent' ? 'sent' : outcome.kind} to ${a.to} via ${config.display}: ${'response' in outcome ? outcome.response : outcome.error}\n`);
        if (outcome.kind === 'unavailable') return 75;
        return outcome.kind === 'sent' ? 0 : 1;
      } finally {
        await transport.close();
      }
    }),
};

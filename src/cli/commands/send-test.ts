import type { CommandModule } from 'yargs';
import { parseAddressFlag, requireCampaign } from '../../core/campaigns.js';
import { resolveTransportUrl } from '../../core/config.js';
import { UserError } from '../../core/types.js';
import { type GlobalArgs, parseId, printJson, withJson, withStore } from '../context.js';

interface SendTestArgs extends GlobalArgs {
  id: number;
  to: string;
  email?: string;
  transport?: string;
  'dkim-key'?: string;
  'dkim-selector'?: string;
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
      const [{ MessageBuilder, idempotencyKeyFor }, { createTransport, parseTransportUrl }, { loadDkim }] = await Promise.all([
        import('../../core/message.js'),
        import('../../core/transport/index.js'),
        import('../../core/dkim.js'),
      ]);
      const campaign = await requireCampaign(store, parseId(a.id));
      const to = parseAddressFlag(a.to, '--to').address;
      const email = a.email === undefined ? undefined : parseAddressFlag(a.email, '--email').address;
      // (a URL kept in a file was read into --transport by main.ts)
      const config = parseTransportUrl(resolveTransportUrl(a.transport));
      const dkim = loadDkim({ dkimKey: a['dkim-key'], dkimSelector: a['dkim-selector'] });
      const recipient = email ? await store.getRecipient(campaign.id, email) : await store.firstRecipient(campaign.id);
      if (!recipient)
        throw new UserError(email ? `${email} is not a recipient of campaign ${campaign.id}` : `campaign ${campaign.id} has no recipients to render with (import some first)`);
      // Message-ID (and idempotency key) of its own: a test must never share the real recipient's.
      const testId = -Date.now();
      const transport = createTransport(config);
      try {
        const message = await new MessageBuilder(campaign, { dkim }).build({ ...recipient, id: testId }, to, { mime: transport.takes !== 'parts' });
        const outcome = await transport.send({
          from: message.envelopeFrom,
          to,
          raw: message.raw,
          messageId: message.messageId,
          parts: message.parts,
          idempotencyKey: idempotencyKeyFor(campaign, testId),
          idempotentUntil: transport.idempotencyWindowMs === null ? null : Date.now() + transport.idempotencyWindowMs,
        });
        const providerId = outcome.kind === 'sent' ? (outcome.providerId ?? null) : null;
        if (a.json) printJson({ to, transport: config.display, message_id: message.messageId, provider_id: providerId, outcome });
        else {
          const detail =
            outcome.kind === 'sent' ? outcome.response : outcome.kind === 'throttled' ? `${outcome.error} (wait until ${new Date(outcome.until).toISOString()})` : outcome.error;
          process.stdout.write(`${outcome.kind} to ${to} via ${config.display}: ${detail}\n`);
        }
        // 75: the service could not be used or reached (nothing was tried on the recipient's behalf)
        if (outcome.kind === 'unavailable' || (outcome.kind === 'retry' && outcome.notSent)) return 75;
        return outcome.kind === 'sent' ? 0 : 1;
      } finally {
        await transport.close();
      }
    }),
};

import type { CommandModule } from 'yargs';
import { requireCampaign } from '../../core/campaigns.js';
import type { OutgoingMessage } from '../../core/message.js';
import type { Store } from '../../core/store.js';
import type { Campaign, Recipient } from '../../core/types.js';
import { UserError } from '../../core/types.js';
import { type GlobalArgs, parseId, printJson, withJson, withStore } from '../context.js';

interface PreviewArgs extends GlobalArgs {
  id: number;
  email?: string;
}

async function chooseRecipient(store: Store, campaign: Campaign, email: string | undefined): Promise<Recipient> {
  if (email !== undefined) {
    const r = await store.getRecipient(campaign.id, email);
    if (!r) throw new UserError(`${email.trim()} is not a recipient of campaign ${campaign.id}`);
    return r;
  }
  const first = await store.firstRecipient(campaign.id);
  if (first) return first;
  const total = (await store.summaries([campaign.id]))[0]!.counts.total;
  throw new UserError(
    total === 0
      ? `campaign ${campaign.id} has no recipients yet (import some: aremko-mail import ${campaign.id} <file.csv>)`
      : `every recipient of campaign ${campaign.id} is suppressed; preview one with --email <addr>`,
  );
}

/**
 * The headers an operator checks, with the values handed to the composer: readable (the raw
 * message carries the subject RFC 2047-encoded). Absent ones are left out.
 */
function readableHeaders(campaign: Campaign, m: OutgoingMessage): Record<string, string> {
  return {
    From: m.from,
    To: m.to,
    ...(campaign.replyTo ? { 'Reply-To': campaign.replyTo } : {}),
    Subject: m.subject,
    'Message-ID': m.messageId,
    ...m.headers,
  };
}

function rule(title: string): string {
  return `── ${title} ${'─'.repeat(Math.max(4, 72 - title.length))}\n`;
}

export const previewCommand: CommandModule<GlobalArgs, PreviewArgs> = {
  command: 'preview <id>',
  describe: 'show the rendered message for one recipient: headers, text part, html source',
  builder: (y) =>
    withJson(y)
      .positional('id', { type: 'number', describe: 'campaign id' })
      .option('email', { type: 'string', describe: 'the recipient to render (default: the first one not suppressed)' })
      .epilogue(
        'Nothing is sent and nothing changes. --json prints ' +
          '{"to", "from", "subject", "message_id", "headers": {…}, "text", "html"}.',
      ) as any,
  handler: (a) =>
    withStore(
      a,
      async (store) => {
        const campaign = await requireCampaign(store, parseId(a.id));
        const recipient = await chooseRecipient(store, campaign, a.email);
        // nodemailer and the template engines load only for the commands that render.
        const { MessageBuilder } = await import('../../core/message.js');
        const message = await new MessageBuilder(campaign).build(recipient);
        const headers = readableHeaders(campaign, message);
        if (a.json) {
          return printJson({
            to: message.to,
            from: message.from,
            subject: message.subject,
            message_id: message.messageId,
            headers,
            text: message.content.text,
            html: message.content.html,
          });
        }
        const width = Math.max(...Object.keys(headers).map((k) => k.length)) + 1;
        const out = [
          rule(`headers · campaign ${campaign.id} · recipient ${recipient.email} (${recipient.status})`),
          ...Object.entries(headers).map(([k, v]) => `${`${k}:`.padEnd(width)} ${v}\n`),
          rule('text part'),
          message.content.text.replace(/\n*$/, '\n'),
          rule('html part (source)'),
          message.content.html.replace(/\n*$/, '\n'),
        ];
        process.stdout.write(out.join(''));
      },
      { mustExist: true },
    ),
};

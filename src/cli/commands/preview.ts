import type { CommandModule } from 'yargs';
import { parseAddressFlag, requireCampaign } from '../../core/campaigns.js';
import type { MessageBuilder, OutgoingMessage } from '../../core/message.js';
import { printable } from '../../core/printable.js';
import type { Store } from '../../core/store.js';
import type { Campaign, Recipient } from '../../core/types.js';
import { UserError } from '../../core/types.js';
import { type GlobalArgs, parseId, printJson, withJson, withStore } from '../context.js';
import { singleValued } from './import.js';

interface PreviewArgs extends GlobalArgs {
  id: number;
  email?: string;
}

async function chooseRecipient(store: Store, campaign: Campaign, email: string | undefined): Promise<Recipient> {
  if (email !== undefined) {
    const { address } = parseAddressFlag(email, '--email');
    const r = await store.getRecipient(campaign.id, address);
    if (!r) throw new UserError(`${address} is not a recipient of campaign ${campaign.id}`);
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

/**
 * The message, or a one-line reason it cannot be rendered (exit 1): a campaign stored before
 * its templates were checked at create (a partial, an unknown helper), or this recipient's data.
 */
async function renderFor(campaign: Campaign, recipient: Recipient): Promise<OutgoingMessage> {
  // nodemailer and the template engines load only for the commands that render.
  const [{ MessageBuilder }, { TemplateError }] = await Promise.all([import('../../core/message.js'), import('../../core/templates.js')]);
  let builder: MessageBuilder;
  try {
    builder = new MessageBuilder(campaign);
  } catch (err) {
    if (err instanceof TemplateError) throw new UserError(`campaign ${campaign.id} cannot be rendered: ${err.message}`);
    throw err;
  }
  try {
    return await builder.build(recipient);
  } catch (err) {
    if (err instanceof TemplateError) throw new UserError(`campaign ${campaign.id}: the message for ${printable(recipient.email)} cannot be rendered: ${err.message}`);
    throw err;
  }
}

/** Text from the campaign and the recipient's fields, shown harmlessly on a terminal. */
const shown = (text: string) => printable(text, { keep: '\n\t' });

function rule(title: string): string {
  return `── ${title} ${'─'.repeat(Math.max(4, 72 - title.length))}\n`;
}

export const previewCommand: CommandModule<GlobalArgs, PreviewArgs> = {
  command: 'preview <id>',
  describe: 'show the rendered message for one recipient: headers, text part, html source',
  builder: (y) =>
    singleValued(withJson(y), ['email'])
      .positional('id', { type: 'number', describe: 'campaign id' })
      .option('email', { type: 'string', describe: 'the recipient to render (default: the first one not suppressed)' })
      .epilogue(
        'Nothing is sent and nothing changes. Control characters in the campaign or the recipient\'s ' +
          'fields are shown as escapes (\\x1b), never sent to the terminal. --json prints ' +
          '{"to", "from", "subject", "message_id", "headers": {…}, "text", "html"}.\n\n' +
          'Exit codes: 0 shown; 1 the campaign or recipient does not exist, or the message cannot be ' +
          'rendered (the reason on one line); 2 bad usage (--email must be one address).',
      ) as any,
  handler: (a) =>
    withStore(
      a,
      async (store) => {
        const campaign = await requireCampaign(store, parseId(a.id));
        const recipient = await chooseRecipient(store, campaign, a.email);
        const message = await renderFor(campaign, recipient);
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
          rule(`headers · campaign ${campaign.id} · recipient ${printable(recipient.email)} (${recipient.status})`),
          ...Object.entries(headers).map(([k, v]) => `${`${k}:`.padEnd(width)} ${printable(v)}\n`),
          rule('text part'),
          shown(message.content.text).replace(/\n*$/, '\n'),
          rule('html part (source)'),
          shown(message.content.html).replace(/\n*$/, '\n'),
        ];
        process.stdout.write(out.join(''));
      },
      { mustExist: true },
    ),
};

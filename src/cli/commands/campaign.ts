import { readFileSync } from 'node:fs';
import type { CommandModule } from 'yargs';
import { createCampaign, requireCampaign } from '../../core/campaigns.js';
import { printable } from '../../core/printable.js';
import {
  describeCountRange,
  describeDurationRange,
  formatDuration,
  formatRate,
  LIMITS,
  parseCountFlag,
  parseDurationFlag,
  parseRate,
  parseWindow,
} from '../../core/duration.js';
import { statusJson } from '../../core/status.js';
import type { Campaign, CampaignSettings } from '../../core/types.js';
import { UserError } from '../../core/types.js';
import { type GlobalArgs, now, observer, parseId, printJson, withJson, withStore } from '../context.js';
import { singleValued } from './import.js';

function readTemplate(path: string, flag: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new UserError(`${flag}: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, 2);
  }
}

function campaignJson(c: Campaign) {
  return {
    id: c.id,
    name: c.name,
    status: c.status,
    subject: c.subject,
    from: c.from,
    reply_to: c.replyTo,
    batch_size: c.batchSize,
    interval_seconds: c.intervalSeconds,
    rate: c.rate ? formatRate(c.rate) : null,
    window: c.window ? `${c.window.start}-${c.window.end}` : null,
    tz: c.timeZone,
    unsubscribe: c.unsubscribe,
    max_attempts: c.maxAttempts,
    retry_delay_seconds: c.retryDelaySeconds,
    created_at: new Date(c.createdAt).toISOString(),
  };
}

interface CreateArgs extends GlobalArgs {
  name: string;
  subject: string;
  from: string;
  html: string;
  text?: string;
  'reply-to'?: string;
  'batch-size': string;
  interval: string;
  rate?: string;
  window?: string;
  tz?: string;
  unsubscribe?: string;
  'max-attempts': string;
  'retry-delay': string;
}

const create: CommandModule<GlobalArgs, CreateArgs> = {
  command: 'create',
  describe: 'create a draft campaign',
  builder: (y) =>
    singleValued(withJson(y), [
      'name', 'subject', 'from', 'html', 'text', 'reply-to', 'batch-size', 'interval', 'rate', 'window', 'tz',
      'unsubscribe', 'max-attempts', 'retry-delay',
    ])
      .option('name', { type: 'string', demandOption: true, describe: 'name shown in lists' })
      .option('subject', { type: 'string', demandOption: true, describe: 'subject template, e.g. "Hola {{nombre}}"' })
      .option('from', { type: 'string', demandOption: true, describe: 'sender, e.g. "Aremko Spa <hola@aremko.cl>"' })
      .option('html', { type: 'string', demandOption: true, describe: 'file with the html template' })
      .option('text', { type: 'string', describe: 'file with the text template (default: made from the html)' })
      .option('reply-to', { type: 'string', describe: 'Reply-To address' })
      .option('batch-size', { type: 'string', default: '50', describe: `recipients per batch (${describeCountRange(LIMITS.batchSize)})` })
      .option('interval', {
        type: 'string',
        default: '12m',
        describe: `pause between batches: 90s, 12m, 1h, 2d or seconds (${describeDurationRange(LIMITS.interval)})`,
      })
      .option('rate', { type: 'string', describe: `at most n messages per s|m|h|d, e.g. 200/h (n ${describeCountRange(LIMITS.rateCount)})` })
      .option('window', { type: 'string', describe: 'send only between HH:MM-HH:MM (needs --tz)' })
      .option('tz', { type: 'string', describe: 'IANA time zone of --window, e.g. America/Santiago' })
      .option('unsubscribe', { type: 'string', describe: 'https URL or mailto: for List-Unsubscribe; {{email}} is replaced' })
      .option('max-attempts', {
        type: 'string',
        default: '5',
        describe: `attempts before a temporary failure becomes failed (${describeCountRange(LIMITS.maxAttempts)})`,
      })
      .option('retry-delay', {
        type: 'string',
        default: '1m',
        describe: `first retry delay, doubled at each attempt (${describeDurationRange(LIMITS.retryDelay)})`,
      })
      .epilogue(
        'A value out of its range is refused (exit 2) naming the flag, before anything is stored. ' +
          'Templates: subject, html and text are Handlebars over the recipient\'s fields; partials, ' +
          'unknown helpers and templates over their size limit are refused here, naming the template.',
      ) as any,
  handler: (a) =>
    withStore(a, async (store) => {
      const settings: CampaignSettings = {
        name: a.name,
        subject: a.subject,
        from: a.from,
        replyTo: a['reply-to'] ?? null,
        html: readTemplate(a.html, '--html'),
        text: a.text ? readTemplate(a.text, '--text') : null,
        batchSize: parseCountFlag(a['batch-size'], '--batch-size', LIMITS.batchSize),
        intervalSeconds: parseDurationFlag(a.interval, '--interval', LIMITS.interval),
        rate: a.rate ? parseRate(a.rate) : null,
        window: a.window ? parseWindow(a.window) : null,
        timeZone: a.tz ?? null,
        unsubscribe: a.unsubscribe ?? null,
        maxAttempts: parseCountFlag(a['max-attempts'], '--max-attempts', LIMITS.maxAttempts),
        retryDelaySeconds: parseDurationFlag(a['retry-delay'], '--retry-delay', LIMITS.retryDelay),
      };
      const c = await createCampaign(store, settings, now());
      if (a.json) printJson(campaignJson(c));
      else process.stdout.write(`${c.id}\n`);
    }),
};

const list: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'list',
  describe: 'list campaigns',
  builder: (y) => withJson(y),
  handler: (a) =>
    withStore(a, async (store) => {
      const at = now();
      const all = await store.summaries(undefined, at);
      if (a.json) return printJson(all.map((s) => statusJson(s, at, observer)));
      if (all.length === 0) return void process.stdout.write('no campaigns yet (create one: aremko-mail campaign create --help)\n');
      for (const s of all) {
        const c = s.campaign;
        process.stdout.write(
          `${String(c.id).padStart(4)}  ${c.status.padEnd(9)}  ${String(s.counts.sent).padStart(7)}/${String(s.counts.total).padEnd(7)}  ${printable(c.name)}\n`,
        );
      }
    }),
};

const show: CommandModule<GlobalArgs, GlobalArgs & { id: number }> = {
  command: 'show <id>',
  describe: "show a campaign's settings",
  builder: (y) => withJson(y).positional('id', { type: 'number', describe: 'campaign id' }) as any,
  handler: (a) =>
    withStore(a, async (store) => {
      const c = await requireCampaign(store, parseId(a.id));
      const j = campaignJson(c);
      if (a.json) return printJson({ ...j, html: c.html, text: c.text });
      // Stored text is shown harmlessly: campaigns stored before the checks at create may hold anything.
      const lines = [
        `campaign ${c.id}: ${printable(c.name)} (${c.status})`,
        `  from:        ${printable(c.from)}${c.replyTo ? `  (reply-to ${printable(c.replyTo)})` : ''}`,
        `  subject:     ${printable(c.subject)}`,
        `  batches:     ${c.batchSize} every ${formatDuration(c.intervalSeconds)}`,
        `  rate:        ${j.rate ?? 'none'}`,
        `  window:      ${j.window ? `${j.window} ${printable(c.timeZone ?? '')}` : 'any time'}`,
        `  retries:     up to ${c.maxAttempts} attempts, first after ${formatDuration(c.retryDelaySeconds)}, doubling`,
        `  unsubscribe: ${c.unsubscribe === null ? 'none' : printable(c.unsubscribe)}`,
        `  text part:   ${c.text ? 'own template' : 'made from the html'}`,
        `  created:     ${j.created_at}`,
      ];
      process.stdout.write(lines.join('\n') + '\n');
    }, { mustExist: true }),
};

export const campaignCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'campaign <command>',
  describe: 'create, list and show campaigns',
  builder: (y) => y.command(create as any).command(list as any).command(show as any).demandCommand(1),
  handler: () => undefined,
};

import type { CommandModule } from 'yargs';
import { requireCampaign } from '../../core/campaigns.js';
import { formatDuration, parseDurationFlag } from '../../core/duration.js';
import { UserError } from '../../core/types.js';
import { type GlobalArgs, now, parseId, printJson, withJson, withStore } from '../context.js';

interface PruneArgs extends GlobalArgs {
  'older-than': string;
  campaign?: number;
}

const DAY = 86_400;
/**
 * The rate limit (--rate n/s|m|h|d, duration.ts) counts the attempts stored in the log over its
 * window, at most a day: rows younger than that must stay, or a campaign could send more than
 * its rate allows.
 */
const LONGEST_RATE_WINDOW = DAY;
/** Ten years: far past any log worth keeping, and still a date. */
const LONGEST_AGE = 3650 * DAY;

export const pruneCommand: CommandModule<GlobalArgs, PruneArgs> = {
  command: 'prune',
  describe: 'delete old log rows (events and send attempts); recipients, their status and campaigns stay',
  builder: (y) =>
    withJson(y)
      .option('older-than', { type: 'string', demandOption: true, describe: 'delete log rows older than this (90d, 48h; at least 1d)' })
      .option('campaign', { type: 'number', describe: 'only this campaign\'s log (default: every campaign\'s)' })
      .example('$0 prune --older-than 90d', 'keep the last 90 days of every log')
      .epilog(
        'What stays: every campaign and recipient (status, attempts, sent_at, Message-ID, provider id, last error), ' +
          'so status, export and resolve are unchanged. What goes: the log lines `logs` and the TUI show for that time, ' +
          'and a recipient\'s attempt history in the TUI. At least 1d: the rate limit counts the attempts of the last day ' +
          'from the log. The space is reused by new rows (SQLite keeps the file size; VACUUM shrinks it).',
      ) as any,
  handler: (a) =>
    withStore(
      a,
      async (store) => {
        const ageSeconds = parseDurationFlag(a['older-than'], '--older-than', { min: 0, max: LONGEST_AGE });
        if (ageSeconds < LONGEST_RATE_WINDOW)
          throw new UserError(
            `--older-than: "${a['older-than']}" is shorter than ${formatDuration(LONGEST_RATE_WINDOW)}: the rate limit counts the attempts of the last day from the log; give 1d or more`,
            2,
          );
        const campaignId = a.campaign === undefined ? undefined : parseId(a.campaign, '--campaign');
        if (campaignId !== undefined) await requireCampaign(store, campaignId);
        const before = now() - ageSeconds * 1000;
        const pruned = await store.pruneEvents(before, campaignId);
        const beforeIso = new Date(before).toISOString();
        if (a.json) return printJson({ pruned, before: beforeIso, campaign: campaignId ?? null });
        const where = campaignId === undefined ? 'every log' : `the log of campaign ${campaignId}`;
        process.stdout.write(`pruned ${pruned} log row(s) older than ${beforeIso} from ${where}; recipients untouched\n`);
      },
      { mustExist: true },
    ),
};

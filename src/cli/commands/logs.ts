import { setTimeout as sleep } from 'node:timers/promises';
import type { CommandModule } from 'yargs';
import { requireCampaign } from '../../core/campaigns.js';
import type { StoredEvent } from '../../core/types.js';
import { UserError } from '../../core/types.js';
import { type GlobalArgs, parseId, printJson, withJson, withStore } from '../context.js';

interface LogsArgs extends GlobalArgs {
  id: number;
  follow?: boolean;
  limit: number;
}

/** Polling the file is what works across processes (a runner elsewhere writes the events). */
const FOLLOW_POLL_MS = 500;
/** Events read per query while following, so a burst never loads unbounded rows at once. */
const FOLLOW_PAGE = 1000;

function eventJson(e: StoredEvent) {
  return { id: e.id, at: new Date(e.at).toISOString(), level: e.level, type: e.type, message: e.message, data: e.data };
}

/**
 * Text lines: time, level, type, message, in columns. The type column is as wide as the longest
 * type of the first page and widens (never narrows) for longer ones that follow.
 */
function textPrinter(firstPage: StoredEvent[]): (e: StoredEvent) => string {
  let typeWidth = Math.max(8, ...firstPage.map((e) => e.type.length));
  return (e) => {
    typeWidth = Math.max(typeWidth, e.type.length);
    // One event, one line: multi-line server replies are joined.
    const message = e.message.replace(/\s*\r?\n\s*/g, ' | ');
    return `${new Date(e.at).toISOString()}  ${e.level.padEnd(5)}  ${e.type.padEnd(typeWidth)}  ${message}\n`;
  };
}

/** Aborts on the first SIGINT/SIGTERM, or when stdout's reader goes away (`logs -f | head`). */
function stopOnSignal(): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const stop = () => controller.abort();
  const onStdoutError = (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') stop();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  process.stdout.on('error', onStdoutError);
  return {
    signal: controller.signal,
    dispose: () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      process.stdout.off('error', onStdoutError);
    },
  };
}

export const logsCommand: CommandModule<GlobalArgs, LogsArgs> = {
  command: 'logs <id>',
  describe: "a campaign's event log, oldest first (sends, batches, decisions, errors)",
  builder: (y) =>
    withJson(y)
      .positional('id', { type: 'number', describe: 'campaign id' })
      .option('limit', { alias: 'n', type: 'number', default: 50, describe: 'show the newest n events' })
      .option('follow', {
        alias: 'f',
        type: 'boolean',
        describe: 'keep printing new events as they are stored, until Ctrl-C (SIGINT) or SIGTERM',
      })
      .epilogue(
        'Text: one line per event (time UTC, level, type, message). --json: one array of ' +
          '{"id", "at", "level", "type", "message", "data"}; with --follow, one such object per line (JSON lines).',
      ) as any,
  handler: (a) =>
    withStore(
      a,
      async (store) => {
        const id = parseId(a.id);
        if (!Number.isInteger(a.limit) || a.limit < 1) throw new UserError(`--limit must be a whole number ≥ 1, not "${a.limit}"`, 2);
        await requireCampaign(store, id);
        const events = await store.listEvents(id, { limit: a.limit });

        if (!a.follow) {
          if (a.json) return printJson(events.map(eventJson));
          if (events.length === 0) process.stderr.write(`campaign ${id} has no events yet\n`);
          process.stdout.write(events.map(textPrinter(events)).join(''));
          return;
        }

        const line = a.json ? (e: StoredEvent) => JSON.stringify(eventJson(e)) + '\n' : textPrinter(events);
        const { signal, dispose } = stopOnSignal();
        try {
          let page = events;
          let lastId = 0;
          for (;;) {
            if (page.length > 0) {
              process.stdout.write(page.map(line).join(''));
              lastId = page[page.length - 1]!.id;
            }
            // A full page means more are waiting: read on without pausing.
            if (page.length < FOLLOW_PAGE) await sleep(FOLLOW_POLL_MS, undefined, { signal }).catch(() => undefined);
            if (signal.aborted) break;
            page = await store.listEvents(id, { afterId: lastId, limit: FOLLOW_PAGE });
          }
        } finally {
          dispose();
        }
      },
      { mustExist: true },
    ),
};

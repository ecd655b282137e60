import { createWriteStream, renameSync, rmSync } from 'node:fs';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { CommandModule } from 'yargs';
import { requireCampaign } from '../../core/campaigns.js';
import { printable } from '../../core/printable.js';
import type { Store } from '../../core/store.js';
import { RECIPIENT_STATUSES, type Recipient, type RecipientStatus, UserError } from '../../core/types.js';
import { type GlobalArgs, parseId, withStore } from '../context.js';
import { singleValued } from './import.js';

interface ExportArgs extends GlobalArgs {
  id: number;
  status?: RecipientStatus;
  output?: string;
  bom?: boolean;
  raw?: boolean;
}

/** The contract's columns, always first and in this order. */
const EXPORT_COLUMNS = ['email', 'status', 'attempts', 'sent_at', 'message_id', 'provider_id', 'last_error'] as const;

/**
 * A cell a spreadsheet would run as a formula — one starting with =, +, -, @, tab or CR (the
 * OWASP CSV-injection rule) — gets a leading ' so that it is shown as text. A recipient's fields
 * come from whoever filled in the form the CSV came from.
 */
export function neutralise(cell: string): string {
  return /^[=+\-@\t\r]/.test(cell) ? `'${cell}` : cell;
}

type Cell = string | number;

/**
 * The recipients' own CSV columns, in the order they first appear: after the contract's columns
 * they make the export a file that `import` takes back (e.g. the failed ones, fixed, into a new
 * campaign). Campaigns fed by several imports may differ per row, so this is one streaming pass
 * over the recipients before the rows are written; memory holds only the names.
 */
async function fieldNames(store: Store, campaignId: number, status: RecipientStatus | undefined): Promise<string[]> {
  const names = new Set<string>();
  for await (const r of store.iterateRecipients(campaignId, status)) for (const k of Object.keys(r.fields)) names.add(k);
  names.delete('email'); // the address column as imported: already the first column
  return [...names];
}

/** Another field named like a contract column (a CSV column "status", say) is kept as `field:<name>`. */
const fieldHeader = (name: string) => ((EXPORT_COLUMNS as readonly string[]).includes(name) ? `field:${name}` : name);

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

async function* csvRows(recipients: AsyncIterable<Recipient>, fields: string[], cell: (text: string) => string) {
  for await (const r of recipients) {
    const row: Cell[] = [
      r.email,
      r.status,
      r.attempts,
      iso(r.sentAt) ?? '',
      r.messageId ?? '',
      r.providerId ?? '',
      r.lastError ?? '',
      ...fields.map((f) => r.fields[f] ?? ''),
    ];
    yield row.map((c) => (typeof c === 'string' ? cell(c) : c));
  }
}

/** One JSON array, written element by element so that memory stays flat. */
async function* jsonArray(recipients: AsyncIterable<Recipient>) {
  let first = true;
  yield '[';
  for await (const r of recipients) {
    const { email: _address, ...fields } = r.fields;
    const row = {
      email: r.email,
      status: r.status,
      attempts: r.attempts,
      sent_at: iso(r.sentAt),
      message_id: r.messageId,
      provider_id: r.providerId,
      last_error: r.lastError,
      fields,
    };
    yield (first ? '\n  ' : ',\n  ') + JSON.stringify(row);
    first = false;
  }
  yield first ? ']\n' : '\n]\n';
}

async function* counted<T>(items: AsyncIterable<T>, tally: { rows: number }) {
  for await (const item of items) {
    tally.rows++;
    yield item;
  }
}

export const exportCommand: CommandModule<GlobalArgs, ExportArgs> = {
  command: 'export <id>',
  describe: 'CSV of the recipients: email, status, attempts, sent_at, message_id, provider_id, last_error, then their own columns',
  builder: (y) =>
    singleValued(y, ['status', 'output'])
      .positional('id', { type: 'number', describe: 'campaign id' })
      .option('status', { type: 'string', choices: RECIPIENT_STATUSES, describe: 'only recipients in this status' })
      .option('output', { alias: 'o', type: 'string', describe: 'write to this file (mode 0600) instead of stdout' })
      .option('bom', { type: 'boolean', describe: 'start the CSV with a UTF-8 byte order mark, so Excel shows accents right' })
      .option('raw', { type: 'boolean', describe: "cells exactly as stored: no ' before cells a spreadsheet would run as formulas" })
      .option('json', {
        type: 'boolean',
        describe:
          'one JSON array instead of CSV: {"email", "status", "attempts", "sent_at", "message_id", "provider_id", "last_error", "fields"}',
      })
      .conflicts('json', 'bom')
      .epilogue(
        'UTF-8, comma-separated, header row always. sent_at is ISO 8601 UTC (empty if not sent); ' +
          'provider_id is the id an HTTPS email API gave the message (empty for SMTP and outbox). ' +
          'The columns of the imported file follow the seven fixed ones, so an export can be imported again ' +
          '(a column named like a fixed one is renamed field:<name>). ' +
          "A cell starting with =, +, -, @, tab or CR gets a leading ' so that a spreadsheet shows it as " +
          'text instead of running it as a formula (OWASP CSV injection); --raw writes cells as stored. ' +
          'On a terminal, control characters are shown as escapes (\\x1b). ' +
          'Streams: memory stays flat however many recipients. With --output the file appears only once complete.',
      ) as any,
  handler: (a) =>
    withStore(
      a,
      async (store) => {
        const id = parseId(a.id);
        await requireCampaign(store, id);
        const tally = { rows: 0 };
        const recipients = counted(store.iterateRecipients(id, a.status), tally);
        let stages: [Readable, ...NodeJS.ReadWriteStream[]];
        if (a.json) {
          stages = [Readable.from(jsonArray(recipients))];
        } else {
          const fields = await fieldNames(store, id, a.status);
          const { stringify } = await import('csv-stringify'); // loaded only when exporting CSV
          // Escapes are for a person reading a terminal; a file or a pipe gets the cells as they are.
          const terminal = !a.output && process.stdout.isTTY === true;
          const cell = (text: string) => {
            const safe = a.raw ? text : neutralise(text);
            return terminal ? printable(safe, { keep: '\n' }) : safe;
          };
          const columns = [...EXPORT_COLUMNS, ...fields.map(fieldHeader)].map(cell);
          const csv = stringify({ header: true, columns, bom: a.bom ?? false });
          stages = [Readable.from(csvRows(recipients, fields, cell)), csv];
        }

        if (!a.output) {
          try {
            await pipeline([...stages, process.stdout as Writable], { end: false });
          } catch (err) {
            // `export … | head` closes the pipe early: not a failure of the export.
            if ((err as NodeJS.ErrnoException).code !== 'EPIPE') throw err;
          }
          return;
        }
        // Written beside the target and renamed when complete: a reader never sees half a file.
        const partial = `${a.output}.partial-${process.pid}`;
        try {
          await pipeline([...stages, createWriteStream(partial, { mode: 0o600 })]);
          renameSync(partial, a.output);
        } catch (err) {
          rmSync(partial, { force: true });
          const e = err as NodeJS.ErrnoException;
          throw e.syscall ? new UserError(`--output: cannot write ${a.output}: ${e.code ?? e.message}`) : err;
        }
        process.stderr.write(`exported ${tally.rows} recipient${tally.rows === 1 ? '' : 's'} of campaign ${id} to ${a.output}\n`);
      },
      { mustExist: true },
    ),
};

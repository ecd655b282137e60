/**
 * Address files into a campaign (recipients) or onto the suppression list. Reading the file —
 * encoding, delimiter, line endings, line numbers — is address-file.ts; this module stages what it
 * reads in one transaction and commits only a file read to its end.
 */
import { basename } from 'node:path';
import { type AddressInput, type FileFormat, type InvalidLine, openAddressFile } from './address-file.js';
import { requireCampaign } from './campaigns.js';
import type { FileEncoding } from './encoding.js';
import type { ImportCounts, StagedRecipient, Store } from './store.js';
import { UserError } from './types.js';

export type { AddressInput, AddressRow, FileFormat, InvalidLine } from './address-file.js';
export { openAddressFile } from './address-file.js';
export type { FileEncoding } from './encoding.js';

export interface ImportOptions {
  emailColumn?: string;
  /** Read the file in this encoding instead of detecting it. */
  encoding?: FileEncoding;
  now: number;
}

/** The file's name for the event log: its base name, or "standard input". */
const logName = (input: AddressInput) => (typeof input === 'string' ? basename(input) : input.name);

export interface ImportReport extends ImportCounts {
  invalid: InvalidLine[];
  format: FileFormat;
  /** The campaign was completed and went back to `sending` for its new recipients. */
  reopened: boolean;
}

/**
 * Imports a CSV into a campaign in one transaction: rows are staged as they stream in, and only
 * a file read to its end is committed. Any failure leaves the campaign exactly as it was.
 */
export async function importRecipients(
  store: Store,
  campaignId: number,
  input: AddressInput,
  options: ImportOptions,
): Promise<ImportReport> {
  const campaign = await requireCampaign(store, campaignId);
  if (campaign.status === 'cancelled')
    throw new UserError(`campaign ${campaignId} is cancelled: nothing can be imported into it (create a new campaign)`);
  const file = await openAddressFile(input, { emailColumn: options.emailColumn, encoding: options.encoding });
  const invalid: InvalidLine[] = [];
  const session = await store.beginImport(campaignId);
  let counts: ImportCounts;
  try {
    for await (const batch of file.batches()) {
      const staged: StagedRecipient[] = [];
      for (const row of batch) {
        if (row.kind === 'invalid') invalid.push({ line: row.line, value: row.value, reason: row.reason });
        else staged.push({ line: row.line, email: row.email, fields: row.fields });
      }
      if (staged.length > 0) await session.add(staged);
    }
    counts = await session.commit();
  } catch (err) {
    await session.abort();
    throw err;
  }
  // Only a completed campaign moves; the store checks its status inside the transition.
  const reopened = counts.imported > 0 && (await store.transition(campaignId, ['completed'], 'sending', options.now)).ok;
  await store.addEvent({ type: 'import', campaignId, at: options.now, file: logName(input), ...counts, invalid: invalid.length });
  return { ...counts, invalid, format: file.format, reopened };
}

export interface SuppressionImportReport {
  added: number;
  /** Valid addresses already on the list, or repeated in the file. */
  duplicates: number;
  invalid: InvalidLine[];
  format: FileFormat;
}

/**
 * Puts every valid address of a CSV (or of a plain list, one address per line) on the
 * suppression list, all in one transaction once the whole file has been read.
 */
export async function importSuppressions(
  store: Store,
  input: AddressInput,
  options: ImportOptions & { reason: string },
): Promise<SuppressionImportReport> {
  const file = await openAddressFile(input, { emailColumn: options.emailColumn, encoding: options.encoding, allowPlainList: true });
  const addresses: string[] = [];
  const invalid: InvalidLine[] = [];
  for await (const batch of file.batches()) {
    for (const row of batch) {
      if (row.kind === 'invalid') invalid.push({ line: row.line, value: row.value, reason: row.reason });
      else addresses.push(row.email);
    }
  }
  const added = await store.addSuppressions(addresses, options.reason, options.now);
  return { added, duplicates: addresses.length - added, invalid, format: file.format };
}

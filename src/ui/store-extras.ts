/**
 * What the failed / in-doubt list, a recipient's history and the pictures read from the store:
 * part of the Store contract, named here so a test can hand the controller a counting wrapper.
 */
import type { Store } from '../core/store.js';

export type { BatchStats as BatchStat, RecipientQuery } from '../core/store.js';

export type UiStoreExtras = Pick<Store, 'listRecipients' | 'recipientHistory' | 'activity' | 'batchStats' | 'resolveInDoubt'>;

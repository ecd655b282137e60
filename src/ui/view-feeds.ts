/**
 * What the failed / in-doubt list, a recipient's history and the pictures read, for the
 * controller: only what the screen on show needs (`watch…`), the newest watch winning over reads
 * still under way, and the pictures at most every few seconds. Results go to the controller's
 * snapshot through `publish`.
 */
import type { Store } from '../core/store.js';
import type { Recipient, StoredEvent } from '../core/types.js';
import type { Snapshot } from './controller.js';
import type { BatchStat, RecipientQuery, UiStoreExtras } from './store-extras.js';

/** One page of the failed / in-doubt list, as asked for by `watchRecipients`. */
export interface RecipientPage {
  campaignId: number;
  query: RecipientQuery;
  total: number;
  rows: Recipient[];
}

/** Every attempt and answer of one recipient, oldest first. */
export interface RecipientHistory {
  campaignId: number;
  recipientId: number;
  email: string;
  /** As it is now; null when it no longer exists. */
  recipient: Recipient | null;
  events: StoredEvent[];
}

export interface Pictures {
  campaignId: number;
  /** When `perMinute` was read: its last minute ends here. */
  at: number;
  /** Messages sent per minute over the last `PICTURE_MINUTES`, oldest first. */
  perMinute: number[];
  /** The newest batches, newest first (as the store gives them). */
  batches: BatchStat[];
}

export const PICTURE_MINUTES = 60;
/** Enough batches for the widest terminal. */
export const PICTURE_BATCHES = 24;
/** While a campaign changes, the pictures are read again at most this often. */
export const PICTURES_EVERY_MS = 5000;

export interface ViewFeedsOptions {
  views: UiStoreExtras;
  store: Pick<Store, 'getRecipient'>;
  now: () => number;
  publish: (patch: Pick<Partial<Snapshot>, 'recipients' | 'history' | 'pictures' | 'fatal'>) => void;
  /** The controller's newest snapshot (the campaigns' counts). */
  current: () => Snapshot;
}

export class ViewFeeds {
  private recipientsWatch: { campaignId: number; query: RecipientQuery } | null = null;
  private historyWatch: { campaignId: number; recipientId: number; email: string } | null = null;
  private picturesId: number | null = null;
  private picturesAt = 0;
  /** The counts the pictures were read at: unchanged counts need no new read. */
  private picturesCounts = '';
  /** Bumped by every watch change: a read that finishes after a newer watch is dropped. */
  private seq = 0;
  private disposed = false;

  constructor(private readonly o: ViewFeedsOptions) {}

  dispose(): void {
    this.disposed = true;
  }

  /** After the controller read the store: everything watched, the pictures when due. */
  async refresh(now: number): Promise<void> {
    await Promise.all([this.loadRecipients(), this.loadHistory(), this.picturesDue(now, true) ? this.loadPictures() : undefined]);
  }

  /** Nothing changed in the store, but the last hour moves on: the sparkline slides each minute. */
  async tick(now: number): Promise<void> {
    if (this.picturesDue(now, false)) await this.loadPictures();
  }

  watchRecipients(campaignId: number | null, query?: RecipientQuery): void {
    const next = campaignId === null || !query ? null : { campaignId, query };
    if (JSON.stringify(next) === JSON.stringify(this.recipientsWatch)) return;
    this.recipientsWatch = next;
    this.seq++;
    if (!next) {
      if (this.o.current().recipients) this.o.publish({ recipients: null });
      return;
    }
    this.guard(this.loadRecipients());
  }

  watchHistory(campaignId: number | null, recipientId?: number, email?: string): void {
    const next = campaignId === null || recipientId === undefined ? null : { campaignId, recipientId, email: email ?? '' };
    if (JSON.stringify(next) === JSON.stringify(this.historyWatch)) return;
    this.historyWatch = next;
    this.seq++;
    if (!next) {
      if (this.o.current().history) this.o.publish({ history: null });
      return;
    }
    this.guard(this.loadHistory());
  }

  watchPictures(campaignId: number | null): void {
    if (campaignId === this.picturesId) return;
    this.picturesId = campaignId;
    this.picturesAt = 0;
    this.picturesCounts = '';
    if (campaignId === null) {
      if (this.o.current().pictures) this.o.publish({ pictures: null });
      return;
    }
    this.guard(this.loadPictures());
  }

  private guard(p: Promise<void>): void {
    p.catch((err) => {
      if (!this.disposed) this.o.publish({ fatal: (err as Error).message });
    });
  }

  private async loadRecipients(): Promise<void> {
    const w = this.recipientsWatch;
    const views = this.o.views;
    if (!w) return;
    const seq = this.seq;
    const { total, rows } = await views.listRecipients(w.campaignId, w.query);
    if (this.disposed || seq !== this.seq) return;
    this.o.publish({ recipients: { campaignId: w.campaignId, query: w.query, total, rows } });
  }

  private async loadHistory(): Promise<void> {
    const w = this.historyWatch;
    const views = this.o.views;
    if (!w) return;
    const seq = this.seq;
    const [events, recipient] = await Promise.all([
      views.recipientHistory(w.campaignId, w.recipientId),
      w.email ? this.o.store.getRecipient(w.campaignId, w.email) : Promise.resolve(null),
    ]);
    if (this.disposed || seq !== this.seq) return;
    this.o.publish({ history: { ...w, recipient: recipient && recipient.id === w.recipientId ? recipient : null, events } });
  }

  /**
   * On a change of the campaign's counts at most every PICTURES_EVERY_MS; and when a new minute
   * starts, since the hour has moved.
   */
  private picturesDue(now: number, changed: boolean): boolean {
    const id = this.picturesId;
    if (id === null) return false;
    if (this.picturesAt === 0) return true;
    if (Math.floor(now / 60_000) !== Math.floor(this.picturesAt / 60_000)) return true;
    if (!changed || now - this.picturesAt < PICTURES_EVERY_MS) return false;
    return this.countsKey(id) !== this.picturesCounts;
  }

  private countsKey(id: number): string {
    const n = this.o.current().campaigns.find((s) => s.campaign.id === id)?.counts;
    return n ? [n.sent, n.failed, n.in_doubt, n.pending, n.sending].join() : '';
  }

  private async loadPictures(): Promise<void> {
    const id = this.picturesId;
    const views = this.o.views;
    if (id === null) return;
    const at = this.o.now();
    this.picturesAt = at;
    this.picturesCounts = this.countsKey(id);
    const [perMinute, batches] = await Promise.all([views.activity(id, at, PICTURE_MINUTES), views.batchStats(id, PICTURE_BATCHES)]);
    if (this.disposed || this.picturesId !== id) return;
    this.o.publish({ pictures: { campaignId: id, at, perMinute, batches } });
  }
}

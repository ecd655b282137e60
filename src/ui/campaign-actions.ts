/**
 * What the TUI's keys do to a campaign: send it from this window, pause, cancel, resolve its
 * in-doubt recipients (all, or one from the failed list). Each checks what the campaign is now,
 * changes it through the store, refreshes the screen and then says what happened, so the counts
 * and the notice change together; a refusal or a failure is a notice, never a crash. The state
 * these act on is the controller's (controller.ts); this holds only the acts.
 */
import { cancelCampaign, pauseCampaign } from '../core/campaigns.js';
import type { Store } from '../core/store.js';
import type { CampaignStatus, EventLevel, StatusCounts } from '../core/types.js';
import type { LocalRuns } from './local-runs.js';
import type { NoticeBody } from './snapshot.js';
import type { UiStoreExtras } from './store-extras.js';

export interface CampaignActionsDeps {
  store: Store;
  views: UiStoreExtras;
  local: LocalRuns;
  now: () => number;
  /** The campaign's counts as last read (undefined: not known yet). */
  counts: (id: number) => StatusCounts | undefined;
  notify: (body: NoticeBody, level?: EventLevel) => void;
  fail: (err: unknown) => void;
  refresh: () => Promise<void>;
}

export class CampaignActions {
  constructor(private readonly deps: CampaignActionsDeps) {}

  /** `s`: start a draft or resume a paused campaign, and send it from this process. */
  send(id: number): Promise<void> {
    return this.deps.local.send(id);
  }

  /** `p` */
  async pause(id: number): Promise<void> {
    await this.transition(id, 'sending', 'not_pausable', 'paused', pauseCampaign);
  }

  /** `c` (after the confirmation) */
  async cancel(id: number): Promise<void> {
    await this.transition(id, null, 'not_cancellable', 'cancelled', cancelCampaign);
  }

  private async transition(
    id: number,
    required: CampaignStatus | null,
    refusal: 'not_pausable' | 'not_cancellable',
    done: 'paused' | 'cancelled',
    fn: (store: Store, id: number, now: number) => Promise<unknown>,
  ): Promise<void> {
    const { store, notify } = this.deps;
    await this.reporting(async () => {
      const [s] = await store.summaries([id]);
      if (!s) return;
      const status = s.campaign.status;
      const allowed = required ? status === required : status === 'draft' || status === 'sending' || status === 'paused';
      if (!allowed) return notify({ code: refusal, id, status }, 'warn');
      await fn(store, id, this.deps.now());
      await this.deps.refresh(); // header and counts change together with the notice
      notify({ code: done, id });
    });
  }

  /** `r` → resend or mark sent. */
  async resolve(id: number, mode: 'resend' | 'mark-sent'): Promise<void> {
    await this.reporting(async () => {
      const count = await this.deps.store.resolveInDoubt(id, mode, this.deps.now());
      await this.deps.refresh(); // counts change together with the notice
      if (count === 0) this.deps.notify({ code: 'no_in_doubt', id }, 'warn');
      else this.deps.notify({ code: 'resolved', id, mode, count });
    });
  }

  /** `f`: whether the failed / in-doubt list can be shown (says why not otherwise). */
  canListFailed(id: number): boolean {
    const n = this.deps.counts(id);
    if (n && n.failed + n.in_doubt === 0) {
      this.deps.notify({ code: 'no_failed', id }, 'warn');
      return false;
    }
    return true;
  }

  /** `r` on one recipient (after the question): resend it or mark it sent, if it is in doubt. */
  async resolveOne(id: number, email: string, mode: 'resend' | 'mark-sent'): Promise<void> {
    await this.reporting(async () => {
      const count = await this.deps.views.resolveInDoubt(id, mode, this.deps.now(), [email]);
      await this.deps.refresh(); // the list, the history and the counts change with the notice
      if (count === 0) this.deps.notify({ code: 'not_in_doubt', id, email }, 'warn');
      else this.deps.notify({ code: 'resolved_one', id, mode, email });
    });
  }

  /** Runs an act; a failure becomes an error notice, and the screen is read again (the act may have half-happened elsewhere). */
  private async reporting(act: () => Promise<void>): Promise<void> {
    try {
      await act();
    } catch (err) {
      this.deps.fail(err);
      void this.deps.refresh();
    }
  }
}

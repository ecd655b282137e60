/**
 * A runner's heartbeat on one campaign: renews its lease on a timer, whatever the runner is doing
 * (sending, waiting for a window), and takes over dead runners — apart, so that a takeover
 * waiting for the campaign's lock never delays a renewal. One of each at a time.
 */
import type { EngineContext } from './engine.js';

export class Heartbeat {
  /** Our lease was lost (expired, or another runner took us for dead): claim nothing more. */
  lost = false;
  private renewedAt: number;
  /** The renewal under way, if any (the timer's or the loop's own). */
  private beating: Promise<void> | null = null;
  /** The takeover of dead runners under way, if any: it may wait for the campaign's lock. */
  private reaping: Promise<void> | null = null;

  constructor(
    private readonly x: EngineContext,
    private readonly campaignId: number,
  ) {
    this.renewedAt = x.clock.now();
  }

  /** Beats every quarter of the lease until the returned function is called. */
  start(): () => void {
    return this.x.clock.every(this.x.leaseTtlMs / 4, () => void this.beat());
  }

  /**
   * Before a claim: the timer renews the lease, but a loop that finds it due (time jumped: a
   * suspended process, a virtual clock) renews first rather than be refused as expired.
   */
  async beforeClaim(): Promise<void> {
    if (this.beating || this.x.clock.now() - this.renewedAt >= this.x.leaseTtlMs / 4) await this.beat();
  }

  private beat(): Promise<void> {
    if (this.lost) return Promise.resolve();
    this.reaping ??= this.reap().finally(() => (this.reaping = null));
    this.beating ??= this.renew().finally(() => (this.beating = null));
    return this.beating;
  }

  private async renew(): Promise<void> {
    const x = this.x;
    try {
      const now = x.clock.now();
      if (await x.store.renewLease(x.owner.token, now, x.leaseTtlMs)) this.renewedAt = now;
      else {
        this.lost = true;
        await x.emit({ type: 'lease_lost', at: x.clock.now(), campaignId: this.campaignId, owner: x.ownerName }, true);
      }
    } catch {
      // The database is unreachable: the next step says so. Our lease expires on its own, and
      // the store refuses our claims once it has.
    }
  }

  private async reap(): Promise<void> {
    const x = this.x;
    try {
      await x.reported(this.campaignId, await x.store.reapDead(this.campaignId, x.owner, x.clock.now(), await x.localDead(this.campaignId)));
    } catch {
      // as for renew
    }
  }
}

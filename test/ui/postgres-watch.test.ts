/**
 * The TUI's controller on PostgreSQL: it learns of other processes' changes (a cron run, `pause`
 * from another shell, an import) within a second, through the store's change notifications —
 * and while nothing changes it does not read the campaigns again.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { observer } from '../../src/cli/context.js';
import type { Store } from '../../src/core/store.js';
import { TuiController } from '../../src/ui/controller.js';
import { createTestDatabase, pgUrl, type TestDatabase } from '../helpers/backends.js';
import { settings } from '../helpers/store.js';
import { until } from './harness.js';

describe.skipIf(!pgUrl() && process.env.CI !== 'true')('the TUI on PostgreSQL', () => {
  let db: TestDatabase;
  let controller: TuiController | null = null;
  afterEach(async () => {
    await controller?.dispose();
    controller = null;
    await db?.cleanup();
  });

  it('shows another process\'s change within a second, and reads nothing while the database is quiet', async () => {
    db = await createTestDatabase('postgres');
    const store = await db.open();
    let reads = 0;
    const counting = new Proxy(store, {
      get(target, prop, receiver) {
        const v = Reflect.get(target, prop, receiver);
        if (prop === 'summaries') return (...a: Parameters<Store['summaries']>) => (reads++, target.summaries(...a));
        return typeof v === 'function' ? v.bind(target) : v;
      },
    }) as Store;
    const c = await store.createCampaign(settings({ name: 'Quiet' }), Date.now());
    controller = new TuiController({ store: counting, transportUrl: null, observer });
    controller.start();
    await until(() => controller!.getSnapshot(), (s) => s.loaded);
    await controller.refresh(false); // a poll: the change marker is now known
    const settled = reads;
    // three polls on a quiet database: no new read of the campaigns
    for (let i = 0; i < 3; i++) await controller.refresh(false);
    expect(reads).toBe(settled);

    const other = await db.open();
    const changedAt = Date.now();
    await other.transition(c.id, ['draft'], 'cancelled', Date.now());
    const seen = await until(
      () => controller!.getSnapshot(),
      (s) => s.campaigns.find((x) => x.campaign.id === c.id)?.campaign.status === 'cancelled',
      5000,
    );
    expect(seen.campaigns[0]!.campaign.status).toBe('cancelled');
    expect(Date.now() - changedAt).toBeLessThan(1500);
  });
});

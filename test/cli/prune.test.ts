/** `prune --older-than <age> [--campaign <id>] [--json]`: old log rows go, recipients stay. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createCampaign } from '../../src/core/campaigns.js';
import type { Store } from '../../src/core/store.js';
import type { StoredEvent } from '../../src/core/types.js';
import { backends, createTestDatabase, type TestDatabase } from '../helpers/backends.js';
import { runCli } from '../helpers/cli.js';
import { settings } from '../helpers/store.js';

const DAY = 86_400_000;
const NOW = Date.now();
/** Sent 100 days ago, and an hour ago. */
const OLD = NOW - 100 * DAY;
const RECENT = NOW - 3_600_000;

describe.each(backends())('prune on %s', (backend) => {
  let db: TestDatabase;
  let store: Store;
  const cli = (...args: string[]) => runCli(['--db', db.location, ...args]);

  /** One runner sends `n` of the campaign's recipients at `at`, then leaves. */
  async function sendSome(campaignId: number, at: number, n: number, token: string): Promise<void> {
    await store.joinCampaign(campaignId, { host: 'test', pid: 1, token }, at, 600_000, []);
    const claim = (await store.step(campaignId, token, at, [], n)).claim!;
    if (claim.kind !== 'claimed') throw new Error(`seeding: no claim (${claim.kind})`);
    const results = claim.recipients.map((r) => ({ recipientId: r.id, outcome: 'sent' as const, at: at + 1000, detail: '250 OK', messageId: `<${r.id}@x>` }));
    await store.step(campaignId, token, at + 1000, results, 0);
    await store.leaveCampaign(campaignId, token, at + 2000, []);
  }

  const allEvents = async (): Promise<StoredEvent[]> => store.listEvents(null, { limit: 100_000 });
  const statusJson = async () => JSON.parse((await cli('status', '--json')).stdout);
  const exported = async (id: number) => (await cli('export', String(id), '--raw')).stdout;

  beforeEach(async () => {
    db = await createTestDatabase(backend);
    store = await db.open();
    for (const name of ['One', 'Two']) {
      const c = await createCampaign(store, settings({ name, batchSize: 100, intervalSeconds: 0 }), OLD);
      const session = await store.beginImport(c.id);
      await session.add([1, 2, 3, 4].map((i) => ({ line: i + 1, email: `${name.toLowerCase()}${i}@example.com`, fields: { email: `${name.toLowerCase()}${i}@example.com`, nombre: 'Ana' } })));
      await session.commit();
      await store.transition(c.id, ['draft'], 'sending', OLD);
      await sendSome(c.id, OLD, 2, `old-${name}`);
      await sendSome(c.id, RECENT, 2, `new-${name}`);
    }
  });
  afterEach(async () => {
    await db.cleanup();
  });

  it('deletes the log rows older than the age from every campaign, and nothing else', async () => {
    const before = await allEvents();
    const cutoff = NOW - 90 * DAY;
    const old = before.filter((e) => e.at < cutoff);
    expect(old.length).toBeGreaterThan(4); // status changes, joins, sends, leaves of both campaigns
    expect(new Set(old.map((e) => e.campaignId))).toEqual(new Set([1, 2]));
    const [status0, export1, export2] = [await statusJson(), await exported(1), await exported(2)];

    const r = await cli('prune', '--older-than', '90d', '--json');
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toEqual({ pruned: old.length, before: expect.any(String), campaign: null });
    // The cut is 90 days before the command ran (give it the time the test takes).
    expect(Math.abs(Date.parse(out.before) - cutoff)).toBeLessThan(60_000);

    expect((await allEvents()).map((e) => e.id)).toEqual(before.filter((e) => e.at >= cutoff).map((e) => e.id));
    // Recipients and campaigns as they were: counts, statuses, attempts, Message-IDs.
    expect(await statusJson()).toEqual(status0);
    expect(await exported(1)).toBe(export1);
    expect(await exported(2)).toBe(export2);
    expect(export1).toContain('<1@x>');

    const again = await cli('prune', '--older-than', '90d');
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/^pruned 0 log row\(s\) older than \S+Z from every log; recipients untouched\n$/);
  });

  it('keeps to one campaign with --campaign', async () => {
    const before = await allEvents();
    const cutoff = NOW - 2 * DAY;
    const r = await cli('prune', '--older-than', '2d', '--campaign', '2');
    expect(r.code, r.stderr).toBe(0);
    const gone = before.filter((e) => e.at < cutoff && e.campaignId === 2);
    expect(r.stdout).toContain(`pruned ${gone.length} log row(s) older than`);
    expect(r.stdout).toContain('from the log of campaign 2');
    const left = (await allEvents()).map((e) => e.id);
    expect(left).toEqual(before.filter((e) => !(e.at < cutoff && e.campaignId === 2)).map((e) => e.id));
    expect(before.some((e) => e.at < cutoff && e.campaignId === 1 && left.includes(e.id))).toBe(true);
  });

  it('refuses an age shorter than a day (the rate limit reads the last day of the log), a bad age or campaign', async () => {
    const before = (await allEvents()).length;
    const short = await cli('prune', '--older-than', '12h');
    expect(short.code).toBe(2);
    expect(short.stderr).toBe('aremko-mail: --older-than: "12h" is shorter than 1d: the rate limit counts the attempts of the last day from the log; give 1d or more\n');
    const bad = await cli('prune', '--older-than', 'soon');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^aremko-mail: --older-than: "soon" is not a duration/);
    const missing = await cli('prune');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('older-than');
    const unknown = await cli('prune', '--older-than', '30d', '--campaign', '9');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/campaign 9/);
    expect((await allEvents()).length).toBe(before);
  });
});

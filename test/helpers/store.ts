/** Real SQLite stores in temp folders, and campaigns with recipients, for core tests. */
import type { Store } from '../../src/core/store.js';
import { openSqliteStore, type SqliteStore } from '../../src/core/store/sqlite.js';
import type { CampaignSettings } from '../../src/core/types.js';
import { tempDir } from './cli.js';

export function settings(overrides: Partial<CampaignSettings> = {}): CampaignSettings {
  return {
    name: 'Test campaign',
    subject: 'Hola {{nombre}}',
    from: 'Aremko Spa <hola@aremko.cl>',
    replyTo: null,
    html: '<p>Hola {{nombre}}</p>',
    text: null,
    batchSize: 50,
    intervalSeconds: 720,
    rate: null,
    window: null,
    timeZone: null,
    unsubscribe: null,
    maxAttempts: 5,
    retryDelaySeconds: 60,
    ...overrides,
  };
}

export function tempStore(): { store: SqliteStore; dir: string; db: string; cleanup: () => Promise<void> } {
  const t = tempDir();
  const store = openSqliteStore(t.db);
  return {
    store,
    dir: t.dir,
    db: t.db,
    cleanup: async () => {
      await store.close();
      t.cleanup();
    },
  };
}

/** Adds recipients r0..r(n-1)@example.com with a `nombre` field, through the import path. */
export async function addRecipients(store: Store, campaignId: number, n: number, start = 0, domain = 'example.com') {
  const session = await store.beginImport(campaignId);
  const rows = [];
  for (let i = start; i < start + n; i++) rows.push({ line: i + 2, email: `r${i}@${domain}`, fields: { nombre: `Nombre ${i}`, email: `r${i}@${domain}` } });
  await session.add(rows);
  return session.commit();
}

/** `import` on PostgreSQL from a script (--json, no terminal) while another import of the same campaign is under way. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import postgres from 'postgres';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase, pgUrl, type TestDatabase } from '../helpers/backends.js';
import { startCli, tempDir } from '../helpers/cli.js';
import { settings } from '../helpers/store.js';

const T0 = Date.now();

describe.skipIf(!pgUrl() && process.env.CI !== 'true')('import on PostgreSQL', () => {
  let pg: TestDatabase;
  let admin: postgres.Sql;
  let tmp: ReturnType<typeof tempDir>;
  beforeEach(async () => {
    pg = await createTestDatabase('postgres');
    admin = postgres(pgUrl()!.replace(/\?.*$/, ''), { onnotice: () => undefined, max: 1 });
    tmp = tempDir('aremko-cli-import-pg-');
  });
  afterEach(async () => {
    await admin.end({ timeout: 5 });
    await pg.cleanup();
    tmp.cleanup();
  });

  it('waits for another import into the same campaign, says so in one line on stderr, then skips what that one brought', async () => {
    const store = await pg.open();
    try {
      const { id } = await store.createCampaign(settings(), T0);
      const first = await store.beginImport(id);
      await first.add([{ line: 2, email: 'shared@example.org', fields: {} }]);
      const csv = join(tmp.dir, 'clientes.csv');
      writeFileSync(csv, 'email,nombre\nSHARED@example.org,Ana\nnew@example.org,Bea\n');
      const running = startCli(['--db', pg.location, 'import', String(id), csv, '--json']);
      // The command's session waits on the import lock (the server's own view; no sleeping).
      for (const start = Date.now(); ; ) {
        const waiting = await admin`SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND wait_event = 'advisory'`;
        if (waiting.length > 0) break;
        if (Date.now() - start > 10_000) throw new Error('the command never waited');
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(await first.commit()).toEqual({ imported: 1, duplicates: 0, suppressed: 0 });
      const done = await running.done;
      expect(done.code).toBe(0);
      expect(JSON.parse(done.stdout)).toEqual({ imported: 1, duplicates: 1, suppressed: 0, invalid: [] });
      expect(done.stderr).toBe(`campaign ${id}: waiting for another import into it to finish\n`);
    } finally {
      await store.close();
    }
  });
});

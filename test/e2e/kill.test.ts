/**
 * The promise of the tool, tested the hard way: the real CLI, killed with SIGKILL at random
 * moments over and over, restarted each time, must end with every recipient `sent` or
 * `in_doubt`, the server holding each `sent` message exactly once and none twice.
 *
 * Kills are triggered by what the process has printed (after k log lines, k random), not by
 * timers, so the test means the same on a loaded 2-core machine as on an idle one.
 */
import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { messageIdFor } from '../../src/core/message.js';
import { backends, createTestDatabase, rawRows, type TestDatabase } from '../helpers/backends.js';
import { CLI } from '../helpers/cli.js';
import { startTestSmtp, type TestSmtp } from '../helpers/smtp-server.js';
import { addRecipients, settings } from '../helpers/store.js';
import { prng } from '../helpers/prng.js';

const RECIPIENTS = 2000;
const KILLS = 20;
const POOL = 3;

interface RunOutcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  lines: string[];
}

/** Starts `run`; when `killAfterLines` lines have been printed, SIGKILLs it. */
function runCli(db: string, transport: string, campaignId: number, killAfterLines: number | null): Promise<RunOutcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'run', '--campaign', String(campaignId), '--db', db, '--transport', transport, '--log-format', 'json'], {
      env: { ...process.env, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines: string[] = [];
    let partial = '';
    child.stdout.on('data', (chunk: Buffer) => {
      partial += chunk.toString();
      const parts = partial.split('\n');
      partial = parts.pop()!;
      lines.push(...parts);
      if (killAfterLines !== null && lines.length >= killAfterLines && child.exitCode === null) child.kill('SIGKILL');
    });
    child.stderr.resume();
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, lines }));
  });
}

describe.each(backends())('kill -9 at random moments, again and again (%s)', (backend) => {
  let smtp: TestSmtp;
  let db: TestDatabase;
  let t: { db: string };
  let campaignId: number;
  let createdAt: number;
  let from: string;

  beforeAll(async () => {
    smtp = await startTestSmtp();
    db = await createTestDatabase(backend);
    t = { db: db.location };
    const store = await db.open();
    const c = await store.createCampaign(settings({ batchSize: 300, intervalSeconds: 0 }), Date.now());
    await addRecipients(store, c.id, RECIPIENTS);
    await store.transition(c.id, ['draft'], 'sending', Date.now());
    campaignId = c.id;
    createdAt = c.createdAt;
    from = c.from;
    await store.close();
  });
  afterAll(async () => {
    await smtp.close();
    await db.cleanup();
  });

  it(`survives ${KILLS} SIGKILLs with no recipient sent twice`, async () => {
    const random = prng(20261127);
    const transport = `${smtp.url}?pool=${POOL}`;
    let kills = 0;
    for (let i = 0; i < KILLS; i++) {
      // Early kills (during start-up, lease take-over, the first claims) and mid-run ones.
      const after = 1 + Math.floor(random() * (i % 4 === 0 ? 4 : 120));
      const r = await runCli(t.db, transport, campaignId, after);
      if (r.signal === 'SIGKILL') kills++;
      else expect.fail(`run ${i} ended by itself (code ${r.code}) before its kill: ${r.lines.slice(-3).join(' | ')}`);
    }
    expect(kills).toBe(KILLS);

    const last = await runCli(t.db, transport, campaignId, null);
    expect(last.code).toBe(0);
    const finished = last.lines.map((l) => JSON.parse(l)).find((e) => e.type === 'run_finished');
    expect(finished).toMatchObject({ outcome: 'completed', status: 'completed' });

    const rows = (await rawRows(db, 'recipients')).filter((r) => Number(r.campaign_id) === campaignId) as unknown as {
      id: number;
      email: string;
      status: string;
    }[];
    let integrity = 'ok';
    if (backend === 'sqlite') {
      const raw = new Database(t.db, { readonly: true });
      integrity = raw.pragma('integrity_check', { simple: true }) as string;
      raw.close();
    }

    const byStatus = rows.reduce<Record<string, number>>((acc, r) => ({ ...acc, [r.status]: (acc[r.status] ?? 0) + 1 }), {});
    expect(Object.keys(byStatus).sort()).toEqual(expect.arrayContaining(['sent']));
    expect(rows.filter((r) => r.status !== 'sent' && r.status !== 'in_doubt')).toEqual([]);

    const received = new Map<string, number>();
    for (const m of smtp.received) received.set(m.messageId, (received.get(m.messageId) ?? 0) + 1);
    expect([...received].filter(([, n]) => n > 1)).toEqual([]); // none twice
    for (const r of rows.filter((x) => x.status === 'sent')) {
      expect(received.get(messageIdFor({ id: campaignId, createdAt, from }, Number(r.id))), r.email).toBe(1);
    }
    const inDoubt = byStatus.in_doubt ?? 0;
    expect(inDoubt).toBeLessThanOrEqual(kills * POOL);
    expect(integrity).toBe('ok');
    console.log(`kill test (${backend}): ${kills} kills, ${byStatus.sent} sent, ${inDoubt} in_doubt (bound ${kills * POOL}), ${smtp.received.length} messages at the server`);
  }, 300_000);
});

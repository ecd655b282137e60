import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCampaign } from '../../src/core/campaigns.js';
import type { Store } from '../../src/core/store.js';
import { backends, createTestDatabase, type TestDatabase } from '../helpers/backends.js';
import { CLI, runCli } from '../helpers/cli.js';
import { settings } from '../helpers/store.js';

const T0 = Date.UTC(2026, 10, 27, 23, 0, 0);

describe.each(backends())('logs on %s', (backend) => {
let db: TestDatabase;
let store: Store;
const cli = (...args: string[]) => runCli(['--db', db.location, ...args]);

/** A campaign's real history: a runner joins, starts a batch, and three attempts end three ways. */
beforeAll(async () => {
  db = await createTestDatabase(backend);
  store = await db.open();
  const logs = settings({ name: 'Logs', subject: 'Hola', from: 'hola@aremko.cl', html: '<p>Hola</p>', intervalSeconds: 30 });
  for (const name of ['Logs', 'Other']) {
    const c = await createCampaign(store, { ...logs, name }, T0);
    const session = await store.beginImport(c.id);
    const emails = name === 'Logs' ? ['josé@example.com', 'maría@example.com', 'ramón@example.com'] : ['otra@example.com'];
    await session.add(emails.map((email, i) => ({ line: i + 2, email, fields: { email } })));
    await session.commit();
  }
  await store.transition(1, ['draft'], 'sending', T0);
  await store.joinCampaign(1, { host: 'test', pid: 1, token: 'tok' }, T0, 600_000, []);
  await store.addEvent({ type: 'batch_started', campaignId: 1, at: T0, batch: 1, batchSize: 50 });
  const claim = (await store.step(1, 'tok', T0, [], 3)).claim!;
  if (claim.kind !== 'claimed') throw new Error('seeding: no claim');
  const [jose, maria, ramon] = claim.recipients;
  const at = (i: number) => T0 + i * 1000;
  await store.step(1, 'tok', at(2), [{ recipientId: jose!.id, outcome: 'sent', at: at(2), detail: '250 2.0.0 Ok: queued', messageId: '<1@x>' }], 0);
  await store.step(1, 'tok', at(3), [{ recipientId: maria!.id, outcome: 'retry', at: at(3), detail: '451 4.7.1 try later\n(greylisted)', messageId: '<2@x>', retryAt: at(63) }], 0);
  await store.step(1, 'tok', at(4), [{ recipientId: ramon!.id, outcome: 'failed', at: at(4), detail: '550 5.1.1 no such user', messageId: '<3@x>' }], 0);
});
afterAll(async () => {
  await db.cleanup();
});

describe('logs', () => {
  it('prints the events of the campaign, oldest first, in aligned columns', async () => {
    const r = await cli('logs', '1');
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')).toEqual([
      '2026-11-27T23:00:00.000Z  info   status           campaign draft → sending',
      '2026-11-27T23:00:00.000Z  info   runner_joined    runner test:1 joined',
      '2026-11-27T23:00:00.000Z  info   batch_started    batch 1 started (up to 50 messages)',
      '2026-11-27T23:00:02.000Z  info   sent             sent to josé@example.com (batch 1, attempt 1): 250 2.0.0 Ok: queued',
      '2026-11-27T23:00:03.000Z  warn   retry_scheduled  temporary failure for maría@example.com (attempt 1): 451 4.7.1 try later | (greylisted); retry at 2026-11-27T23:01:03.000Z',
      '2026-11-27T23:00:04.000Z  error  failed           failed for ramón@example.com (attempt 1): 550 5.1.1 no such user',
      '',
    ]);
  });

  it('prints one JSON array with --json, and only the newest --limit events', async () => {
    const r = await cli('logs', '1', '--json', '--limit', '2');
    expect(r.code).toBe(0);
    const events = JSON.parse(r.stdout);
    const ids = (await store.listEvents(1, { limit: 2 })).map((e) => e.id);
    expect(events).toEqual([
      {
        id: ids[0],
        at: '2026-11-27T23:00:03.000Z',
        level: 'warn',
        type: 'retry_scheduled',
        message: 'temporary failure for maría@example.com (attempt 1): 451 4.7.1 try later\n(greylisted); retry at 2026-11-27T23:01:03.000Z',
        data: { recipientId: 2, email: 'maría@example.com', attempt: 1, batch: 1, providerId: null, retryAt: T0 + 63_000, error: '451 4.7.1 try later\n(greylisted)' },
      },
      {
        id: ids[1],
        at: '2026-11-27T23:00:04.000Z',
        level: 'error',
        type: 'failed',
        message: 'failed for ramón@example.com (attempt 1): 550 5.1.1 no such user',
        data: { recipientId: 3, email: 'ramón@example.com', attempt: 1, batch: 1, providerId: null, suppressed: false, error: '550 5.1.1 no such user' },
      },
    ]);
  });

  it('prints an empty array for a campaign without events', async () => {
    const other = await createCampaign(store, { ...(await store.getCampaign(1))!, name: 'Quiet' }, T0);
    const r = await cli('logs', String(other.id), '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([]);
  });

  it('exits 1 for an unknown campaign and 2 for a bad --limit', async () => {
    const unknown = await cli('logs', '99');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('campaign 99 does not exist');
    expect((await cli('logs', '1', '--limit', '0')).code).toBe(2);
  });
});

/** Collects a child's stdout; `waitFor` resolves when it contains `text` (no fixed sleeps). */
function following(args: string[]) {
  const child: ChildProcessWithoutNullStreams = spawn(process.execPath, [CLI, '--db', db.location, ...args], {
    env: { ...process.env, NO_COLOR: '1' },
  });
  let stdout = '';
  let stderr = '';
  const waiters: { text: string; resolve: () => void; reject: (e: Error) => void }[] = [];
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d: string) => (stderr += d));
  child.stdout.on('data', (d: string) => {
    stdout += d;
    for (const w of waiters.filter((w) => stdout.includes(w.text))) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
  });
  let ended = false;
  const exited = new Promise<number | null>((resolve) =>
    child.on('close', (code) => {
      ended = true;
      for (const w of waiters.splice(0)) w.reject(new Error(`exited ${code} before printing "${w.text}"; stdout:\n${stdout}\nstderr:\n${stderr}`));
      resolve(code);
    }),
  );
  return {
    child,
    exited,
    output: () => stdout,
    errors: () => stderr,
    waitFor: (text: string) => {
      if (stdout.includes(text)) return Promise.resolve();
      if (ended) return Promise.reject(new Error(`exited before printing "${text}"; stderr:\n${stderr}`));
      return new Promise<void>((resolve, reject) => waiters.push({ text, resolve, reject }));
    },
  };
}

describe('logs --follow', () => {
  // A follow that never prints the new event hangs: fail after 20 s, not the suite's 60.
  it('prints new events as they are stored, until SIGINT, then exits 0', { timeout: 20_000 }, async () => {
    const f = following(['logs', '1', '--follow', '--limit', '1']);
    try {
      await f.waitFor('ramón@example.com');
      expect(f.output()).not.toContain('josé@example.com'); // --limit 1: only the newest before following
      await store.addEvent({ campaignId: 2, at: T0 + 9000, type: 'transport_error', error: 'not this campaign' });
      await store.addEvent({ campaignId: 1, at: T0 + 10_000, type: 'batch_finished', batch: 1, nextBatchAt: null });
      await f.waitFor('batch 1 finished');
      expect(f.output().split('\n').at(-2)).toBe('2026-11-27T23:00:10.000Z  info   batch_finished  batch 1 finished');
      f.child.kill('SIGINT');
      expect(await f.exited).toBe(0);
      expect(f.output()).not.toContain('not this campaign');
      expect(f.errors()).toBe('');
    } finally {
      f.child.kill('SIGKILL');
    }
  });

  it('prints JSON lines with --json, and stops on SIGTERM with exit 0', { timeout: 20_000 }, async () => {
    const f = following(['logs', '1', '--follow', '--json', '--limit', '2']);
    try {
      await f.waitFor('"batch_finished"');
      await store.addEvent({ campaignId: 1, at: T0 + 20_000, type: 'throttled', until: T0 + 80_000, error: '429 too many requests' });
      const [added] = await store.listEvents(1, { limit: 1 });
      await f.waitFor('"throttled"');
      f.child.kill('SIGTERM');
      expect(await f.exited).toBe(0);
      const lines = f.output().trimEnd().split('\n');
      expect(lines.map((l) => JSON.parse(l).type)).toEqual(['failed', 'batch_finished', 'throttled']);
      expect(JSON.parse(lines[2]!)).toEqual({
        id: added!.id,
        at: '2026-11-27T23:00:20.000Z',
        level: 'warn',
        type: 'throttled',
        message: 'the provider asked to slow down: no sends until 2026-11-27T23:01:20.000Z (429 too many requests)',
        data: { until: T0 + 80_000, error: '429 too many requests' },
      });
    } finally {
      f.child.kill('SIGKILL');
    }
  });
});
});

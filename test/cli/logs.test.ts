import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCampaign } from '../../src/core/campaigns.js';
import { openSqliteStore, type SqliteStore } from '../../src/core/sqlite-store.js';
import { CLI, runCli, tempDir } from '../helpers/cli.js';
import { settings } from '../helpers/store.js';

const t = tempDir();
const cli = (...args: string[]) => runCli(['--db', t.db, ...args]);
const T0 = Date.UTC(2026, 10, 27, 23, 0, 0);
let store: SqliteStore;

beforeAll(async () => {
  store = openSqliteStore(t.db);
  const logs = settings({ name: 'Logs', subject: 'Hola', from: 'hola@aremko.cl', html: '<p>Hola</p>', intervalSeconds: 30 });
  await createCampaign(store, logs, T0);
  await createCampaign(store, { ...logs, name: 'Other' }, T0);
  const add = (campaignId: number, i: number, type: string, message: string, level: 'info' | 'warn' | 'error' = 'info') =>
    store.addEvent({ campaignId, at: T0 + i * 1000, level, type, message, data: { i } });
  await add(1, 0, 'batch_started', 'batch 1 started: up to 50 recipients');
  await add(2, 1, 'sent', 'another campaign');
  await add(1, 2, 'sent', 'sent to josé@example.com (250 2.0.0 Ok: queued)');
  await add(1, 3, 'retry_scheduled', 'maría@example.com: 451 4.7.1 try later\n(greylisted)', 'warn');
  await add(1, 4, 'failed', 'ramón@example.com: 550 5.1.1 no such user', 'error');
});
afterAll(async () => {
  await store.close();
  t.cleanup();
});

describe('logs', () => {
  it('prints the events of the campaign, oldest first, in aligned columns', async () => {
    const r = await cli('logs', '1');
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')).toEqual([
      '2026-11-27T23:00:00.000Z  info   batch_started    batch 1 started: up to 50 recipients',
      '2026-11-27T23:00:02.000Z  info   sent             sent to josé@example.com (250 2.0.0 Ok: queued)',
      '2026-11-27T23:00:03.000Z  warn   retry_scheduled  maría@example.com: 451 4.7.1 try later | (greylisted)',
      '2026-11-27T23:00:04.000Z  error  failed           ramón@example.com: 550 5.1.1 no such user',
      '',
    ]);
  });

  it('prints one JSON array with --json, and only the newest --limit events', async () => {
    const r = await cli('logs', '1', '--json', '--limit', '2');
    expect(r.code).toBe(0);
    const events = JSON.parse(r.stdout);
    expect(events).toEqual([
      {
        id: 4,
        at: '2026-11-27T23:00:03.000Z',
        level: 'warn',
        type: 'retry_scheduled',
        message: 'maría@example.com: 451 4.7.1 try later\n(greylisted)',
        data: { i: 3 },
      },
      { id: 5, at: '2026-11-27T23:00:04.000Z', level: 'error', type: 'failed', message: 'ramón@example.com: 550 5.1.1 no such user', data: { i: 4 } },
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
  const child: ChildProcessWithoutNullStreams = spawn(process.execPath, [CLI, '--db', t.db, ...args], {
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
      await store.addEvent({ campaignId: 2, at: T0 + 9000, level: 'info', type: 'sent', message: 'not this campaign' });
      await store.addEvent({ campaignId: 1, at: T0 + 10_000, level: 'info', type: 'batch_finished', message: 'batch 1 finished: 3 sent' });
      await f.waitFor('batch 1 finished: 3 sent');
      expect(f.output().split('\n').at(-2)).toBe('2026-11-27T23:00:10.000Z  info   batch_finished  batch 1 finished: 3 sent');
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
      const added = await store.addEvent({ campaignId: 1, at: T0 + 20_000, level: 'warn', type: 'in_doubt', message: 'josé: connection lost after data', data: { recipientId: 1 } });
      await f.waitFor('"in_doubt"');
      f.child.kill('SIGTERM');
      expect(await f.exited).toBe(0);
      const lines = f.output().trimEnd().split('\n');
      expect(lines.map((l) => JSON.parse(l).type)).toEqual(['failed', 'batch_finished', 'in_doubt']);
      expect(JSON.parse(lines[2]!)).toEqual({
        id: added,
        at: '2026-11-27T23:00:20.000Z',
        level: 'warn',
        type: 'in_doubt',
        message: 'josé: connection lost after data',
        data: { recipientId: 1 },
      });
    } finally {
      f.child.kill('SIGKILL');
    }
  });
});

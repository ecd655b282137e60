/**
 * The TUI tells the truth about who sends and what a campaign waits for: a runner whose process
 * is gone from this host, a lease that expired, several live runners, a send window — read from
 * a real SQLite store, judged with the CLI's real observer (this host, real pids), at 80×24.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { hostname } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import type { SqliteStore } from '../../src/core/store/sqlite.js';
import { Formatter } from '../../src/ui/i18n.js';
import { createCampaign, type Harness, KEY, mount } from './harness.js';

const HOST = hostname();
const TZ = 'America/Santiago';

let h: Harness | undefined;
const children: ChildProcess[] = [];
afterEach(async () => {
  await h?.cleanup();
  h = undefined;
  for (const c of children.splice(0)) c.kill('SIGKILL');
});

/** A process of this host that lives until killed. */
function liveProcess(): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1e6)'], { stdio: 'ignore' });
  children.push(child);
  return new Promise((resolve, reject) => {
    child.once('spawn', () => resolve(child));
    child.once('error', reject);
  });
}

/** The pid of a process of this host that has exited (and was reaped): nothing lives there. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  await new Promise((resolve) => child.once('exit', resolve));
  expect(() => process.kill(child.pid!, 0)).toThrow();
  return child.pid!;
}

async function sending(store: SqliteStore, name: string, overrides: Parameters<typeof createCampaign>[1] = {}) {
  const c = await createCampaign(store, { name, ...overrides }, 6);
  await store.transition(c.id, ['draft'], 'sending', Date.now());
  return c.id;
}

async function open(x: Harness, name: string) {
  await x.waitFor(`› #1 ${name}`);
  await x.press(KEY.enter);
  await x.waitFor(`aremko-mail › #1 ${name}`);
}

describe('the truth about runners and waits', () => {
  it('a runner whose process is gone from this host: "not running — the next run takes over", never sending (en, es)', async () => {
    const pid = await deadPid();
    const owner = `${HOST}:${pid}`;
    for (const lang of ['en', 'es'] as const) {
      h = await mount({ lang }, async (store) => {
        const id = await sending(store, 'Killed', { intervalSeconds: 0 });
        await store.joinCampaign(id, { host: HOST, pid, token: 'dead' }, Date.now(), 600_000, []);
      });
      h.resize(80, 24);
      const list = await h.waitFor(lang === 'en' ? `${owner} not running` : `${owner} no está corriendo`);
      expect(list).not.toMatch(/sending: |envía: /);
      await open(h, 'Killed');
      const detail = await h.waitFor(
        lang === 'en'
          ? `Sending: ${owner} is not running — the next run takes over`
          : `Envía: ${owner} no está corriendo — la próxima ejecución toma el relevo`,
      );
      // Nobody alive sends it: it is due, for the next run.
      expect(detail).toContain(lang === 'en' ? 'Next batch: due now (waiting for a run)' : 'Próximo lote: ahora (esperando una ejecución)');
      expect(h.frames.join('\n')).not.toContain(`a run on ${owner}`);
      await h.cleanup();
      h = undefined;
    }
  });

  it('a runner of this host that dies while the screen is open: from sending to not running within the poll', async () => {
    const child = await liveProcess();
    const owner = `${HOST}:${child.pid}`;
    h = await mount({ lang: 'en' }, async (store) => {
      const id = await sending(store, 'Dies', { intervalSeconds: 0 });
      await store.joinCampaign(id, { host: HOST, pid: child.pid!, token: 'live' }, Date.now(), 600_000, []);
    });
    h.resize(80, 24);
    await h.waitFor(`sending: ${owner}`);
    await open(h, 'Dies');
    await h.waitFor(`Sending: a run on ${owner}`);
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    const t0 = Date.now();
    await h.waitFor(`Sending: ${owner} is not running — the next run takes over`, 5000);
    expect(Date.now() - t0).toBeLessThan(2500);
    await h.press(KEY.escape);
    const list = await h.waitFor(`${owner} not running`);
    expect(list).not.toContain(`sending: ${owner}`);
  });

  it('an expired lease: "expired at …" in the campaign\'s zone (en, es)', async () => {
    const joinedAt = Date.now() - 120_000;
    const expiredAt = joinedAt + 60_000;
    for (const lang of ['en', 'es'] as const) {
      h = await mount({ lang }, async (store) => {
        const id = await sending(store, 'Expired', { intervalSeconds: 0, timeZone: TZ });
        await store.joinCampaign(id, { host: 'cronhost', pid: 77, token: 'old' }, joinedAt, 60_000, []);
      });
      h.resize(80, 24);
      const time = new Formatter(lang).time(expiredAt, TZ, Date.now());
      await h.waitFor(lang === 'en' ? `cronhost:77 expired at ${time}` : `cronhost:77 venció a las ${time}`);
      await open(h, 'Expired');
      // Too long for one row in Spanish: broken at its dash, nothing cut off.
      await h.waitFor(
        lang === 'en'
          ? `Sending: lease of cronhost:77 expired at ${time} — the next run takes over`
          : `Envía: el turno de cronhost:77 venció a las ${time}\n       — la próxima ejecución toma el relevo`,
      );
      expect(h.frames.join('\n')).not.toMatch(/a run on cronhost|una ejecución en cronhost/);
      await h.cleanup();
      h = undefined;
    }
  });

  it('two live runners share a campaign: both are named, in the list and the detail', async () => {
    const child = await liveProcess();
    const local = `${HOST}:${child.pid}`;
    h = await mount({ lang: 'en' }, async (store) => {
      const id = await sending(store, 'Shared', { intervalSeconds: 0 });
      await store.joinCampaign(id, { host: HOST, pid: child.pid!, token: 'here' }, Date.now(), 600_000, []);
      await store.joinCampaign(id, { host: 'otherhost', pid: 22, token: 'there' }, Date.now() + 1, 600_000, []);
    });
    h.resize(80, 24);
    await h.waitFor(`sending: ${local}, otherhost:22`);
    await open(h, 'Shared');
    await h.waitFor(`Sending: a run on ${local}`);
    expect(h.frame()).toMatch(/\n {9}a run on otherhost:22\n/);
  });

  it('outside its send window: what it waits for and until when, in the campaign\'s zone (en, es)', async () => {
    const hourThere = (ms: number) => Number(new Intl.DateTimeFormat('en-GB', { timeZone: TZ, hour: '2-digit', hourCycle: 'h23' }).format(ms));
    const opens = (hourThere(Date.now()) + 2) % 24;
    const hh = (n: number) => String(n).padStart(2, '0');
    for (const lang of ['en', 'es'] as const) {
      let until = 0;
      h = await mount({ lang }, async (store) => {
        const id = await sending(store, 'Window', { timeZone: TZ, window: { start: `${hh(opens)}:00`, end: `${hh((opens + 1) % 24)}:00` } });
        until = (await store.summaries([id]))[0]!.waiting!.until;
      });
      h.resize(80, 24);
      expect(hourThere(until)).toBe(opens);
      const time = new Formatter(lang).time(until, TZ, Date.now());
      // The list row at 80 columns has room for the time of day, not for a date before it: when
      // the window opens tomorrow in the zone (from 22:00 there) the row ends in "Dec 2, 00:…".
      // The detail below shows it whole.
      const fits = /^[\d:]+$/.test(time) ? time : '';
      await h.waitFor(lang === 'en' ? `outside the send window until ${fits}` : `fuera de horario hasta ${fits}`);
      await open(h, 'Window');
      const f = await h.waitFor(
        lang === 'en'
          ? `Next batch: outside the send window until ${time} (${TZ})`
          : `Próximo lote: fuera del horario de envío hasta ${time} (${TZ})`,
      );
      expect(f).not.toMatch(/due now|ahora/);
      await h.cleanup();
      h = undefined;
    }
  });
});

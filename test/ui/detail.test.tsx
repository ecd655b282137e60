import { afterEach, describe, expect, it } from 'vitest';
import { pauseCampaign } from '../../src/core/campaigns.js';
import { Engine } from '../../src/core/engine.js';
import { openSqliteStore, type SqliteStore } from '../../src/core/store/sqlite.js';
import { createTransport, parseTransportUrl } from '../../src/core/transport/index.js';
import { createCampaign, type Harness, KEY, mount, until } from './harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.cleanup();
  h = undefined;
});

const summary = async (store: SqliteStore, id = 1) => (await store.summaries([id]))[0]!;

/** Opens campaign #1's detail screen. */
async function openFirst(x: Harness, name: string) {
  await x.waitFor(`› #1 ${name}`);
  x.press(KEY.enter);
  await x.waitFor(`› #1 ${name}`.replace('› ', 'aremko-mail › '));
}

describe('campaign detail: sending from this window', () => {
  it('s starts a draft and sends it whole through the transport; progress, batches and log stream', async () => {
    h = await mount({ lang: 'en' }, async (store) => {
      // A second between batches: with none, 12 messages can go out between two frames (the render
      // cap is 10 a second), and no frame would ever show the send in progress.
      await createCampaign(store, { name: 'Whole', batchSize: 5, intervalSeconds: 1 }, 12);
    });
    await openFirst(h, 'Whole');
    expect(h.frame()).toContain('Sending: nobody (press s to send from here)');
    // s pressed twice in a row starts one engine, not two (the second would find the lease taken).
    await h.press('ss');
    const done = await h.waitFor('Campaign #1 completed.', 20_000);
    expect(done).toMatch(/aremko-mail › #1 Whole\s+completed/);
    expect(done).toContain('100%');
    expect(done).toContain('sent: 12 · pending: 0 · in flight: 0');
    expect(done).toMatch(/sent to r\d+@example\.com \(batch 3\)/);
    expect(done).toContain('campaign completed: sent 12, failed 0, in doubt 0');
    const s = await summary(h.store);
    expect(s.campaign.status).toBe('completed');
    expect(s.counts.sent).toBe(12);
    expect(s.runners).toEqual([]);
    expect(h.outboxCount()).toBe(12);
    // While it sent, the frames said who was sending and which batch.
    const seen = h.frames.join('\n');
    expect(seen).toContain('this window (');
    expect(seen).not.toContain('is being sent by');
    expect(seen).not.toMatch(/Error:|cannot start/);
    expect(seen).toMatch(/Batch [123] of 3/);
  });

  it('without a transport, s explains how to set one and changes nothing', async () => {
    h = await mount({ lang: 'en', transport: null }, async (store) => {
      await createCampaign(store, { name: 'No way out' }, 3);
    });
    await openFirst(h, 'No way out');
    await h.press('s');
    const f = await h.waitFor('no transport configured');
    expect(f.replace(/\n/g, ' ')).toMatch(/pass --transport <url> or\s+set AREMKO_MAIL_TRANSPORT/);
    expect((await summary(h.store)).campaign.status).toBe('draft');
    await h.cleanup();

    h = await mount({ lang: 'es', transport: null }, async (store) => {
      await createCampaign(store, { name: 'Sin salida' }, 3);
    });
    await openFirst(h, 'Sin salida');
    await h.press('s');
    const es = await h.waitFor('no hay transporte configurado');
    expect(es.replace(/\n/g, ' ')).toContain('AREMKO_MAIL_TRANSPORT');
  });

  it('p pauses (in-flight recorded, lease released), s resumes, and it finishes with no repeats', async () => {
    h = await mount({ lang: 'en' }, async (store) => {
      await createCampaign(store, { name: 'Stop and go', batchSize: 4, intervalSeconds: 1 }, 16);
    });
    await openFirst(h, 'Stop and go');
    await h.press('s');
    await h.waitFor(/sent: [4-9]/, 15_000);
    await h.press('p');
    await h.waitFor('Stopped sending #1: it was paused.', 10_000);
    expect(h.frame()).toMatch(/#1 Stop and go\s+paused/);
    let s = await summary(h.store);
    expect(s.campaign.status).toBe('paused');
    expect(s.counts.sending).toBe(0);
    expect(s.runners).toEqual([]);
    const sentAtPause = s.counts.sent;
    expect(h.frame()).toContain('Sending: nobody');

    await h.press('s');
    await h.waitFor('Campaign #1 completed.', 30_000);
    s = await summary(h.store);
    expect(s.counts.sent).toBe(16);
    expect(sentAtPause).toBeLessThan(16);
    expect(h.outboxCount()).toBe(16);
    expect(h.frames.join('\n')).toContain('campaign paused → sending');
  });

  it('a pause from another process shows within a second and stops this window before its next claim', async () => {
    h = await mount({ lang: 'es' }, async (store) => {
      await createCampaign(store, { name: 'Desde otra terminal', batchSize: 3, intervalSeconds: 2 }, 30);
    });
    await openFirst(h, 'Desde otra terminal');
    await h.press('s');
    await h.waitFor(/Próximo lote: en 0:0\d/, 15_000);
    const other = openSqliteStore(h.db);
    const t0 = Date.now();
    await pauseCampaign(other, 1, Date.now());
    await other.close();
    await h.waitFor(/Desde otra terminal\s+en pausa/, 3000);
    expect(Date.now() - t0).toBeLessThan(1200);
    await h.waitFor('Se dejó de enviar #1: quedó en pausa.', 5000);
    const s = await until(() => summary(h!.store), (x) => x.runners.length === 0);
    expect(s.counts.sending).toBe(0);
    expect(s.counts.sent % 3).toBe(0); // whole batches: nothing claimed after the pause
  });

  it('when another process is sending it, the screen says who; s joins in, each recipient once', async () => {
    h = await mount({ lang: 'en' }, async (store) => {
      const c = await createCampaign(store, { name: 'Taken' }, 5);
      await store.transition(c.id, ['draft'], 'sending', Date.now());
      await store.joinCampaign(c.id, { host: 'cronhost', pid: 4242, token: 'other' }, Date.now(), 600_000, []);
    });
    await openFirst(h, 'Taken');
    await h.waitFor('Sending: a run on cronhost:4242');
    await h.press('s');
    const s = await until(() => summary(h!.store), (x) => x.counts.sent === 5);
    expect(s.counts.sent).toBe(5);
    expect(h.outboxCount()).toBe(5);
  });

  it('a run in another process (a cron line) shows live: who sends, progress, its log lines', async () => {
    h = await mount({ lang: 'en' }, async (store) => {
      const c = await createCampaign(store, { name: 'By cron', batchSize: 5, intervalSeconds: 1 }, 20);
      await store.transition(c.id, ['draft'], 'sending', Date.now());
    });
    await openFirst(h, 'By cron');
    const other = openSqliteStore(h.db);
    const engine = new Engine({
      store: other,
      transport: createTransport(parseTransportUrl(`outbox:${h.dir}/cron-outbox`)),
      owner: { host: 'cronhost', pid: 4242, token: 'cron-token' },
      pollMs: 100,
    });
    const run = engine.run([1]);
    try {
      await h.waitFor('Sending: a run on cronhost:4242', 5000);
      await h.waitFor(/sent: (1\d|5) /, 10_000);
      expect(h.frame()).toMatch(/sent to r\d+@example\.com \(batch \d\)/);
      expect(h.frame()).toContain('runner cronhost:4242 joined');
    } finally {
      engine.stop();
      await run;
      await other.close();
    }
    await h.waitFor('Sending: nobody', 3000);
    expect(h.outboxCount()).toBe(0); // nothing from this window
  });

  it('a mail server that cannot be reached: the reason is shown, nothing is marked failed', async () => {
    h = await mount({ lang: 'en', transport: 'smtp://127.0.0.1:1' }, async (store) => {
      await createCampaign(store, { name: 'Unreachable' }, 4);
    });
    await openFirst(h, 'Unreachable');
    await h.press('s');
    const f = await h.waitFor(/Mail server unavailable for #1: .+Nothing was marked failed\./s, 20_000);
    expect(f).toMatch(/Last error: mail server unavailable/);
    const s = await summary(h.store);
    expect(s.counts.failed).toBe(0);
    expect(s.counts.pending).toBe(4);
  });

  it('refuses to start what cannot start: no recipients, a missing field, a completed campaign', async () => {
    h = await mount({ lang: 'en' }, async (store) => {
      await createCampaign(store, { name: 'Empty' }, 0);
      const c = await store.createCampaign(
        (await import('../helpers/store.js')).settings({ name: 'Lacks field', subject: 'Hi {{apellido}}' }),
        Date.now(),
      );
      const session = await store.beginImport(c.id);
      await session.add([{ line: 2, email: 'a@example.com', fields: { email: 'a@example.com', nombre: 'A' } }]);
      await session.commit();
      const done = await createCampaign(store, { name: 'Done already' }, 1);
      store.raw.prepare(`UPDATE campaigns SET status = 'completed' WHERE id = ?`).run(done.id);
    });
    await h.waitFor('› #1 Empty');
    await h.press('s');
    await h.waitFor('Campaign #1 has no pending recipients (import some: aremko-mail import 1 <file.csv>).');
    await h.press('j', 's');
    await h.waitFor('Cannot start #2: the templates use "apellido" (missing for 1), which some recipients lack.');
    await h.press('j', 's');
    await h.waitFor('Campaign #3 is completed: nothing to send.');
    expect(h.outboxCount()).toBe(0);
  });
});

describe('campaign detail: cancel, in doubt, log, help', () => {
  it('c asks first: n keeps it, y cancels it (en); s confirms in Spanish', async () => {
    h = await mount({ lang: 'en' }, async (store) => {
      await createCampaign(store, { name: 'Maybe' }, 2);
    });
    await openFirst(h, 'Maybe');
    await h.press('c');
    await h.waitFor('Cancel campaign #1 "Maybe"? No more messages will be sent.');
    await h.press('n');
    await h.waitFor((f) => !f.includes('Cancel campaign #1'));
    expect((await summary(h.store)).campaign.status).toBe('draft');
    await h.press('c');
    await h.waitFor('(y/n)');
    await h.press(KEY.escape);
    await h.waitFor((f) => !f.includes('(y/n)'));
    await h.press('c');
    await h.waitFor('(y/n)');
    await h.press('y');
    // the notice comes with the action; the header follows with the next refresh of the store
    await h.waitFor((f) => f.includes('Campaign #1 cancelled.') && /#1 Maybe\s+cancelled/.test(f));
    expect((await summary(h.store)).campaign.status).toBe('cancelled');
    await h.press('c');
    await h.waitFor('Campaign #1 is cancelled: it cannot be cancelled.');
    await h.cleanup();

    h = await mount({ lang: 'es' }, async (store) => {
      await createCampaign(store, { name: 'Quizás' }, 2);
    });
    await openFirst(h, 'Quizás');
    await h.press('c');
    await h.waitFor('¿Cancelar la campaña #1 "Quizás"? No se enviarán más mensajes.');
    expect(h.frame()).toContain('(s/n)');
    await h.press('s');
    await h.waitFor('Campaña #1 cancelada.');
  });

  it('r asks resend or mark sent for in-doubt recipients', async () => {
    h = await mount({ lang: 'en' }, async (store) => {
      for (const name of ['Doubts A', 'Doubts B']) {
        const c = await createCampaign(store, { name }, 5);
        store.raw.prepare(`UPDATE recipients SET status = 'in_doubt' WHERE campaign_id = ? AND email IN ('r0@example.com', 'r1@example.com')`).run(c.id);
      }
      await createCampaign(store, { name: 'No doubts' }, 1);
    });
    await openFirst(h, 'Doubts A');
    expect(h.frame()).toContain('in doubt: 2');
    await h.press('r');
    await h.waitFor('Recipients in doubt: 2. They may or may not have received the message.');
    expect(h.frame()).toContain('r resend them · m mark them sent · Esc leave them');
    await h.press(KEY.escape);
    await h.waitFor((f) => !f.includes('Recipients in doubt'));
    await h.press('r');
    await h.waitFor('Recipients in doubt: 2');
    await h.press('r');
    await h.waitFor('In-doubt recipients of #1 queued to send again: 2.');
    let s = await summary(h.store, 1);
    expect(s.counts.in_doubt).toBe(0);
    expect(s.counts.pending).toBe(5);
    await h.waitFor('in-doubt recipients queued to send again: 2');

    await h.press(KEY.escape, 'j', KEY.enter);
    await h.waitFor('aremko-mail › #2 Doubts B');
    await h.press('r');
    await h.waitFor('Recipients in doubt: 2');
    await h.press('m');
    await h.waitFor('In-doubt recipients of #2 marked sent: 2.');
    s = await summary(h.store, 2);
    expect(s.counts.in_doubt).toBe(0);
    expect(s.counts.sent).toBe(2);

    await h.press(KEY.escape, 'j', KEY.enter);
    await h.waitFor('aremko-mail › #3 No doubts');
    await h.press('r');
    await h.waitFor('Campaign #3 has no recipients in doubt.');
  });

  it('l opens the full log: arrows, PgUp/PgDn, Home/End scroll; Esc goes back', async () => {
    h = await mount({ lang: 'en' }, async (store) => {
      const c = await createCampaign(store, { name: 'Chatty' }, 1);
      for (let i = 1; i <= 60; i++)
        await store.addEvent({ campaignId: c.id, at: Date.now(), level: 'info', type: 'note', message: `line number ${i}` });
    });
    await openFirst(h, 'Chatty');
    await h.waitFor('line number 60');
    await h.press('l');
    // 24 rows: 23 for the app; header, notice and footer leave 20, one for the status: 19 lines a page.
    let f = await h.waitFor('Log · #1 Chatty');
    f = await h.waitFor('lines 42–60 of 60 · following');
    expect(f).toContain('line number 60');
    expect(f).not.toContain('line number 41\n');
    await h.press(KEY.pageUp);
    f = await h.waitFor('lines 23–41 of 60');
    expect(f).toContain('line number 23');
    expect(f).not.toContain('following');
    await h.press(KEY.up);
    await h.waitFor('lines 22–40 of 60');
    await h.press('k');
    await h.waitFor('lines 21–39 of 60');
    await h.press(KEY.home);
    await h.waitFor('lines 1–19 of 60');
    await h.press(KEY.down, 'j');
    await h.waitFor('lines 3–21 of 60');
    await h.press(KEY.pageDown);
    await h.waitFor('lines 22–40 of 60');
    await h.press(KEY.end);
    await h.waitFor('lines 42–60 of 60 · following');
    // Following: a new line scrolls in by itself.
    const other = openSqliteStore(h.db); // another process logs it
    await other.addEvent({ campaignId: 1, at: Date.now(), level: 'warn', type: 'note', message: 'line number 61' });
    await other.close();
    await h.waitFor('lines 43–61 of 61 · following', 3000);
    await h.press(KEY.escape);
    await h.waitFor('aremko-mail › #1 Chatty');
    await h.press('l');
    await h.waitFor('Log · #1 Chatty');
    await h.press('q');
    await h.waitFor('aremko-mail › #1 Chatty');
    // From the list, the log returns to the list.
    await h.press(KEY.escape);
    await h.waitFor('aremko-mail · Campaigns');
    await h.press('l');
    await h.waitFor('Log · #1 Chatty');
    await h.press(KEY.escape);
    await h.waitFor('aremko-mail · Campaigns');
  });

  it('? shows the help over any screen; Esc or ? closes it', async () => {
    h = await mount({ lang: 'en' }, async (store) => {
      await createCampaign(store, { name: 'Helpful' }, 1);
    });
    await h.waitFor('› #1 Helpful');
    await h.press('?');
    const f = await h.waitFor('Keys');
    for (const k of ['Enter', 'Esc', 'Ctrl+C', 'the full log', 'resend them or mark them sent', 'cancel the campaign'])
      expect(f).toContain(k);
    await h.press(KEY.escape);
    await h.waitFor((x) => !x.includes('Esc or ? to close'));
    await h.press(KEY.enter);
    await h.waitFor('aremko-mail › #1 Helpful');
    await h.press('?');
    await h.waitFor('Esc or ? to close');
    expect(h.frame()).toContain('aremko-mail › #1 Helpful');
    await h.press('?');
    await h.waitFor((x) => !x.includes('Esc or ? to close'));
    await h.cleanup();

    h = await mount({ lang: 'es' });
    await h.waitFor('Aún no hay campañas.');
    await h.press('?');
    const es = await h.waitFor('Teclas');
    expect(es).toContain('reenviarlos o marcarlos enviados');
    expect(es).toContain('Esc o ? para cerrar');
  });

  it('shows times in the campaign time zone, and the zone', async () => {
    h = await mount({ lang: 'es' }, async (store) => {
      const c = await createCampaign(store, { name: 'Con zona', timeZone: 'Asia/Kathmandu' }, 1);
      await store.addEvent({ campaignId: c.id, at: Date.UTC(2026, 0, 5, 10, 0, 0), level: 'info', type: 'note', message: 'hola' });
    });
    await openFirst(h, 'Con zona');
    const f = await h.waitFor('hola');
    expect(f).toContain('Registro · horas en Asia/Kathmandu');
    // 10:00 UTC is 15:45 in Kathmandu (+05:45); not today, so with the date.
    expect(f).toMatch(/5 ene.*15:45 hola/);
  });
});

describe('quitting', () => {
  it('q while sending asks; n stays; y stops like SIGTERM (in flight recorded, lease released) and exits', async () => {
    h = await mount({ lang: 'en' }, async (store) => {
      await createCampaign(store, { name: 'Long one', batchSize: 3, intervalSeconds: 60 }, 30);
    });
    await openFirst(h, 'Long one');
    await h.press('s');
    await h.waitFor(/Next batch: in 0:5\d/, 15_000);
    await h.press('q');
    await h.waitFor('aremko-mail · Campaigns');
    await h.press('q');
    await h.waitFor('This window is sending. Stop and quit?');
    await h.press('n');
    await h.waitFor((f) => !f.includes('Stop and quit?'));
    expect(h.hasExited()).toBe(false);
    await h.press('q');
    await h.waitFor('Stop and quit?');
    await h.press('y');
    await h.exited;
    const s = await summary(h.store);
    expect(s.runners).toEqual([]);
    expect(s.counts.sending).toBe(0);
    expect(s.counts.sent).toBe(3);
    expect(s.campaign.status).toBe('sending'); // not paused: the next run (cron or TUI) carries on
  });

  it('Ctrl+C while sending asks too; a second Ctrl+C confirms', async () => {
    h = await mount({ lang: 'es' }, async (store) => {
      await createCampaign(store, { name: 'Larga', batchSize: 3, intervalSeconds: 60 }, 30);
    });
    await openFirst(h, 'Larga');
    await h.press('s');
    await h.waitFor(/Próximo lote: en 0:5\d/, 15_000);
    await h.press(KEY.ctrlC);
    await h.waitFor('Esta ventana está enviando. ¿Detener y salir?');
    await h.press(KEY.ctrlC);
    await h.exited;
    const s = await summary(h.store);
    expect(s.runners).toEqual([]);
    expect(s.counts.sending).toBe(0);
  });

  it('Ctrl+C with nothing sending quits at once', async () => {
    h = await mount({ lang: 'en' });
    await h.waitFor('No campaigns yet.');
    await h.press(KEY.ctrlC);
    await h.exited;
  });
});

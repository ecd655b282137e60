/**
 * `f`: a campaign's failed and in-doubt recipients, `/` filter, `Enter` history, `r` one by one —
 * on data a real run produced (the engine through a real SMTP server that refuses, defers and
 * cuts off chosen recipients), in the real TUI (App + controller) through ink-testing-library.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { SqliteStore } from '../../src/core/store/sqlite.js';
import { createCampaign, type Harness, KEY, mount } from './harness.js';
import { runWithFailures } from './real-run.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.cleanup();
  h = undefined;
});

const statusOf = (store: SqliteStore, email: string) => store.getRecipient(1, email).then((r) => r?.status);
/** The list's rows (highlighted or not), without the notice or the title. */
const listRows = (frame: string) => frame.split('\n').filter((l) => /^(› | {2})\S+@\S+\s/.test(l));
/** The list's row for an address. */
const rowOf = (frame: string, email: string) => listRows(frame).find((l) => l.slice(2).startsWith(`${email} `)) ?? '';

async function openFailed(x: Harness) {
  await x.waitFor('› #1 With failures');
  await x.press(KEY.enter);
  await x.waitFor('aremko-mail › #1 With failures');
  await x.press('f');
  await x.waitFor(/Failed and in doubt|Fallidos y en duda/);
}

describe('f: failed and in-doubt recipients', () => {
  it('lists each with address, status, attempts, when and last error (en), and in Spanish', async () => {
    h = await mount({ lang: 'en' }, async (store) => {
      await runWithFailures(store);
    });
    await openFailed(h);
    let f = await h.waitFor('r10@example.com');
    expect(f).toContain('Failed and in doubt · #1 With failures');
    expect(f).toContain('5 failed or in doubt · rows 1–5 of 5');
    expect(f).toMatch(/address\s+status\s+tries\s+when\s+last error/);
    expect(rowOf(f, 'r1@example.com')).toMatch(/^› r1@example\.com\s+failed\s+1\s+\d\d:\d\d:\d\d 550 5\.1\.1 <r1@example\.com>: user unknown/);
    expect(rowOf(f, 'r4@example.com')).toMatch(/failed\s+2\s+\d\d:\d\d:\d\d 451 4\.7\.1 greylisted/);
    expect(rowOf(f, 'r7@example.com')).toMatch(/in doubt\s+1\s+\d\d:\d\d:\d\d connection lost after the message data/);
    expect(rowOf(f, 'r9@example.com')).toMatch(/failed\s+1\s+.*554 5\.7\.1 message rejected as spam/);
    // Only the failed and in-doubt ones: the sent are not listed.
    for (const sent of ['r0@', 'r2@', 'r3@', 'r5@', 'r11@']) expect(f).not.toContain(sent);
    expect(f).toContain('Enter history');
    await h.cleanup();

    h = await mount({ lang: 'es' }, async (store) => {
      await runWithFailures(store);
    });
    await openFailed(h);
    f = await h.waitFor('r10@example.com');
    expect(f).toContain('Fallidos y en duda · #1 With failures');
    expect(f).toContain('5 fallidos o en duda · filas 1–5 de 5');
    expect(f).toMatch(/dirección\s+estado\s+int\.\s+cuándo\s+último error/);
    expect(rowOf(f, 'r1@example.com')).toMatch(/fallido\s+1\s/);
    expect(rowOf(f, 'r7@example.com')).toMatch(/en duda\s+1\s/);
    // Esc goes back to the detail, q too.
    await h.press(KEY.escape);
    await h.waitFor('aremko-mail › #1 With failures');
    await h.press('f');
    await h.waitFor('Fallidos y en duda');
    await h.press('q');
    await h.waitFor('aremko-mail › #1 With failures');
    expect(h.hasExited()).toBe(false);
  });

  it('scrolls with ↑ ↓ k j, PgUp PgDn, Home End; the page follows the highlight', async () => {
    // 30 recipients, every even one refused: 15 failed, more than a page of a 80×12 terminal.
    h = await mount({ lang: 'en' }, async (store) => {
      await runWithFailures(store, { recipients: 30, batchSize: 10, behaviour: (rcpt) => (Number(/r(\d+)@/.exec(rcpt)![1]) % 2 === 0 ? { rcptReply: '550 5.7.1 refused' } : 'accept') });
    });
    h.resize(80, 12);
    await openFailed(h);
    // 11 rows for the app: header, footer, notice, status line and column heads leave 6 rows.
    let f = await h.waitFor('rows 1–6 of 15');
    expect(rowOf(f, 'r0@example.com')).toMatch(/^› /);
    expect(f).not.toContain('r12@example.com');
    await h.press(KEY.down, 'j');
    f = await h.waitFor((x) => rowOf(x, 'r4@example.com').startsWith('› '));
    expect(f).toContain('rows 1–6 of 15'); // still on the first page
    await h.press(KEY.pageDown);
    f = await h.waitFor((x) => rowOf(x, 'r16@example.com').startsWith('› '));
    expect(f).toContain('rows 4–9 of 15');
    await h.press(KEY.end);
    f = await h.waitFor((x) => rowOf(x, 'r28@example.com').startsWith('› '));
    expect(f).toContain('rows 10–15 of 15');
    await h.press('k', KEY.up);
    await h.waitFor((x) => rowOf(x, 'r24@example.com').startsWith('› '));
    await h.press(KEY.pageUp);
    f = await h.waitFor((x) => rowOf(x, 'r12@example.com').startsWith('› '));
    expect(f).toContain('rows 7–12 of 15');
    await h.press(KEY.home);
    await h.waitFor((x) => rowOf(x, 'r0@example.com').startsWith('› ') && x.includes('rows 1–6 of 15'));
    await h.press(KEY.up); // already at the top: stays
    await h.press('j');
    await h.waitFor((x) => rowOf(x, 'r2@example.com').startsWith('› '));
  });

  it('/ filters by address or error text: typing edits it, Enter or Esc leaves filter mode', async () => {
    h = await mount({ lang: 'en' }, async (store) => {
      await runWithFailures(store);
    });
    await openFailed(h);
    await h.waitFor('r10@example.com');
    await h.press('/');
    await h.waitFor('Filter (address or error): ');
    // Error text: "spam" is in r9's answer only.
    await h.press('s', 'p', 'a', 'm');
    let f = await h.waitFor((x) => x.includes('Filter (address or error): spam') && !x.includes('r1@example.com'));
    expect(rowOf(f, 'r9@example.com')).toMatch(/^› r9@example\.com/);
    await h.press(KEY.enter);
    f = await h.waitFor('1 of 5 match "spam"');
    expect(f).not.toContain('Filter (address or error)');
    // Out of filter mode, / edits the same filter again.
    await h.press('/');
    await h.waitFor('Filter (address or error): spam');
    // Backspace (DEL, as terminals send it) four times, then an address part typed in one chunk;
    // in filter mode q and ? are letters, not "back" and "help".
    await h.press('\u007F', '\u007F', '\u007F', '\u007F');
    await h.waitFor((x) => x.includes('Filter (address or error): ') && x.includes('r1@example.com'));
    await h.press('r1?q');
    f = await h.waitFor('Filter (address or error): r1?q');
    expect(f).not.toContain('Keys'); // no help
    expect(f).toContain('Failed and in doubt'); // still here
    await h.press('\u0015'); // Ctrl+U clears
    await h.waitFor((x) => /Filter \(address or error\): \s/.test(x) && x.includes('r9@example.com'));
    await h.press('r', '1');
    // "r1" matches r1@ and r10@ (addresses), not r11 (sent, not listed).
    f = await h.waitFor((x) => x.includes('r10@example.com') && !x.includes('r4@example.com'));
    expect(f).toContain('r1@example.com');
    await h.press(KEY.escape);
    f = await h.waitFor('2 of 5 match "r1"');
    // Nothing matches: says so.
    await h.press('/', 'z', 'z', 'z', KEY.enter);
    await h.waitFor('Nothing matches "r1zzz".');
    // Esc now goes back to the detail; f again starts with no filter.
    await h.press(KEY.escape);
    await h.waitFor('aremko-mail › #1 With failures');
    await h.press('f');
    await h.waitFor('5 failed or in doubt');
  });

  it('Enter shows one recipient’s history: every attempt and the server’s answer (en and es)', async () => {
    h = await mount({ lang: 'en' }, async (store) => {
      await runWithFailures(store);
    });
    await openFailed(h);
    await h.waitFor('r10@example.com');
    await h.press('j', KEY.enter); // r4: deferred twice
    let f = await h.waitFor('History · r4@example.com');
    f = await h.waitFor('attempt 2');
    expect(f).toMatch(/failed · attempts: 2 · batch \d/);
    const lines = f.split('\n');
    const first = lines.findIndex((l) => l.includes('attempt 1'));
    const second = lines.findIndex((l) => l.includes('attempt 2'));
    expect(first).toBeGreaterThan(0);
    expect(second).toBeGreaterThan(first); // oldest first
    expect(lines[first]).toMatch(/^\d\d:\d\d:\d\d attempt 1 · temporary failure · batch \d+ · retry at \d\d:\d\d:\d\d/);
    expect(lines[first + 1]).toMatch(/^\s+451 4\.7\.1 greylisted, try again later/);
    expect(lines[second]).toMatch(/attempt 2 · refused/);
    expect(lines[second + 1]).toMatch(/451 4\.7\.1 greylisted.*gave up after 2 attempts/);
    // Back to the list, where it was.
    await h.press(KEY.escape);
    f = await h.waitFor('5 failed or in doubt');
    expect(rowOf(f, 'r4@example.com')).toMatch(/^› /);
    await h.cleanup();

    h = await mount({ lang: 'es' }, async (store) => {
      await runWithFailures(store);
    });
    await openFailed(h);
    await h.waitFor('r10@example.com');
    await h.press(KEY.enter); // r1: unknown mailbox
    f = await h.waitFor('Historial · r1@example.com');
    f = await h.waitFor('rechazado');
    expect(f).toMatch(/fallido · intentos: 1 · lote \d/);
    expect(f).toMatch(/intento 1 · rechazado/);
    expect(f).toContain('550 5.1.1 <r1@example.com>: user unknown');
    await h.press('q');
    await h.waitFor('Fallidos y en duda');
    // r4's retries ran out: the engine's English suffix is said in Spanish, the server's answer kept.
    await h.press('j', KEY.enter);
    f = await h.waitFor('intento 2');
    expect(f).toMatch(/451 4\.7\.1 greylisted, try again later \(abandonado tras 2 intentos\)/);
    expect(f).not.toContain('gave up');
  });

  it('r resolves one in-doubt recipient (asks first): resend or mark sent, from the list or its history', async () => {
    h = await mount({ lang: 'en' }, async (store) => {
      await runWithFailures(store);
    });
    await openFailed(h);
    await h.waitFor('r10@example.com');
    // On a failed recipient: nothing to resolve.
    await h.press('r');
    await h.waitFor('r1@example.com (#1) is not in doubt: nothing to resolve.');
    // r7 is in doubt: r asks; Esc leaves it as it is.
    await h.press('j', 'j', 'r');
    await h.waitFor('r7@example.com is in doubt: it may or may not have received the message.');
    expect(h.frame()).toContain('r resend it · m mark it sent · Esc leave it');
    await h.press(KEY.escape);
    await h.waitFor((x) => !x.includes('may or may not'));
    expect(await statusOf(h.store, 'r7@example.com')).toBe('in_doubt');
    await h.press('r');
    await h.waitFor('r7@example.com is in doubt');
    await h.press('r');
    await h.waitFor('r7@example.com (#1) queued to send again.');
    expect(await statusOf(h.store, 'r7@example.com')).toBe('pending');
    expect(await statusOf(h.store, 'r10@example.com')).toBe('in_doubt'); // only that one
    // It leaves the list; the counts follow (a resend reopens the completed campaign).
    let f = await h.waitFor('4 failed or in doubt');
    expect(listRows(f).join('\n')).not.toContain('r7@example.com');
    expect(listRows(f)).toHaveLength(4);
    expect(f).toMatch(/#1 With failures\s+sending/);

    // From the history: r10, then m marks it sent.
    await h.press(KEY.end, KEY.enter);
    await h.waitFor('History · r10@example.com');
    await h.waitFor(/in doubt · attempts: 1/);
    await h.press('r');
    await h.waitFor('r10@example.com is in doubt');
    await h.press('m');
    await h.waitFor('r10@example.com (#1) marked sent.');
    f = await h.waitFor(/sent · attempts: 1/);
    expect(await statusOf(h.store, 'r10@example.com')).toBe('sent');
    // Resolved: a second r finds nothing to resolve.
    await h.press('r');
    await h.waitFor('r10@example.com (#1) is not in doubt: nothing to resolve.');
    await h.press(KEY.escape);
    f = await h.waitFor('3 failed or in doubt');
    expect(listRows(f).join('\n')).not.toContain('r10@example.com');
    const summary = (await h.store.summaries([1]))[0]!;
    expect(summary.counts).toMatchObject({ in_doubt: 0, failed: 3, pending: 1, sent: 8 });
  });

  it('in Spanish the question and the answers are Spanish too', async () => {
    h = await mount({ lang: 'es' }, async (store) => {
      await runWithFailures(store);
    });
    await openFailed(h);
    await h.waitFor('r10@example.com');
    await h.press('j', 'j', 'r');
    await h.waitFor('r7@example.com está en duda: puede que haya recibido el mensaje, o no.');
    expect(h.frame()).toContain('r reenviarlo · m marcarlo enviado · Esc dejarlo así');
    await h.press('m');
    await h.waitFor('r7@example.com (#1) quedó marcado como enviado.');
  });

  it('f says so when there is nothing to list, or when the database cannot list recipients', async () => {
    h = await mount({ lang: 'en' }, async (store) => {
      await createCampaign(store, { name: 'Clean' }, 3);
    });
    await h.waitFor('› #1 Clean');
    await h.press(KEY.enter, 'f');
    await h.waitFor('Campaign #1 has no failed or in-doubt recipients.');
    expect(h.frame()).toContain('aremko-mail › #1 Clean');
    // On the list, f is not a key (it belongs to a campaign's detail).
    await h.press(KEY.escape);
    await h.waitFor('aremko-mail · Campaigns');
    await h.press('f');
    expect(h.frame()).not.toContain('Failed and in doubt');
  });
});

/**
 * Every event type and every run outcome, rendered in both languages from the event's type and
 * data: no raw identifier (a snake_case word such as `lease_lost`), no English in the Spanish
 * text, never the stored English `message` — except for a type the TUI does not know, which
 * shows that message rather than nothing.
 */
import { describe, expect, it } from 'vitest';
import type { LogLine, Notice } from '../../src/ui/controller.js';
import { noticeText } from '../../src/ui/describe.js';
import { EVENT_TYPES as CORE_EVENT_TYPES } from '../../src/core/events.js';
import { API, AROUND, CLOSED_BEFORE_SENT, DEDUPE_ELSEWHERE, DEDUPE_EXPIRED, GAVE_UP, MARKED_SENT, RUNNER_GONE, SAFE_UNTIL, STILL_DEDUPLICATED } from '../../src/core/stored-errors.js';
import { CAMPAIGN_OUTCOMES, EVENT_TYPES, eventText, storedErrorText, storedPhrasesFor } from '../../src/ui/event-text.js';
import { Formatter, type Lang, MESSAGES } from '../../src/ui/i18n.js';

const AT = Date.UTC(2026, 10, 27, 12);

// Data values: recognisable, and no word of either language, so what is left is the TUI's own words.
const DATA = {
  email: 'ana.perez@dominio.cl',
  error: 'E4711',
  owner: 'host-a:101',
  holder: 'host-b:202',
  file: 'lista.csv',
};

/** An API transport's "provider (endpoint)". */
const API_WHERE = 'Acme (https://api.acme.example)';

/** Sample data for each type, as the engine and the store write it (some types twice: each branch). */
const SAMPLES: Record<string, Record<string, unknown>[]> = {
  lease_lost: [{ owner: DATA.owner }],
  batch_started: [{ batch: 2, batchSize: 50 }],
  batch_finished: [
    { batch: 2, nextBatchAt: AT + 720_000 },
    { batch: 6, nextBatchAt: null },
  ],
  sent: [
    { recipientId: 1, email: DATA.email, batch: 2, attempt: 1, response: '250 2.0.0 OK', messageId: '<m@x>' },
    { recipientId: 1, email: DATA.email, batch: 2, attempt: 3, response: '250 2.0.0 OK', messageId: '<m@x>' },
  ],
  retry_scheduled: [
    { recipientId: 1, email: DATA.email, attempt: 1, retryAt: AT + 60_000, error: DATA.error },
    // The SMTP transport's and the engine's words around the server's (core/stored-errors.ts).
    { recipientId: 1, email: DATA.email, attempt: 1, retryAt: AT + 60_000, error: AROUND.lost_before_data(DATA.error) },
    { recipientId: 1, email: DATA.email, attempt: 1, retryAt: AT + 60_000, error: CLOSED_BEFORE_SENT },
    // An HTTPS API transport's words (core/stored-errors.ts API, SAFE_UNTIL).
    { recipientId: 1, email: DATA.email, attempt: 1, retryAt: AT + 60_000, error: API.unreachable(API_WHERE, DATA.error) },
    { recipientId: 1, email: DATA.email, attempt: 1, retryAt: AT + 60_000, error: `${API.answer_lost(DATA.error)} ${SAFE_UNTIL('2026-12-02T12:00:00.000Z')}` },
  ],
  failed: [
    { recipientId: 1, email: DATA.email, attempt: 1, error: DATA.error, suppressed: true },
    { recipientId: 1, email: DATA.email, attempt: 5, error: DATA.error, suppressed: false },
    // Retries used up: the engine appends its own English words to the server's answer.
    { recipientId: 1, email: DATA.email, attempt: 5, error: `${DATA.error} (gave up after 5 attempts)`, suppressed: false },
    { recipientId: 1, email: DATA.email, attempt: 3, error: `${AROUND.lost_before_data(DATA.error)} (gave up after 3 attempts)`, suppressed: false },
    { recipientId: 1, email: DATA.email, attempt: 1, error: AROUND.not_built(DATA.error), suppressed: false },
  ],
  in_doubt: [
    { recipientId: 1, email: DATA.email, error: DATA.error },
    { recipientId: 1, email: DATA.email, error: `${DATA.error} (gave up after 3 attempts)` },
    // No server answered: the error is the tool's own words (core/stored-errors.ts), as the store writes them.
    { recipientId: 1, email: DATA.email, error: RUNNER_GONE(DATA.owner) },
    { recipientId: 1, email: DATA.email, error: RUNNER_GONE(DATA.owner) + STILL_DEDUPLICATED },
    { recipientId: 1, email: DATA.email, error: DEDUPE_EXPIRED },
    { recipientId: 1, email: DATA.email, error: DEDUPE_ELSEWHERE },
    { recipientId: 1, email: DATA.email, error: MARKED_SENT },
    { recipientId: 1, email: DATA.email, error: AROUND.lost_after_data(DATA.error) },
    { recipientId: 1, email: DATA.email, error: AROUND.unexpected_reply(DATA.error) },
    { recipientId: 1, email: DATA.email, error: AROUND.transport_error(DATA.error) },
    { recipientId: 1, email: DATA.email, error: AROUND.not_sent(DATA.error) },
    { recipientId: 1, email: DATA.email, error: API.lost_unkeyed(API_WHERE, DATA.error) },
    { recipientId: 1, email: DATA.email, error: `${API.lost_window_passed(API_WHERE, DATA.error)} (gave up after 3 attempts)` },
  ],
  waiting: ['interval', 'rate', 'window', 'retry', 'deadline'].map((reason) => ({ until: AT + 60_000, reason })),
  stopped: ['paused', 'cancelled', 'completed', 'draft', 'sending'].map((status) => ({ status })),
  completed: [{ counts: { total: 11, pending: 0, sending: 0, sent: 10, failed: 1, suppressed: 0, in_doubt: 0 } }],
  transport_error: [{ error: DATA.error }],
  run_ended: CAMPAIGN_OUTCOMES.map((outcome) => ({ outcome, sent: 3, failed: 1, retried: 0, inDoubt: 0 })),
  status: [
    { from: 'draft', to: 'sending' },
    { from: 'sending', to: 'paused' },
    { from: 'completed', to: 'sending' },
    { from: 'sending', to: 'cancelled' },
  ],
  import: [{ file: DATA.file, imported: 40, duplicates: 2, suppressed: 1, invalid: 3 }],
  resolve: [
    { mode: 'resend', count: 2 },
    { mode: 'mark-sent', count: 1, emails: [DATA.email] },
  ],
  runner_joined: [{ owner: DATA.owner }],
  runner_reaped: [{ owner: DATA.owner, inDoubt: 2, requeued: 5 }],
  throttled: [{ until: AT + 30_000, error: DATA.error }],
  requeued: [{ recipientId: 1, email: DATA.email, attempt: 1, batch: 2 }],
};

/** Words that are English and never Spanish (the Spanish text may not hold any). */
const ENGLISH = new Set(
  `the of and to from for by with at is was are not nothing sent send sending failed fail failure batch batches campaign
   recipient recipients imported import duplicates duplicate suppressed invalid new lease runner runners joined left gone
   attempt attempts retry waiting until completed complete stopped stop queued again marked mark server mail unavailable
   doubt started finished next took over being watching lost claiming claimed deadline time limit paused cancelled gave up after
   cancel run ended provider asked slow down between rate window outside due draft temporary address it its them
   connection message data went out before reply unexpected could build transport closed
   request answer cannot reach idempotency key protects safe resend same passed`
    .split(/\s+/)
    .filter(Boolean),
);

function line(type: string, data: Record<string, unknown>): LogLine {
  return { key: 'e1', at: AT, level: 'info', type, data, message: `STORED ${type}` };
}

/** The TUI's own words in `text`: data values and formatted numbers and times taken out. */
function ownWords(text: string): string {
  let s = text;
  for (const v of Object.values(DATA)) s = s.split(v).join(' ');
  return s.replace(/\d[\d:.,]*/g, ' ');
}

function problems(lang: Lang, text: string): string[] {
  const out: string[] = [];
  if (/STORED /.test(text)) out.push('shows the stored English message');
  if (/\{\w+\}|undefined|NaN|null|\[object/.test(text)) out.push('an unfilled or broken value');
  const own = ownWords(text);
  const raw = own.match(/\b[a-z]+(?:[_-][a-z]+)*_[a-z]+\b/g);
  if (raw) out.push(`raw identifier(s): ${raw.join(', ')}`);
  if (lang === 'es') {
    const english = own
      .toLowerCase()
      .split(/[^a-záéíóúñü]+/)
      .filter((w) => ENGLISH.has(w));
    if (english.length > 0) out.push(`English word(s): ${english.join(', ')}`);
  }
  return out;
}

describe('every event type and every run outcome, in Spanish and English', () => {
  it('the samples cover every type of the log (core/events.ts), and the TUI words them all', () => {
    expect(Object.keys(SAMPLES).sort()).toEqual([...CORE_EVENT_TYPES].sort());
    expect([...EVENT_TYPES].sort()).toEqual([...CORE_EVENT_TYPES].sort());
    expect(CAMPAIGN_OUTCOMES).toEqual(expect.arrayContaining(['deadline', 'lease_lost', 'unavailable', 'database_error', 'error', 'missing', 'not_sending']));
  });

  for (const lang of ['es', 'en'] as const) {
    it(`${lang}: each event reads as ${lang === 'es' ? 'Spanish' : 'English'}, with no raw identifier`, () => {
      const fmt = new Formatter(lang);
      const bad: string[] = [];
      for (const [type, samples] of Object.entries(SAMPLES))
        for (const data of samples) {
          const text = eventText(line(type, data), MESSAGES[lang], fmt, 'UTC', AT);
          for (const p of problems(lang, text)) bad.push(`${type} ${JSON.stringify(data)}: ${p}\n    "${text}"`);
        }
      expect(bad, bad.join('\n')).toEqual([]);
    });

    it(`${lang}: each run outcome, in the log and in the notice, in words`, () => {
      const fmt = new Formatter(lang);
      const bad: string[] = [];
      for (const outcome of CAMPAIGN_OUTCOMES) {
        const texts = [
          eventText(line('run_ended', { outcome, sent: 1, failed: 0, retried: 0, inDoubt: 0 }), MESSAGES[lang], fmt, 'UTC', AT),
          noticeText({ level: 'info', at: AT, code: 'run_ended', id: 3, outcome, error: DATA.error } as Notice, MESSAGES[lang], fmt),
        ];
        for (const text of texts) {
          expect(text).not.toContain(`(${outcome})`);
          for (const p of problems(lang, text)) bad.push(`${outcome}: ${p}\n    "${text}"`);
        }
      }
      expect(bad, bad.join('\n')).toEqual([]);
    });
  }

  it('the examples the issue named read right', () => {
    const es = new Formatter('es');
    const say = (type: string, data: Record<string, unknown>) => eventText(line(type, data), MESSAGES.es, es, 'UTC', AT);
    expect(say('run_ended', { outcome: 'deadline', sent: 50, failed: 0, inDoubt: 0 })).toBe(
      'terminó un envío (nada más que enviar antes del tiempo límite): 50 enviados, 0 fallidos, 0 en duda',
    );
    expect(say('run_ended', { outcome: 'lease_lost', sent: 0, failed: 0, inDoubt: 0 })).toContain('(otro proceso tomó el envío)');
    expect(say('import', { file: 'd.csv', imported: 40, duplicates: 0, suppressed: 0, invalid: 0 })).toBe(
      'importación de d.csv: nuevos 40, duplicados 0, suprimidos 0, inválidos 0',
    );
    expect(say('status', { from: 'draft', to: 'sending' })).toBe('campaña borrador → enviando');
    expect(say('completed', { counts: { sent: 7, failed: 3, in_doubt: 2 } })).toBe('campaña completada: enviados 7, fallidos 3, en duda 2');
    expect(say('resolve', { mode: 'resend', count: 2 })).toBe('destinatarios en duda que se enviarán de nuevo: 2');
  });

  it('a type this version does not know shows its stored message; an unknown outcome is shown as named', () => {
    for (const lang of ['es', 'en'] as const) {
      const fmt = new Formatter(lang);
      expect(eventText(line('something_new', {}), MESSAGES[lang], fmt, 'UTC', AT)).toBe('STORED something_new');
      expect(eventText({ ...line('something_new', {}), message: '' }, MESSAGES[lang], fmt, 'UTC', AT)).toBe('something_new');
      expect(eventText(line('run_ended', { outcome: 'mystery', sent: 0, failed: 0, inDoubt: 0 }), MESSAGES[lang], fmt, 'UTC', AT)).toContain('(mystery)');
    }
  });

  it('the check itself catches English, raw identifiers and the stored message', () => {
    // A check that cannot fail proves nothing: feed it what the old code printed.
    expect(problems('es', 'terminó un envío (deadline): 1 enviados')).toEqual(['English word(s): deadline']);
    expect(problems('es', 'terminó un envío (lease_lost): 1 enviados')).toContain('raw identifier(s): lease_lost');
    expect(problems('en', 'run ended (lease_lost): 1 sent')).toEqual(['raw identifier(s): lease_lost']);
    expect(problems('es', 'imported 40 recipient(s) from lista.csv')).toEqual(['English word(s): imported, recipient, from']);
    expect(problems('es', 'campaign draft → sending')).toEqual(['English word(s): campaign, draft, sending']);
    expect(problems('en', 'STORED import')).toEqual(['shows the stored English message']);
    expect(problems('en', 'batch {batch} started')).toEqual(['an unfilled or broken value']);
  });
});

describe('a search in the operator\'s language finds the tool\'s stored English words', () => {
  const stored = [
    AROUND.lost_before_data('Connection closed unexpectedly'),
    AROUND.lost_after_data('Connection closed unexpectedly'),
    RUNNER_GONE('h1:42'),
    RUNNER_GONE('h1:42') + STILL_DEDUPLICATED,
    DEDUPE_EXPIRED,
    MARKED_SENT,
    `451 4.7.1 try later ${GAVE_UP(3)}`,
    '550 5.1.1 user unknown',
    API.lost_unkeyed(API_WHERE, 'socket hang up'),
    `${API.answer_lost('socket hang up')} ${SAFE_UNTIL('2026-12-02T12:00:00.000Z')}`,
  ];
  /** What a search for `text` would find: stored errors holding the text itself or one of its phrases (case aside). */
  const found = (lang: Lang, text: string) => {
    const wanted = [text, ...storedPhrasesFor(text, MESSAGES[lang])].map((w) => w.toLowerCase());
    return stored.filter((e) => wanted.some((w) => e.toLowerCase().includes(w)));
  };

  it('each Spanish phrase, as the list shows it, with or without accents', () => {
    const fmt = new Formatter('es');
    for (const error of stored) {
      const shown = storedErrorText(error, MESSAGES.es, fmt);
      // Any word of four letters or more that the list shows finds the row it is shown on.
      for (const word of shown.split(/[^\p{L}]+/u).filter((w) => w.length >= 4)) expect(found('es', word), `${word} in "${shown}"`).toContain(error);
    }
    expect(found('es', 'conexion perdida')).toEqual([stored[0], stored[1]]);
    expect(found('es', 'CONEXIÓN PERDIDA DESPUÉS')).toEqual([stored[1]]);
    expect(found('es', 'abandonado tras')).toEqual([stored[6]]);
    expect(found('es', 'operador')).toEqual([stored[5]]);
    expect(found('es', 'su respuesta se perdió')).toEqual([stored[8], stored[9]]);
    expect(found('es', 'ninguna clave')).toEqual([stored[8]]);
  });

  it('nothing more than the text itself when no phrase holds it; English searches its own words', () => {
    expect(storedPhrasesFor('greylisted', MESSAGES.es)).toEqual([]);
    expect(storedPhrasesFor('   ', MESSAGES.es)).toEqual([]);
    expect(found('es', '5.1.1')).toEqual([stored[7]]);
    expect(found('en', 'connection lost before')).toEqual([stored[0]]);
  });
});

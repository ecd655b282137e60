import { describe, expect, it } from 'vitest';
import type { LogLine, Notice } from '../../src/ui/controller.js';
import { noticeText } from '../../src/ui/describe.js';
import { eventText } from '../../src/ui/event-text.js';
import { detectLang, Formatter, intlLocale, MESSAGES } from '../../src/ui/i18n.js';

describe('language', () => {
  it('--lang beats the locale; LANG=es_* is Spanish, anything else English', () => {
    expect(detectLang('en', { LANG: 'es_CL.UTF-8' })).toBe('en');
    expect(detectLang('es', { LANG: 'en_US.UTF-8' })).toBe('es');
    expect(detectLang(undefined, { LANG: 'es_CL.UTF-8' })).toBe('es');
    expect(detectLang(undefined, { LANG: 'es' })).toBe('es');
    expect(detectLang(undefined, { LC_ALL: 'es_ES.UTF-8', LANG: 'en_US.UTF-8' })).toBe('es');
    expect(detectLang(undefined, { LANG: 'en_GB.UTF-8' })).toBe('en');
    expect(detectLang(undefined, { LANG: 'C.UTF-8' })).toBe('en');
    expect(detectLang(undefined, {})).toBe('en');
    expect(detectLang(undefined, { LANG: 'estonian' })).toBe('en');
  });

  it('numbers and dates follow the locale of that language', () => {
    expect(intlLocale('es', { LANG: 'es_CL.UTF-8' })).toBe('es-CL');
    expect(intlLocale('es', { LANG: 'en_US.UTF-8' })).toBe('es');
    expect(intlLocale('en', { LANG: 'en_US.UTF-8' })).toBe('en-US');
    const es = new Formatter('es', 'es-CL');
    const en = new Formatter('en', 'en-US');
    expect(es.num(12345)).toBe('12.345');
    expect(en.num(12345)).toBe('12,345');
    const at = Date.UTC(2026, 10, 27, 15, 4, 5);
    expect(es.time(at, 'America/Santiago', at)).toBe('12:04:05');
    expect(en.time(at, 'UTC', at)).toBe('15:04:05');
    expect(es.time(at, 'UTC', at + 2 * 86_400_000)).toMatch(/27 nov/);
    expect(en.time(at, 'UTC', at + 2 * 86_400_000)).toMatch(/Nov 27/);
  });

  it('countdowns and durations', () => {
    const f = new Formatter('en');
    expect(f.countdown(27_000)).toBe('0:27');
    expect(f.countdown(692_000)).toBe('11:32');
    expect(f.countdown(3_910_000)).toBe('1:05:10');
    expect(f.countdown(3 * 86_400_000 + 4 * 3_600_000)).toBe('3 d 4 h');
    expect(f.countdown(-5)).toBe('0:00');
    expect(f.duration(45_000)).toBe('45 s');
    expect(f.duration(12 * 60_000)).toBe('12 min');
    expect(f.duration(125 * 60_000)).toBe('2 h 05 min');
  });

  it('both languages have every message, and none is left untranslated', () => {
    const flat = (o: unknown, prefix = ''): Record<string, string> => {
      const out: Record<string, string> = {};
      if (typeof o === 'string') out[prefix] = o;
      else if (Array.isArray(o)) o.forEach((v, i) => Object.assign(out, flat(v, `${prefix}[${i}]`)));
      else if (o && typeof o === 'object') for (const [k, v] of Object.entries(o)) Object.assign(out, flat(v, prefix ? `${prefix}.${k}` : k));
      return out;
    };
    const { yesKeys: _enYes, ...enRest } = MESSAGES.en;
    const { yesKeys: _esYes, ...esRest } = MESSAGES.es;
    const en = flat(enRest);
    const es = flat(esRest);
    expect(Object.keys(es).sort()).toEqual(Object.keys(en).sort());
    // Words that are the same in both languages (Enter, Esc, Ctrl+C, "—") are fine, and so are
    // patterns with no word of their own ("{time} ({zone})"); sentences are not.
    const words = (text: string) => /\p{L}/u.test(text.replace(/\{\w+\}/g, ''));
    const same = Object.keys(en).filter((k) => en[k] === es[k] && /\s/.test(en[k]!) && words(en[k]!) && !/^help\[\d+\]\[0\]$/.test(k));
    expect(same.filter((k) => k !== 'notice.error' /* "Error: …" is Spanish too */)).toEqual([]);
  });
});

describe('log lines and notices in both languages', () => {
  const line = (type: string, data: Record<string, unknown>): LogLine => ({ key: 'x', at: Date.UTC(2026, 10, 27, 12), level: 'info', type, data, message: `stored ${type}` });
  const at = Date.UTC(2026, 10, 27, 12);
  const events: [string, Record<string, unknown>][] = [
    ['runner_joined', { owner: 'h:1' }],
    ['runner_reaped', { owner: 'h:2', by: 'h:1', inDoubt: 3, requeued: 0 }],
    ['lease_lost', {}],
    ['batch_started', { batch: 2, batchSize: 50 }],
    ['batch_finished', { batch: 2, nextBatchAt: at + 720_000 }],
    ['batch_finished', { batch: 6, nextBatchAt: null }],
    ['sent', { email: 'a@example.com', batch: 2, attempt: 1 }],
    ['sent', { email: 'a@example.com', batch: 2, attempt: 3 }],
    ['retry_scheduled', { email: 'a@example.com', attempt: 1, retryAt: at + 60_000, error: '451 try later' }],
    ['failed', { email: 'a@example.com', attempt: 1, error: '550 5.1.1 no such user', suppressed: true }],
    ['failed', { email: 'a@example.com', attempt: 5, error: '554 rejected', suppressed: false }],
    ['in_doubt', { email: 'a@example.com', error: 'connection lost after data' }],
    ['waiting', { until: at + 60_000, reason: 'rate' }],
    ['stopped', { status: 'paused' }],
    ['completed', { counts: { sent: 10, failed: 1, in_doubt: 0 } }],
    ['transport_error', { error: 'ECONNREFUSED' }],
    ['status', { from: 'draft', to: 'sending' }],
    ['resolve', { mode: 'resend', count: 2 }],
    ['resolve', { mode: 'mark-sent', count: 2 }],
  ];

  it('every engine and store event has words of its own in es and en', () => {
    for (const lang of ['en', 'es'] as const) {
      const fmt = new Formatter(lang);
      for (const [type, data] of events) {
        const text = eventText(line(type, data), MESSAGES[lang], fmt, 'UTC', at);
        expect(text, `${lang} ${type}`).not.toMatch(/\{\w+\}|undefined|NaN|stored /);
        expect(text.length).toBeGreaterThan(5);
      }
    }
    const es = new Formatter('es');
    expect(eventText(line('sent', { email: 'a@example.com', batch: 2, attempt: 1 }), MESSAGES.es, es, 'UTC', at)).toBe('enviado a a@example.com (lote 2)');
    expect(eventText(line('status', { from: 'paused', to: 'sending' }), MESSAGES.es, es, 'UTC', at)).toBe('campaña en pausa → enviando');
    expect(eventText(line('waiting', { until: at + 60_000, reason: 'window' }), MESSAGES.en, new Formatter('en'), 'UTC', at)).toBe(
      'waiting until 12:01:00 (outside the send window)',
    );
    // Unknown types (another command's events) show their stored message.
    expect(eventText(line('note', {}), MESSAGES.es, es, null, at)).toBe('stored note');
  });

  it('every notice has words in es and en', () => {
    const base = { level: 'info' as const, at };
    const notices: Notice[] = [
      { ...base, code: 'no_transport' },
      { ...base, code: 'bad_transport', error: 'bad url' },
      { ...base, code: 'sending_now', id: 1 },
      { ...base, code: 'already_running', id: 1 },
      { ...base, code: 'paused', id: 1 },
      { ...base, code: 'cancelled', id: 1 },
      { ...base, code: 'no_pending', id: 1 },
      { ...base, code: 'no_in_doubt', id: 1 },
      { ...base, code: 'resolved', id: 1, mode: 'resend', count: 2 },
      { ...base, code: 'resolved', id: 1, mode: 'mark-sent', count: 2 },
      { ...base, code: 'not_startable', id: 1, status: 'completed' },
      { ...base, code: 'not_pausable', id: 1, status: 'draft' },
      { ...base, code: 'not_cancellable', id: 1, status: 'completed' },
      { ...base, code: 'missing_fields', id: 1, fields: [{ name: 'nombre', count: 3 }] },
      ...(['completed', 'paused', 'cancelled', 'stopped', 'deadline', 'lease_lost', 'unavailable', 'not_sending'] as const).map(
        (outcome): Notice => ({ ...base, code: 'run_ended', id: 1, outcome, error: 'x' }),
      ),
      { ...base, code: 'error', text: 'boom' },
    ];
    for (const lang of ['en', 'es'] as const) {
      for (const n of notices) {
        const text = noticeText(n, MESSAGES[lang], new Formatter(lang));
        expect(text, `${lang} ${n.code}`).not.toMatch(/\{\w+\}|undefined/);
      }
    }
    expect(noticeText({ ...base, code: 'not_pausable', id: 3, status: 'draft' }, MESSAGES.es, new Formatter('es'))).toBe(
      'La campaña #3 está en borrador: solo se puede pausar una campaña que está enviando.',
    );
  });
});

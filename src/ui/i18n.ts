/**
 * The TUI's language (Spanish or English, from --lang or the locale), its words (the tables in
 * messages.en.ts and messages.es.ts), and the locale-aware formatting of numbers, times and
 * durations (Intl). No React here: the controller and tests use it too.
 */
import { en, type Messages } from './messages.en.js';
import { es } from './messages.es.js';

export type Lang = 'es' | 'en';

/** `--lang` beats the locale (`LC_ALL`, `LC_MESSAGES`, `LANG`): `es_*` is Spanish, anything else English. */
export function detectLang(flag?: string | null, env: NodeJS.ProcessEnv = process.env): Lang {
  if (flag === 'es' || flag === 'en') return flag;
  const locale = env.LC_ALL || env.LC_MESSAGES || env.LANG || '';
  return /^es([_.-]|$)/i.test(locale) ? 'es' : 'en';
}

/** The Intl locale for numbers and dates: the region of the environment's locale when it speaks `lang`. */
export function intlLocale(lang: Lang, env: NodeJS.ProcessEnv = process.env): string {
  const locale = env.LC_ALL || env.LC_NUMERIC || env.LC_TIME || env.LANG || '';
  const m = /^([a-z]{2})[_-]([A-Z]{2})/.exec(locale);
  if (m && m[1] === lang) {
    const tag = `${m[1]}-${m[2]}`;
    try {
      if (Intl.NumberFormat.supportedLocalesOf([tag]).length > 0) return tag;
    } catch {
      /* fall through */
    }
  }
  return lang;
}

type P = Record<string, string | number>;
const fill = (template: string, params: P = {}) => template.replace(/\{(\w+)\}/g, (_, k: string) => String(params[k] ?? `{${k}}`));

export type { Messages };

export const MESSAGES: Record<Lang, Messages> = { en, es };

/** A string with `{name}` placeholders filled. */
export const t = fill;

/** Locale-aware formatting; times in a campaign's zone (or the local one). */
export class Formatter {
  private readonly numberFmt: Intl.NumberFormat;
  private readonly timeFmts = new Map<string, Intl.DateTimeFormat>();
  private readonly dateTimeFmts = new Map<string, Intl.DateTimeFormat>();
  private readonly dayFmts = new Map<string, Intl.DateTimeFormat>();

  constructor(
    readonly lang: Lang,
    readonly locale: string = lang,
  ) {
    this.numberFmt = new Intl.NumberFormat(locale);
  }

  num(n: number): string {
    return this.numberFmt.format(n);
  }

  percent(fraction: number): string {
    return new Intl.NumberFormat(this.locale, { style: 'percent', maximumFractionDigits: 0 }).format(fraction);
  }

  private fmt(cache: Map<string, Intl.DateTimeFormat>, tz: string | null, options: Intl.DateTimeFormatOptions) {
    const key = tz ?? '';
    let f = cache.get(key);
    if (!f) {
      try {
        f = new Intl.DateTimeFormat(this.locale, { ...options, hourCycle: 'h23', ...(tz ? { timeZone: tz } : {}) });
      } catch {
        f = new Intl.DateTimeFormat(this.locale, { ...options, hourCycle: 'h23' });
      }
      cache.set(key, f);
    }
    return f;
  }

  /** "14:05:10" in the zone; with the date in front when it is not today there. */
  time(ms: number, tz: string | null, now: number = Date.now()): string {
    const day = this.fmt(this.dayFmts, tz, { year: 'numeric', month: '2-digit', day: '2-digit' });
    if (day.format(ms) !== day.format(now)) return this.dateTime(ms, tz);
    return this.fmt(this.timeFmts, tz, { hour: '2-digit', minute: '2-digit', second: '2-digit' }).format(ms);
  }

  dateTime(ms: number, tz: string | null): string {
    return this.fmt(this.dateTimeFmts, tz, { day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' }).format(ms);
  }

  /** A countdown: "0:27", "11:32", "1:05:10", "3 d 4 h". */
  countdown(ms: number): string {
    const total = Math.max(0, Math.ceil(ms / 1000));
    const d = Math.floor(total / 86400);
    const h = Math.floor((total % 86400) / 3600);
    const m = Math.floor((total % 3600) / 60);
    const s = total % 60;
    const two = (n: number) => String(n).padStart(2, '0');
    if (d > 0) return `${d} d ${h} h`;
    if (h > 0) return `${h}:${two(m)}:${two(s)}`;
    return `${m}:${two(s)}`;
  }

  /** A rough duration: "45 s", "12 min", "2 h 05 min", "3 d 4 h". */
  duration(ms: number): string {
    const total = Math.max(0, Math.round(ms / 1000));
    if (total < 60) return `${total} s`;
    const minutes = Math.round(total / 60);
    if (minutes < 60) return `${minutes} min`;
    const h = Math.floor(minutes / 60);
    const m = minutes % 60;
    if (h < 48) return `${h} h ${String(m).padStart(2, '0')} min`;
    return `${Math.floor(h / 24)} d ${h % 24} h`;
  }
}

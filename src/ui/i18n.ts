/**
 * Every word the TUI puts on screen, in Spanish and English, and the locale-aware formatting of
 * numbers, times and durations (Intl). No React here: the controller and tests use it too.
 */
import type { CampaignStatus, RecipientStatus } from '../core/types.js';

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

const en = {
  campaignStatus: {
    draft: 'draft',
    sending: 'sending',
    paused: 'paused',
    completed: 'completed',
    cancelled: 'cancelled',
  } satisfies Record<CampaignStatus, string>,
  /** After "is": "Campaign #3 is a draft". */
  statusIs: {
    draft: 'a draft',
    sending: 'sending',
    paused: 'paused',
    completed: 'completed',
    cancelled: 'cancelled',
  } satisfies Record<CampaignStatus, string>,
  recipientStatus: {
    pending: 'pending',
    sending: 'in flight',
    sent: 'sent',
    failed: 'failed',
    suppressed: 'suppressed',
    in_doubt: 'in doubt',
  } satisfies Record<RecipientStatus, string>,
  waitReason: {
    interval: 'between batches',
    rate: 'rate limit',
    window: 'outside the send window',
    retry: 'retry due',
    deadline: 'deadline',
  } as Record<string, string>,

  title: 'Campaigns',
  loading: 'Loading…',
  noCampaigns: 'No campaigns yet.',
  noCampaignsHint: 'Create one (aremko-mail campaign create …) or try the demo: aremko-mail demo',
  noTransport: 'no transport',
  dbLabel: 'db',
  transportLabel: 'transport',
  sentOfTotal: 'sent {sent}/{total}',
  failedN: 'failed {n}',
  inDoubtN: 'in doubt {n}',
  nextBatchIn: 'next batch in {d}',
  nextBatchNow: 'next batch due now',
  sendingBy: 'sending: {who}',
  thisWindow: 'this window',
  otherRun: 'a run on {owner}',
  moreAbove: '↑ {n} more',
  moreBelow: '↓ {n} more',

  progress: 'Progress',
  batchNofM: 'Batch {n} of {m}',
  batchClaimed: '{claimed}/{size} in this batch',
  batchesDone: 'batches sent: {n}',
  rate: 'Rate',
  perMinute: '{n}/min',
  eta: 'Done',
  etaAt: '≈ {time} (in {d})',
  etaNow: 'finishing',
  unknown: '—',
  nextBatch: 'Next batch',
  inD: 'in {d} ({time})',
  dueNow: 'due now',
  waitingUntil: 'waiting: {reason}, until {time}',
  sender: 'Sending',
  nobody: 'nobody (press s to send from here)',
  lastError: 'Last error',
  none: 'none',
  log: 'Log',
  logEmpty: 'No events yet.',
  zone: 'times in {zone}',

  logTitle: 'Log · #{id} {name}',
  logRange: 'lines {from}–{to} of {total}',
  logFollowing: 'following',
  logOlder: 'older lines: aremko-mail logs {id} --limit <n>',

  keys: {
    move: '↑↓ move',
    open: 'Enter open',
    start: 's send',
    pause: 'p pause',
    cancel: 'c cancel',
    resolve: 'r in doubt',
    log: 'l log',
    help: '? help',
    back: 'Esc back',
    quit: 'q quit',
    scroll: '↑↓ PgUp PgDn scroll',
    ends: 'Home End',
  },

  helpTitle: 'Keys',
  help: [
    ['↑ ↓  k j', 'move between campaigns; scroll the log'],
    ['Enter', 'open the selected campaign'],
    ['s', 'send: starts a draft or resumes a paused campaign, and sends it from this window'],
    ['p', 'pause (messages in flight finish and are recorded)'],
    ['c', 'cancel the campaign (asks first)'],
    ['r', 'in-doubt recipients: resend them or mark them sent'],
    ['l', 'the full log (PgUp/PgDn, Home/End)'],
    ['?', 'this help'],
    ['Esc', 'back'],
    ['q', 'back, or quit (asks first while sending)'],
    ['Ctrl+C', 'quit: like q; stops sending the way SIGTERM does'],
  ] as [string, string][],
  helpClose: 'Esc or ? to close',

  yesNo: '(y/n)',
  yesKeys: ['y'],
  confirmCancel: 'Cancel campaign #{id} "{name}"? No more messages will be sent.',
  confirmQuit: 'This window is sending. Stop and quit? Messages in flight finish and are recorded.',
  resolveTitle: 'Recipients in doubt: {n}. They may or may not have received the message.',
  resolveChoices: 'r resend them · m mark them sent · Esc leave them',
  stopping: 'Stopping: no new sends; waiting for messages in flight to be recorded…',

  notice: {
    no_transport:
      'no transport configured: pass --transport <url> or set AREMKO_MAIL_TRANSPORT (smtp://user:pass@host:587, smtps://user:pass@host:465, or outbox:<dir> to write .eml files)',
    bad_transport: 'transport: {error}',
    sending_now: 'Sending campaign #{id} from this window.',
    already_running: 'This window is already sending campaign #{id}.',
    paused: 'Campaign #{id} paused.',
    cancelled: 'Campaign #{id} cancelled.',
    resolved_resend: 'In-doubt recipients of #{id} queued to send again: {n}.',
    resolved_mark: 'In-doubt recipients of #{id} marked sent: {n}.',
    lease_held: 'Campaign #{id} is being sent by {holder}; this window only watches.',
    not_startable: 'Campaign #{id} is {status}: nothing to send.',
    not_pausable: 'Campaign #{id} is {status}: only a sending campaign can be paused.',
    not_cancellable: 'Campaign #{id} is {status}: it cannot be cancelled.',
    no_pending: 'Campaign #{id} has no pending recipients (import some: aremko-mail import {id} <file.csv>).',
    missing_fields: 'Cannot start #{id}: the templates use {fields}, which some recipients lack.',
    missing_field: '"{name}" (missing for {n})',
    no_in_doubt: 'Campaign #{id} has no recipients in doubt.',
    run_completed: 'Campaign #{id} completed.',
    run_paused: 'Stopped sending #{id}: it was paused.',
    run_cancelled: 'Stopped sending #{id}: it was cancelled.',
    run_stopped: 'Stopped sending #{id}.',
    run_lease_lost: 'Stopped sending #{id}: another runner took it over.',
    run_unavailable: 'Mail server unavailable for #{id}: {error}. Nothing was marked failed.',
    run_other: 'Sending #{id} ended ({outcome}).',
    error: 'Error: {text}',
  },

  ev: {
    lease_acquired: 'started sending ({owner})',
    lease_takeover: 'took over from {from}, which is gone; left in doubt: {n}',
    lease_held: 'being sent by {holder}; watching',
    lease_lost: 'lease lost; stopped claiming',
    batch_started: 'batch {batch} started (up to {size})',
    batch_finished: 'batch {batch} finished',
    batch_finished_next: 'batch {batch} finished; next at {time}',
    sent: 'sent to {email} (batch {batch})',
    sent_retry: 'sent to {email} (batch {batch}, attempt {attempt})',
    retry_scheduled: 'temporary failure for {email} (attempt {attempt}): {error}; retry at {time}',
    failed: 'failed for {email}: {error}',
    failed_suppressed: 'failed for {email}: {error}; address suppressed',
    in_doubt: 'IN DOUBT: {email}: {error}',
    waiting: 'waiting until {time} ({reason})',
    stopped: 'stopped: campaign {status}',
    completed: 'campaign completed: sent {sent}, failed {failed}, in doubt {inDoubt}',
    transport_error: 'mail server unavailable: {error}; nothing marked failed',
    run_ended: 'run ended ({outcome}): {sent} sent, {failed} failed, {inDoubt} in doubt',
    status: 'campaign {from} → {to}',
    resolve_resend: 'in-doubt recipients queued to send again: {n}',
    resolve_mark: 'in-doubt recipients marked sent: {n}',
  },
};

export type Messages = typeof en;

const es: Messages = {
  campaignStatus: {
    draft: 'borrador',
    sending: 'enviando',
    paused: 'en pausa',
    completed: 'completada',
    cancelled: 'cancelada',
  },
  statusIs: {
    draft: 'en borrador',
    sending: 'enviando',
    paused: 'en pausa',
    completed: 'completada',
    cancelled: 'cancelada',
  },
  recipientStatus: {
    pending: 'pendientes',
    sending: 'en curso',
    sent: 'enviados',
    failed: 'fallidos',
    suppressed: 'suprimidos',
    in_doubt: 'en duda',
  },
  waitReason: {
    interval: 'entre lotes',
    rate: 'límite de ritmo',
    window: 'fuera del horario de envío',
    retry: 'reintento pendiente',
    deadline: 'plazo',
  },

  title: 'Campañas',
  loading: 'Cargando…',
  noCampaigns: 'Aún no hay campañas.',
  noCampaignsHint: 'Crea una (aremko-mail campaign create …) o prueba la demo: aremko-mail demo',
  noTransport: 'sin transporte',
  dbLabel: 'bd',
  transportLabel: 'transporte',
  sentOfTotal: 'enviados {sent}/{total}',
  failedN: 'fallidos {n}',
  inDoubtN: 'en duda {n}',
  nextBatchIn: 'próximo lote en {d}',
  nextBatchNow: 'próximo lote: ahora',
  sendingBy: 'envía: {who}',
  thisWindow: 'esta ventana',
  otherRun: 'una ejecución en {owner}',
  moreAbove: '↑ {n} más',
  moreBelow: '↓ {n} más',

  progress: 'Avance',
  batchNofM: 'Lote {n} de {m}',
  batchClaimed: '{claimed}/{size} en este lote',
  batchesDone: 'lotes enviados: {n}',
  rate: 'Ritmo',
  perMinute: '{n}/min',
  eta: 'Término',
  etaAt: '≈ {time} (en {d})',
  etaNow: 'terminando',
  unknown: '—',
  nextBatch: 'Próximo lote',
  inD: 'en {d} ({time})',
  dueNow: 'ahora',
  waitingUntil: 'esperando: {reason}, hasta {time}',
  sender: 'Envía',
  nobody: 'nadie (pulsa s para enviar desde aquí)',
  lastError: 'Último error',
  none: 'ninguno',
  log: 'Registro',
  logEmpty: 'Aún no hay eventos.',
  zone: 'horas en {zone}',

  logTitle: 'Registro · #{id} {name}',
  logRange: 'líneas {from}–{to} de {total}',
  logFollowing: 'siguiendo',
  logOlder: 'líneas anteriores: aremko-mail logs {id} --limit <n>',

  keys: {
    move: '↑↓ mover',
    open: 'Enter abrir',
    start: 's enviar',
    pause: 'p pausar',
    cancel: 'c cancelar',
    resolve: 'r en duda',
    log: 'l registro',
    help: '? ayuda',
    back: 'Esc volver',
    quit: 'q salir',
    scroll: '↑↓ RePág AvPág desplazar',
    ends: 'Inicio Fin',
  },

  helpTitle: 'Teclas',
  help: [
    ['↑ ↓  k j', 'moverse entre campañas; desplazar el registro'],
    ['Enter', 'abrir la campaña seleccionada'],
    ['s', 'enviar: inicia un borrador o reanuda una campaña en pausa, y la envía desde esta ventana'],
    ['p', 'pausar (los mensajes en curso terminan y quedan registrados)'],
    ['c', 'cancelar la campaña (pide confirmación)'],
    ['r', 'destinatarios en duda: reenviarlos o marcarlos enviados'],
    ['l', 'el registro completo (RePág/AvPág, Inicio/Fin)'],
    ['?', 'esta ayuda'],
    ['Esc', 'volver'],
    ['q', 'volver, o salir (pide confirmación si está enviando)'],
    ['Ctrl+C', 'salir: como q; deja de enviar igual que con SIGTERM'],
  ],
  helpClose: 'Esc o ? para cerrar',

  yesNo: '(s/n)',
  yesKeys: ['s', 'y'],
  confirmCancel: '¿Cancelar la campaña #{id} "{name}"? No se enviarán más mensajes.',
  confirmQuit: 'Esta ventana está enviando. ¿Detener y salir? Los mensajes en curso terminan y quedan registrados.',
  resolveTitle: 'Destinatarios en duda: {n}. Puede que hayan recibido el mensaje, o no.',
  resolveChoices: 'r reenviarlos · m marcarlos enviados · Esc dejarlos así',
  stopping: 'Deteniendo: sin envíos nuevos; esperando que los mensajes en curso queden registrados…',

  notice: {
    no_transport:
      'no hay transporte configurado: usa --transport <url> o define AREMKO_MAIL_TRANSPORT (smtp://usuario:clave@host:587, smtps://usuario:clave@host:465, u outbox:<carpeta> para escribir archivos .eml)',
    bad_transport: 'transporte: {error}',
    sending_now: 'Enviando la campaña #{id} desde esta ventana.',
    already_running: 'Esta ventana ya está enviando la campaña #{id}.',
    paused: 'Campaña #{id} en pausa.',
    cancelled: 'Campaña #{id} cancelada.',
    resolved_resend: 'Destinatarios en duda de #{id} que se enviarán de nuevo: {n}.',
    resolved_mark: 'Destinatarios en duda de #{id} marcados como enviados: {n}.',
    lease_held: 'La campaña #{id} la está enviando {holder}; esta ventana solo observa.',
    not_startable: 'La campaña #{id} está {status}: no hay nada que enviar.',
    not_pausable: 'La campaña #{id} está {status}: solo se puede pausar una campaña que está enviando.',
    not_cancellable: 'La campaña #{id} está {status}: no se puede cancelar.',
    no_pending: 'La campaña #{id} no tiene destinatarios pendientes (importa algunos: aremko-mail import {id} <archivo.csv>).',
    missing_fields: 'No se puede iniciar #{id}: las plantillas usan {fields}, que a algunos destinatarios les falta.',
    missing_field: '"{name}" (falta en {n})',
    no_in_doubt: 'La campaña #{id} no tiene destinatarios en duda.',
    run_completed: 'Campaña #{id} completada.',
    run_paused: 'Se dejó de enviar #{id}: quedó en pausa.',
    run_cancelled: 'Se dejó de enviar #{id}: fue cancelada.',
    run_stopped: 'Se dejó de enviar #{id}.',
    run_lease_lost: 'Se dejó de enviar #{id}: otro proceso tomó el envío.',
    run_unavailable: 'Servidor de correo no disponible para #{id}: {error}. Nada quedó como fallido.',
    run_other: 'El envío de #{id} terminó ({outcome}).',
    error: 'Error: {text}',
  },

  ev: {
    lease_acquired: 'comienza el envío ({owner})',
    lease_takeover: 'tomó el envío de {from}, que ya no existe; quedan en duda: {n}',
    lease_held: 'lo está enviando {holder}; solo se observa',
    lease_lost: 'se perdió el turno de envío; no se toman más destinatarios',
    batch_started: 'lote {batch} iniciado (hasta {size})',
    batch_finished: 'lote {batch} terminado',
    batch_finished_next: 'lote {batch} terminado; el próximo a las {time}',
    sent: 'enviado a {email} (lote {batch})',
    sent_retry: 'enviado a {email} (lote {batch}, intento {attempt})',
    retry_scheduled: 'falla temporal para {email} (intento {attempt}): {error}; reintento a las {time}',
    failed: 'falló {email}: {error}',
    failed_suppressed: 'falló {email}: {error}; dirección suprimida',
    in_doubt: 'EN DUDA: {email}: {error}',
    waiting: 'esperando hasta las {time} ({reason})',
    stopped: 'detenido: campaña {status}',
    completed: 'campaña completada: enviados {sent}, fallidos {failed}, en duda {inDoubt}',
    transport_error: 'servidor de correo no disponible: {error}; nada quedó como fallido',
    run_ended: 'terminó un envío ({outcome}): {sent} enviados, {failed} fallidos, {inDoubt} en duda',
    status: 'campaña {from} → {to}',
    resolve_resend: 'destinatarios en duda que se enviarán de nuevo: {n}',
    resolve_mark: 'destinatarios en duda marcados como enviados: {n}',
  },
};

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

/**
 * The one place that words the log for the operator, in the operator's language: every line from
 * its event's type and data (stored or in-process), never from the stored English `message`,
 * which is shown only for a type this table does not know yet. Run outcomes have one table too
 * (`Messages.outcome`), used by the log and by the notices alike.
 */
import type { CampaignOutcome } from '../core/engine.js';
import { EVENT_TYPES as ENGINE_EVENT_TYPES, RUN_OUTCOMES, type EngineEventType } from '../core/events.js';
import { gaveUp, safeUntil, TOOL_PHRASES, toolWords } from '../core/stored-errors.js';
import type { LogLine } from './controller.js';
import { type Formatter, type Messages, t } from './i18n.js';

/** Every type `eventText` words: every type of the log (core/events.ts). */
export const EVENT_TYPES: readonly string[] = ENGINE_EVENT_TYPES;

export const CAMPAIGN_OUTCOMES = RUN_OUTCOMES satisfies readonly CampaignOutcome[];

// The build fails when the engine gains an event type or an outcome that has no words here.
type Missing<All, Listed> = [Exclude<All, Listed>] extends [never] ? true : Exclude<All, Listed>;
const everyEngineEvent: Missing<EngineEventType, (typeof ENGINE_EVENT_TYPES)[number]> = true;
const everyOutcome: Missing<CampaignOutcome, (typeof CAMPAIGN_OUTCOMES)[number]> = true;
void everyEngineEvent;
void everyOutcome;

const str = (v: unknown) => (v === null || v === undefined ? '' : String(v));
const num = (v: unknown) => (typeof v === 'number' ? v : Number(v) || 0);

/**
 * A recipient's stored error is the server's (or transport's) answer, kept as it came, with
 * three kinds of English words of the tool's own, said here in the operator's language:
 * - when no answer says what happened (a runner gone mid-request, a resend its provider would no
 *   longer deduplicate, `resolve --mark-sent`), the whole error is the tool's (core/stored-errors.ts);
 * - the engine's and the SMTP transport's words around an answer (a connection lost before or
 *   after the data, a send not made), the answer itself kept as it came (core/stored-errors.ts);
 * - when its retries ran out, the engine appends "(gave up after N attempts)" (GAVE_UP, written
 *   by core/outcome.ts, recognised by `gaveUp`); an API transport's retry may end in "(a resend
 *   under the same idempotency key is safe until …)" (SAFE_UNTIL, recognised by `safeUntil`).
 */
export function storedErrorText(error: string, m: Messages, fmt: Formatter): string {
  const g = gaveUp(error);
  const rest = g ? g.before : error;
  const safe = safeUntil(rest);
  let said = toolText(safe ? safe.before : rest, m);
  if (safe) said += ` ${t(m.safeUntil, { until: safe.until })}`;
  return g ? `${said} ${t(m.gaveUp, { n: fmt.num(g.attempts) })}` : said;
}

/** The tool's own words in an error, said in the operator's language; a server's answer as it came. */
function toolText(error: string, m: Messages): string {
  const own = toolWords(error);
  if (!own) return error;
  if (own.kind === 'runner_gone') return t(own.requeued ? m.toolError.runner_gone_requeued : m.toolError.runner_gone, { owner: own.owner });
  if ('values' in own) return t(m.toolError[own.kind], own.values);
  return 'detail' in own ? t(m.toolError[own.kind], { detail: own.detail }) : m.toolError[own.kind];
}

/** Lower case, without accents: "Conexión" and "conexion" are the same search. */
const folded = (s: string) => s.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();

/**
 * The stored English of the tool's own words that the operator's search finds in their
 * language: the failed list shows "conexión perdida…" for a stored "connection lost…", so a
 * search for "conexión" must also look for the English (RecipientQuery.errorPhrases).
 */
export function storedPhrasesFor(search: string, m: Messages): string[] {
  const wanted = folded(search.trim());
  if (!wanted) return [];
  const said: Record<keyof typeof TOOL_PHRASES, string> = { ...m.toolError, gave_up: m.gaveUp, safe_until: m.safeUntil };
  const phrases = new Set<string>();
  for (const [kind, english] of Object.entries(TOOL_PHRASES) as Array<[keyof typeof TOOL_PHRASES, string]>) {
    const pieces = said[kind].split(/\{\w+\}/);
    if (english.trim() && pieces.some((piece) => folded(piece).includes(wanted))) phrases.add(english.trim());
  }
  return [...phrases];
}

/** A run outcome in words; an outcome this version does not know is shown as the engine named it. */
export function outcomeText(m: Messages, outcome: unknown): string {
  const o = str(outcome);
  return (m.outcome as Record<string, string>)[o] ?? o;
}

export function eventText(line: LogLine, m: Messages, fmt: Formatter, tz: string | null, now: number): string {
  const d = line.data;
  const ev = m.ev;
  const time = (v: unknown) => (typeof v === 'number' ? fmt.time(v, tz, now) : '');
  const n = (v: unknown) => fmt.num(num(v));
  const error = (v: unknown) => storedErrorText(str(v), m, fmt);
  switch (line.type) {
    case 'lease_lost':
      return ev.lease_lost;
    case 'batch_started':
      return t(ev.batch_started, { batch: n(d.batch), size: n(d.batchSize) });
    case 'batch_finished':
      return typeof d.nextBatchAt === 'number'
        ? t(ev.batch_finished_next, { batch: n(d.batch), time: time(d.nextBatchAt) })
        : t(ev.batch_finished, { batch: n(d.batch) });
    case 'sent':
      return num(d.attempt) > 1
        ? t(ev.sent_retry, { email: str(d.email), batch: n(d.batch), attempt: num(d.attempt) })
        : t(ev.sent, { email: str(d.email), batch: n(d.batch) });
    case 'retry_scheduled':
      return t(ev.retry_scheduled, { email: str(d.email), attempt: num(d.attempt), error: error(d.error), time: time(d.retryAt) });
    case 'failed':
      return t(d.suppressed ? ev.failed_suppressed : ev.failed, { email: str(d.email), error: error(d.error) });
    case 'in_doubt':
      return t(ev.in_doubt, { email: str(d.email), error: error(d.error) });
    case 'waiting':
      return t(ev.waiting, { time: time(d.until), reason: m.waitReason[str(d.reason)] ?? str(d.reason) });
    case 'stopped':
      return t(ev.stopped, { status: statusWord(m, d.status) });
    case 'completed': {
      const c = (d.counts ?? {}) as Record<string, unknown>;
      return t(ev.completed, { sent: n(c.sent), failed: n(c.failed), inDoubt: n(c.in_doubt) });
    }
    case 'transport_error':
      return t(ev.transport_error, { error: str(d.error) });
    case 'run_ended':
      return t(ev.run_ended, { outcome: outcomeText(m, d.outcome), sent: n(d.sent), failed: n(d.failed), inDoubt: n(d.inDoubt) });
    case 'status':
      return t(ev.status, { from: statusWord(m, d.from), to: statusWord(m, d.to) });
    case 'resolve': {
      const text = t(d.mode === 'resend' ? ev.resolve_resend : ev.resolve_mark, { n: n(d.count) });
      const emails = Array.isArray(d.emails) ? d.emails.map(str) : [];
      return emails.length > 0 ? `${text} (${emails.join(', ')})` : text;
    }
    case 'import':
      return t(ev.import, {
        file: str(d.file),
        imported: n(d.imported),
        duplicates: n(d.duplicates),
        suppressed: n(d.suppressed),
        // The number of invalid lines (the store keeps the count; `import --json` lists them).
        invalid: n(Array.isArray(d.invalid) ? d.invalid.length : d.invalid),
      });
    case 'runner_joined':
      return t(ev.runner_joined, { owner: str(d.owner) });
    case 'runner_reaped':
      return t(ev.runner_reaped, { owner: str(d.owner), inDoubt: n(d.inDoubt), requeued: n(d.requeued) });
    case 'throttled':
      return t(ev.throttled, { time: time(d.until), error: str(d.error) });
    case 'requeued':
      return t(ev.requeued, { email: str(d.email) });
    default:
      return line.message || line.type;
  }
}

function statusWord(m: Messages, v: unknown): string {
  const s = str(v);
  return (m.campaignStatus as Record<string, string>)[s] ?? s;
}

/** A log line in the operator's language, from the event's type and data (stored or in-process). */
import type { LogLine } from './controller.js';
import { type Formatter, type Messages, t } from './i18n.js';

const str = (v: unknown) => (v === null || v === undefined ? '' : String(v));
const num = (v: unknown) => (typeof v === 'number' ? v : Number(v) || 0);

export function eventText(line: LogLine, m: Messages, fmt: Formatter, tz: string | null, now: number): string {
  const d = line.data;
  const ev = m.ev;
  const time = (v: unknown) => (typeof v === 'number' ? fmt.time(v, tz, now) : '');
  switch (line.type) {
    case 'runner_joined':
    case 'lease_acquired': {
      const base = t(ev.lease_acquired, { owner: str(d.owner) });
      return d.tookOverFrom ? `${base}; ${t(ev.lease_takeover, { from: str(d.tookOverFrom), n: fmt.num(num(d.markedInDoubt)) })}` : base;
    }
    case 'runner_reaped':
      return t(ev.lease_takeover, { from: str(d.owner), n: fmt.num(num(d.inDoubt)) });
    case 'lease_held':
      return t(ev.lease_held, { holder: str(d.holder) });
    case 'lease_lost':
      return ev.lease_lost;
    case 'batch_started':
      return t(ev.batch_started, { batch: fmt.num(num(d.batch)), size: fmt.num(num(d.batchSize)) });
    case 'batch_finished':
      return typeof d.nextBatchAt === 'number'
        ? t(ev.batch_finished_next, { batch: fmt.num(num(d.batch)), time: time(d.nextBatchAt) })
        : t(ev.batch_finished, { batch: fmt.num(num(d.batch)) });
    case 'sent':
      return num(d.attempt) > 1
        ? t(ev.sent_retry, { email: str(d.email), batch: fmt.num(num(d.batch)), attempt: num(d.attempt) })
        : t(ev.sent, { email: str(d.email), batch: fmt.num(num(d.batch)) });
    case 'retry_scheduled':
      return t(ev.retry_scheduled, { email: str(d.email), attempt: num(d.attempt), error: str(d.error), time: time(d.retryAt) });
    case 'failed':
      return t(d.suppressed ? ev.failed_suppressed : ev.failed, { email: str(d.email), error: str(d.error) });
    case 'in_doubt':
      return t(ev.in_doubt, { email: str(d.email), error: str(d.error) });
    case 'waiting':
      return t(ev.waiting, { time: time(d.until), reason: m.waitReason[str(d.reason)] ?? str(d.reason) });
    case 'stopped':
      return t(ev.stopped, { status: statusWord(m, d.status) });
    case 'completed': {
      const c = (d.counts ?? {}) as Record<string, unknown>;
      return t(ev.completed, { sent: fmt.num(num(c.sent)), failed: fmt.num(num(c.failed)), inDoubt: fmt.num(num(c.in_doubt)) });
    }
    case 'transport_error':
      return t(ev.transport_error, { error: str(d.error) });
    case 'run_ended':
      return t(ev.run_ended, { outcome: statusWord(m, d.outcome), sent: fmt.num(num(d.sent)), failed: fmt.num(num(d.failed)), inDoubt: fmt.num(num(d.inDoubt)) });
    case 'status':
      return t(ev.status, { from: statusWord(m, d.from), to: statusWord(m, d.to) });
    case 'resolve':
      return t(d.mode === 'resend' ? ev.resolve_resend : ev.resolve_mark, { n: fmt.num(num(d.count)) });
    default:
      return line.message || line.type;
  }
}

function statusWord(m: Messages, v: unknown): string {
  const s = str(v);
  return (m.campaignStatus as Record<string, string>)[s] ?? s;
}

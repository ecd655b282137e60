/**
 * `run` watched from a terminal: under its log lines, one line saying where each of its campaigns
 * stands — sent of total, failures, the open batch or what it waits for and until when — read
 * from the store every second, so it holds what other runners do too. Only with text logs on a
 * terminal: cron, a pipe or --log-format json get exactly the log lines.
 */
import { printable } from '../core/printable.js';
import { formatInZone } from '../core/status.js';
import type { Store } from '../core/store.js';
import type { CampaignSummary, WaitReason } from '../core/types.js';
import { StatusLine } from './progress.js';

const REFRESH_MS = 1000;
/** While log lines come, the counts are read again at most this often. */
const BUSY_REFRESH_MS = 250;

/** "0:27", "11:32", "2:05:10". */
function countdown(ms: number): string {
  const s = Math.max(0, Math.ceil(ms / 1000));
  const two = (n: number) => String(n).padStart(2, '0');
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}:${two(m)}:${two(s % 60)}` : `${m}:${two(s % 60)}`;
}

const WAITS: Record<WaitReason, string> = {
  interval: 'next batch in',
  rate: 'held by the rate limit for',
  window: 'outside its send window for',
  retry: 'retries due in',
};

/** One campaign in a few words: "#1 Spring sale: 50/120 sent · 2 failed · next batch in 0:27 (14:05Z)". */
export function standing(s: CampaignSummary, now: number): string {
  const c = s.campaign;
  const n = s.counts;
  const parts = [`#${c.id} ${printable(c.name)}: ${n.sent}/${n.total} sent`];
  if (n.failed) parts.push(`${n.failed} failed`);
  if (n.in_doubt) parts.push(`${n.in_doubt} in doubt`);
  if (c.status !== 'sending') parts.push(c.status);
  else if (s.waiting && s.waiting.until > now)
    parts.push(`${WAITS[s.waiting.reason]} ${countdown(s.waiting.until - now)} (${formatInZone(s.waiting.until, c.timeZone)})`);
  else if (c.batchClaimed > 0) parts.push(`batch ${c.batchesSent + 1}: ${c.batchClaimed}/${c.batchSize} claimed`);
  else if (n.pending === 0 && n.sending > 0) parts.push(`${n.sending} in flight`);
  return parts.join(' · ');
}

export class RunStatus {
  private timer: NodeJS.Timeout | null = null;
  private reading = false;
  private lastRead = 0;
  private stopped = false;

  constructor(
    private readonly store: Pick<Store, 'summaries'>,
    private readonly ids: number[],
    private readonly line: StatusLine = new StatusLine(process.stdout),
    private readonly now: () => number = Date.now,
  ) {}

  start(): void {
    void this.refresh();
    this.timer = setInterval(() => void this.refresh(), REFRESH_MS);
    this.timer.unref();
  }

  /** A log line, above the status line. */
  log(text: string): void {
    this.line.log(text);
    if (this.now() - this.lastRead >= BUSY_REFRESH_MS) void this.refresh();
  }

  /** Takes the status line away for a moment (a message on stderr); the next refresh brings it back. */
  clear(): void {
    this.line.clear();
  }

  /** Takes the status line away for good (before the run's last words). */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.line.clear();
  }

  private async refresh(): Promise<void> {
    if (this.reading || this.stopped) return;
    this.reading = true;
    try {
      const at = this.now();
      this.lastRead = at;
      const all = await this.store.summaries(this.ids, at);
      if (!this.stopped && all.length > 0) this.line.set(all.map((s) => standing(s, at)).join('  │  '));
    } catch {
      // A read that fails (the database busy or gone) leaves the last line; the log says the rest.
    } finally {
      this.reading = false;
    }
  }
}

/**
 * Progress arithmetic for the detail screen: which batch, how many batches, and when the last
 * message should go out — accounting for batch intervals, the rate limit and the send window.
 * Pure functions over what the store reports; no I/O.
 */
import { DateTime } from 'luxon';
import { nextWindowStart } from '../core/schedule.js';
import type { Campaign, SendWindow, StatusCounts } from '../core/types.js';

export interface BatchInfo {
  /** The batch open now, or the next one to start. */
  current: number;
  /** Batches the campaign will have when done (sent + open + still needed). */
  total: number;
  /** Claims made in the open batch (0 when none is open). */
  claimed: number;
  open: boolean;
}

export function batchInfo(c: Campaign, counts: StatusCounts): BatchInfo {
  const open = c.batchClaimed > 0;
  const leftInOpen = open ? Math.max(0, c.batchSize - c.batchClaimed) : 0;
  const afterOpen = Math.max(0, counts.pending - leftInOpen);
  const more = Math.ceil(afterOpen / Math.max(1, c.batchSize));
  const total = c.batchesSent + (open ? 1 : 0) + more;
  return { current: c.batchesSent + 1, total: Math.max(total, c.batchesSent + (open ? 1 : 0)), claimed: c.batchClaimed, open };
}

export interface EtaInput {
  campaign: Campaign;
  counts: StatusCounts;
  now: number;
  /** Observed time per message while a batch is going out; null when not yet measured. */
  msPerMessage: number | null;
}

/** Assumed until measured: an SMTP round trip or an .eml write. */
export const DEFAULT_MS_PER_MESSAGE = 250;
/** Beyond this the estimate is not worth simulating. */
const MAX_SIMULATED = 2_000_000;

/**
 * When the last pending recipient should be sent (epoch ms), or null when the campaign is not
 * sending or the estimate would be meaningless. Simulates batch by batch: each batch waits for its
 * due time (interval after the previous one closed), then for the send window; within a batch,
 * messages go at the observed pace but never faster than the sliding-window rate limit allows.
 */
export function estimateFinish({ campaign: c, counts, now, msPerMessage }: EtaInput): number | null {
  if (c.status !== 'sending') return null;
  let remaining = counts.pending;
  if (remaining === 0) return counts.sending > 0 ? now : null;
  if (remaining > MAX_SIMULATED) return null;
  const per = Math.max(1, msPerMessage ?? DEFAULT_MS_PER_MESSAGE);
  const windowMs = c.rate ? c.rate.windowSeconds * 1000 : 0;
  // The last `rate.count` send times, oldest first (history before now is unknown: assume none).
  const ring: number[] = [];
  const rateCount = c.rate?.count ?? 0;
  const zoneWindow = c.window && c.timeZone ? new WindowClock(c.window, c.timeZone) : null;

  let t = now;
  let last = now;
  const sendOne = () => {
    let at = t;
    if (rateCount > 0 && ring.length >= rateCount) at = Math.max(at, ring[ring.length - rateCount]! + windowMs);
    if (zoneWindow) at = zoneWindow.next(at);
    if (rateCount > 0) {
      ring.push(at);
      if (ring.length > rateCount * 2) ring.splice(0, ring.length - rateCount);
    }
    last = at;
    t = at + per;
    remaining--;
  };

  // The open batch carries on now; otherwise the next one waits for its due time.
  let inBatch = c.batchClaimed > 0 ? Math.max(0, c.batchSize - c.batchClaimed) : 0;
  if (inBatch === 0) t = Math.max(now, c.nextBatchAt ?? now);
  for (;;) {
    if (inBatch === 0) inBatch = c.batchSize;
    const n = Math.min(inBatch, remaining);
    for (let i = 0; i < n; i++) sendOne();
    if (remaining <= 0) return last;
    inBatch = 0;
    t = t + c.intervalSeconds * 1000;
  }
}

const minutesOf = (hhmm: string) => {
  const [h, m] = hhmm.split(':').map(Number);
  return h! * 60 + m!;
};

/**
 * The send window by arithmetic: the zone's UTC offset is looked up (luxon) once per UTC hour and
 * cached, so simulating 100,000 messages costs a few hundred lookups, not one per message.
 */
export class WindowClock {
  private readonly start: number;
  private readonly end: number;
  private readonly offsets = new Map<number, number>();

  constructor(
    private readonly window: SendWindow,
    private readonly zone: string,
  ) {
    this.start = minutesOf(window.start);
    this.end = minutesOf(window.end);
  }

  private offset(t: number): number {
    const hour = Math.floor(t / 3_600_000);
    let offset = this.offsets.get(hour);
    if (offset === undefined) {
      offset = DateTime.fromMillis(t, { zone: this.zone }).offset;
      this.offsets.set(hour, offset);
    }
    return offset;
  }

  private localMinute(t: number): number {
    return (((Math.floor(t / 60_000) + this.offset(t)) % 1440) + 1440) % 1440;
  }

  private inside(minute: number): boolean {
    return this.start < this.end ? minute >= this.start && minute < this.end : minute >= this.start || minute < this.end;
  }

  /** `t` if inside the window, else when it next opens. */
  next(t: number): number {
    const minute = this.localMinute(t);
    if (this.inside(minute)) return t;
    const wait = (this.start - minute + 1440) % 1440 || 1440;
    const candidate = t - (t % 60_000) + wait * 60_000;
    // Across a DST change the arithmetic misses by the shift: let luxon settle it (rare).
    return this.offset(candidate) === this.offset(t) ? candidate : nextWindowStart(t, this.window, this.zone);
  }
}

/** Rolling samples of a campaign's sent count: the send rate over the last minute, and the pace within batches. */
export class RateMeter {
  private samples: { t: number; sent: number; open: boolean }[] = [];
  private pace: number | null = null;

  constructor(private readonly windowMs = 60_000) {}

  add(t: number, sent: number, batchOpen: boolean): void {
    const last = this.samples[this.samples.length - 1];
    if (last && sent < last.sent) this.samples = []; // counts went backwards (resolve --resend): start over
    const prev = this.samples[this.samples.length - 1];
    if (prev && batchOpen && prev.open && sent > prev.sent && t > prev.t) {
      const inst = (t - prev.t) / (sent - prev.sent);
      this.pace = this.pace === null ? inst : 0.7 * this.pace + 0.3 * inst;
    }
    if (prev && t - prev.t < 250 && prev.sent === sent && prev.open === batchOpen) return;
    this.samples.push({ t, sent, open: batchOpen });
    const cutoff = t - this.windowMs;
    while (this.samples.length > 2 && this.samples[1]!.t <= cutoff) this.samples.shift();
    if (this.samples.length > 600) this.samples.splice(0, this.samples.length - 600);
  }

  /**
   * Messages sent in the last minute (a count, not an extrapolation: a batch of 50 that went out
   * in two seconds reads 50/min for the next minute). Before a minute of watching, what was seen
   * so far; null until there are two samples.
   */
  perMinute(): number | null {
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    if (!first || !last || last === first) return null;
    return last.sent - first.sent;
  }

  /** Observed ms per message while a batch is open. */
  msPerMessage(): number | null {
    return this.pace;
  }
}

import type { Clock } from '../../src/core/clock.js';

/**
 * Virtual time: `sleep` moves the clock forward instead of waiting, so a 12-minute pause
 * between batches takes no real time. The engine sleeps only when nothing is in flight.
 * Timers (`every`: the lease heartbeat) fire as virtual time passes them.
 */
export class VirtualClock implements Clock {
  private timers = new Set<{ ms: number; next: number; fn: () => void }>();

  constructor(public t = Date.UTC(2026, 10, 27, 12, 0, 0)) {}
  now(): number {
    return this.t;
  }
  async sleep(ms: number, signal: AbortSignal): Promise<void> {
    if (signal.aborted) return;
    this.advance(ms);
    await new Promise((resolve) => setImmediate(resolve));
  }
  every(ms: number, fn: () => void): () => void {
    const timer = { ms, next: this.t + ms, fn };
    this.timers.add(timer);
    return () => this.timers.delete(timer);
  }
  advance(ms: number): void {
    this.t += ms;
    for (const timer of [...this.timers]) {
      if (timer.next > this.t) continue;
      // once per advance, however far: a long sleep is one late beat, not a burst of them
      timer.next = this.t + timer.ms;
      timer.fn();
    }
  }
}

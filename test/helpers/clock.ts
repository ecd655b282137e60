import type { Clock } from '../../src/core/engine.js';

/**
 * Virtual time: `sleep` moves the clock forward instead of waiting, so a 12-minute pause
 * between batches takes no real time. The engine sleeps only when nothing is in flight.
 */
export class VirtualClock implements Clock {
  constructor(public t = Date.UTC(2026, 10, 27, 12, 0, 0)) {}
  now(): number {
    return this.t;
  }
  async sleep(ms: number, signal: AbortSignal): Promise<void> {
    if (signal.aborted) return;
    this.t += ms;
    await new Promise((resolve) => setImmediate(resolve));
  }
  advance(ms: number): void {
    this.t += ms;
  }
}

/**
 * A tight send loop must not pin a core with renders: a 2,000-message send through the real
 * outbox transport renders at most ~10 frames a second (the controller's cap) plus the 1 Hz
 * countdown tick. ink-testing-library renders in debug mode — every React commit is one frame
 * written — so counting frames counts renders.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_MIN_EMIT_MS } from '../../src/ui/controller.js';
import { createCampaign, type Harness, KEY, mount } from './harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.cleanup();
  h = undefined;
});

describe('render cap', () => {
  it('a 2,000-message send renders no more than 10 frames a second (+ the 1 Hz clock)', { timeout: 240_000 }, async () => {
    h = await mount({ lang: 'en', fast: true }, async (store) => {
      await createCampaign(store, { name: 'Big one', batchSize: 500, intervalSeconds: 0 }, 2000);
    });
    await h.waitFor('› #1 Big one');
    await h.press(KEY.enter);
    await h.waitFor('aremko-mail › #1 Big one');

    const framesBefore = h.frames.length;
    const emitsBefore = h.controller.emits;
    const started = Date.now();
    await h.press('s');
    await h.waitFor('Campaign #1 completed.', 200_000);
    const elapsedMs = Date.now() - started;
    const frames = h.frames.length - framesBefore;
    const emits = h.controller.emits - emitsBefore;

    const seconds = elapsedMs / 1000;
    // Controller publications: one per DEFAULT_MIN_EMIT_MS at most, plus the first one.
    const emitCap = Math.ceil(elapsedMs / DEFAULT_MIN_EMIT_MS) + 1;
    // Frames: those publications, one clock tick a second, and a few for the key press and the
    // selection/watch effects around it.
    const frameCap = emitCap + Math.ceil(seconds) + 10;
    console.log(
      `2,000 messages in ${seconds.toFixed(1)} s: ${frames} frames (${(frames / seconds).toFixed(1)}/s), ` +
        `${emits} controller publications; caps ${frameCap} frames, ${emitCap} publications`,
    );
    expect(emits).toBeLessThanOrEqual(emitCap);
    expect(frames).toBeLessThanOrEqual(frameCap);
    // And it really sent them all, once each.
    const [s] = await h.store.summaries([1]);
    expect(s!.counts.sent).toBe(2000);
    expect(h.outboxCount()).toBe(2000);
    // The log buffer stayed bounded.
    expect(h.controller.getSnapshot().log.length).toBeLessThanOrEqual(1000);
  });
});

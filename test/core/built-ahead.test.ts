/**
 * Messages built ahead of their claim (src/core/built-ahead.ts), against a real SQLite store, its
 * look-ahead read riding in the claims as the engine's do: the guesses of a lone runner come
 * right; where another runner keeps taking the recipients it guessed, it mostly stops guessing.
 */
import { afterEach, beforeEach, expect, it } from 'vitest';
import { BuiltAhead } from '../../src/core/built-ahead.js';
import { MessageBuilder, type OutgoingMessage } from '../../src/core/message.js';
import type { Store } from '../../src/core/store.js';
import type { Campaign, Recipient } from '../../src/core/types.js';
import { addRecipients, settings, tempStore } from '../helpers/store.js';

const T0 = Date.UTC(2026, 11, 1, 12);
let store: Store;
let cleanup: () => Promise<void>;
/** Look-ahead reads asked for by claims. */
let peeks = 0;

beforeEach(() => {
  ({ store, cleanup } = tempStore());
  peeks = 0;
});
afterEach(() => cleanup());

async function campaign(n: number) {
  const c = await store.createCampaign(settings({ batchSize: 1000 }), T0);
  await addRecipients(store, c.id, n);
  await store.transition(c.id, ['draft'], 'sending', T0);
  for (const token of ['me', 'other']) await store.joinCampaign(c.id, { host: 'h', pid: 1, token }, T0, 3_600_000, []);
  return c;
}

async function claim(id: number, token: string, n: number): Promise<Recipient[]> {
  const step = await store.step(id, token, T0, [], n);
  if (step.claim?.kind !== 'claimed') throw new Error(`no claim: ${JSON.stringify(step.claim)}`);
  return step.claim.recipients;
}

/**
 * A claim of `n` as the engine's step makes it: it reads ahead what `ahead` wants, takes each
 * claimed recipient's message, then hands the read over.
 */
async function claimWith(ahead: BuiltAhead, id: number, n: number): Promise<Array<{ r: Recipient; message: Promise<OutgoingMessage> }>> {
  const peek = ahead.wanted(n);
  const step = await store.step(id, 'me', T0, [], n, { idempotencyWindowMs: null, peek });
  if (step.claim?.kind !== 'claimed') throw new Error(`no claim: ${JSON.stringify(step.claim)}`);
  const taken = step.claim.recipients.map((r) => ({ r, message: ahead.take(r) }));
  if (peek > 0) {
    peeks++;
    ahead.fill(step.claim.upcoming!);
  }
  return taken;
}

/** The campaign's MessageBuilder, recording the recipient of every message it composes. */
function watchedBuilder(c: Campaign): { builder: MessageBuilder; built: number[] } {
  const builder = new MessageBuilder(c);
  const built: number[] = [];
  const watched = Object.assign(Object.create(builder) as MessageBuilder, {
    build: (r: Recipient, to?: string, o?: { mime?: boolean }) => (built.push(r.id), builder.build(r, to, o)),
  });
  return { builder: watched, built };
}

/** Lets the look-ahead's read and builds finish. */
async function settled(ahead: BuiltAhead) {
  await (ahead as unknown as { reading: Promise<void> | null }).reading;
}

it('a lone runner: the next claim takes exactly the recipients whose messages were built ahead', async () => {
  const c = await campaign(6);
  const { builder, built } = watchedBuilder(c);
  const ahead = new BuiltAhead(builder, 2, true);
  await claimWith(ahead, c.id, 2);
  await settled(ahead);
  const next = await claim(c.id, 'me', 2);
  // besides the 2 it claimed, it built the next 2 × pool, in the order claims take them
  expect(built).toHaveLength(6);
  expect(built.slice(2, 4)).toEqual(next.map((r) => r.id));
  // taking them composes nothing more, and each is the recipient's own message
  for (const r of next) expect((await ahead.take(r)).raw!.toString()).toContain(r.email);
  expect(built).toHaveLength(6);
});

it('a lone runner reads ahead about once per `pool` claims, and every claim finds its message built', async () => {
  const c = await campaign(60);
  const { builder, built } = watchedBuilder(c);
  const ahead = new BuiltAhead(builder, 4, true);
  let claimed = 0;
  for (let turn = 0; turn < 24; turn++) {
    await settled(ahead);
    for (const { r, message } of await claimWith(ahead, c.id, 1)) {
      claimed++;
      expect((await message).raw!.toString()).toContain(r.email);
    }
  }
  expect(claimed).toBe(24);
  // one read per claim would be 24; with 8 read when fewer than 4 are left, one per 5 claims
  expect(peeks).toBeLessThanOrEqual(6);
  // nothing composed twice: the claims used what was built, and at most 2 × pool wait unused
  expect(built.length - claimed).toBeGreaterThanOrEqual(0);
  expect(built.length - claimed).toBeLessThanOrEqual(8);
});

it('another runner keeps taking what it guessed: it stops reading ahead, but for a probe now and then', async () => {
  const c = await campaign(300);
  const ahead = new BuiltAhead(new MessageBuilder(c), 2, true);
  for (let turn = 0; turn < 40; turn++) {
    await settled(ahead);
    await claim(c.id, 'other', 4); // the other runner is quicker: it takes all 2 × pool guessed
    for (const { message } of await claimWith(ahead, c.id, 2)) await message;
  }
  // a read each turn at first, then one in 16
  expect(peeks).toBeGreaterThan(2);
  expect(peeks).toBeLessThan(15);
});

it('several runners each take some of what it guessed: most of its builds would go unused, so it stops guessing', async () => {
  const c = await campaign(400);
  const others = ['o1', 'o2', 'o3'];
  for (const token of others) await store.joinCampaign(c.id, { host: 'h', pid: 1, token }, T0, 3_600_000, []);
  const { builder, built } = watchedBuilder(c);
  const ahead = new BuiltAhead(builder, 2, true);
  let mine = 0;
  for (let turn = 0; turn < 60; turn++) {
    await settled(ahead);
    // four runners, one claim each in turn: of the 2 × pool it guessed, it gets one
    for (const token of others) await claim(c.id, token, 1);
    for (const { r, message } of await claimWith(ahead, c.id, 1)) {
      mine++;
      expect((await message).raw!.toString()).toContain(r.email);
    }
  }
  expect(mine).toBe(60);
  // guessing all along would build about 4 messages for each one sent
  expect(built.length / mine).toBeLessThan(1.6);
});

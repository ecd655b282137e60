/**
 * SeenAddresses lets the PostgreSQL import insert a row unchecked when it says "new". Saying
 * "new" for an address equal (ASCII case aside) to one seen before would make that import fail on
 * the unique index, so that must never happen; saying "maybe seen" for a new one only costs time.
 *
 * Seeded like the other property tests: AREMKO_PROPERTY_SEED=<seed> reruns one.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SeenAddresses } from '../../src/core/store/seen-addresses.js';

const SEED = process.env.AREMKO_PROPERTY_SEED ? Number(process.env.AREMKO_PROPERTY_SEED) : (Date.now() ^ (Math.random() * 0x7fffffff)) | 0;

/** Addresses from a small alphabet, so that equal ones (in either case) come up often; some beyond ASCII. */
const address = fc
  .array(fc.constantFrom('a', 'A', 'b', 'B', '1', '.', '@', 'ñ', 'İ'), { minLength: 1, maxLength: 6 })
  .map((cs) => cs.join(''));

describe(`SeenAddresses (seed ${SEED})`, () => {
  it('never calls an address new when one equal to it, A-Z case aside, came before (letters beyond ASCII compared as written)', () => {
    fc.assert(
      fc.property(fc.array(address, { maxLength: 60 }), fc.constantFrom(5, 8, 26), (list, bitsLog2) => {
        const seen = new SeenAddresses(bitsLog2);
        const before = new Set<string>();
        for (const a of list) {
          const key = a.replace(/[A-Z]/g, (c) => c.toLowerCase());
          const isNew = !seen.check(a);
          if (isNew) {
            expect(before.has(key), `${JSON.stringify(a)} called new after ${JSON.stringify([...before])}`).toBe(false);
          }
          before.add(key);
        }
      }),
      { seed: SEED, numRuns: 3000 },
    );
  });

  it('calls almost every distinct address new: 200,000 of them, at most a few dozen taken for seen, addresses beyond ASCII among them', () => {
    const seen = new SeenAddresses();
    const addressOf = (i: number) => (i % 10 === 0 ? `josé${i}@example.cl` : `cliente${i}@example.cl`);
    let maybe = 0;
    for (let i = 0; i < 200_000; i++) if (seen.check(addressOf(i))) maybe++;
    expect(maybe).toBeLessThan(50);
    // Case beyond ASCII is not folded: JOSÉ is not josé (nor is it to the unique index).
    expect(seen.check('JOSÉ10@EXAMPLE.CL')).toBe(false);
    expect(seen.check('josÉ10@example.cl')).toBe(true);
    // …and every one of them is seen the second time, in any A-Z case.
    let again = 0;
    for (let i = 0; i < 200_000; i += 97) if (seen.check(addressOf(i).replace(/[a-z]/g, (c) => c.toUpperCase()))) again++;
    expect(again).toBe(Math.ceil(200_000 / 97));
  });
});

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
  it('never calls an address new when one equal to it, ASCII case aside, came before; nothing is new after an address beyond ASCII', () => {
    fc.assert(
      fc.property(fc.array(address, { maxLength: 60 }), fc.constantFrom(5, 8, 26), (list, bitsLog2) => {
        const seen = new SeenAddresses(bitsLog2);
        const before = new Set<string>();
        let beyondAscii = false;
        for (const a of list) {
          const key = a.replace(/[A-Z]/g, (c) => c.toLowerCase());
          const isNew = !seen.check(a);
          if (isNew) {
            expect(before.has(key), `${JSON.stringify(a)} called new after ${JSON.stringify([...before])}`).toBe(false);
            expect(beyondAscii).toBe(false);
          }
          before.add(key);
          if (/[^\x00-\x7f]/.test(a)) beyondAscii = true;
        }
      }),
      { seed: SEED, numRuns: 3000 },
    );
  });

  it('calls almost every distinct address new: 200,000 of them, at most a few dozen taken for seen', () => {
    const seen = new SeenAddresses();
    let maybe = 0;
    for (let i = 0; i < 200_000; i++) if (seen.check(`cliente${i}@example.cl`)) maybe++;
    expect(maybe).toBeLessThan(50);
    // …and every one of them is seen the second time, in any case.
    let again = 0;
    for (let i = 0; i < 200_000; i += 97) if (seen.check(`CLIENTE${i}@EXAMPLE.CL`)) again++;
    expect(again).toBe(Math.ceil(200_000 / 97));
  });
});

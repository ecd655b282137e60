/**
 * isValidAddress checks validator's length limits itself (validator's byte counting was a
 * quarter of parsing a large import) and asks validator for the rest. This test holds it to
 * validator's own answer, with its limits, for addresses built around every limit: local parts
 * of 60-70 bytes with multi-byte characters, domain labels of 60-66 characters, whole addresses
 * near 254 characters, several @, and lone surrogates.
 *
 * Seeded: the seed is in the describe name and in any failure report; rerun one with
 * AREMKO_PROPERTY_SEED=<seed> (and AREMKO_PROPERTY_RUNS=<n> for a longer search).
 */
import fc from 'fast-check';
import { createRequire } from 'node:module';
import type { IsEmailOptions } from 'validator/lib/isEmail.js';
import { describe, expect, it } from 'vitest';
import { IS_EMAIL_OPTIONS, isValidAddress } from '../../src/core/campaigns.js';

const SEED = process.env.AREMKO_PROPERTY_SEED ? Number(process.env.AREMKO_PROPERTY_SEED) : (Date.now() ^ (Math.random() * 0x7fffffff)) | 0;
const RUNS = Number(process.env.AREMKO_PROPERTY_RUNS ?? 5000);

const isEmail = createRequire(import.meta.url)('validator/lib/isEmail').default as (a: string, o: IsEmailOptions) => boolean;

/** What validator itself answers, its limits included; a throw (encodeURI on a lone surrogate) is "no". */
function validatorSays(address: string): boolean {
  try {
    return isEmail(address, IS_EMAIL_OPTIONS);
  } catch {
    return false;
  }
}

const ONE = ['a', 'b', 'z', '0', '9', '.', '-', '_', '+'];
const MULTI = ['ñ', 'é', 'ü', '€', '中', '😀']; // 2, 2, 2, 3, 3 and 4 bytes
const LONE = ['\uD800', '\uDFFF'];
const char = fc.oneof({ weight: 8, arbitrary: fc.constantFrom(...ONE) }, { weight: 2, arbitrary: fc.constantFrom(...MULTI) }, { weight: 1, arbitrary: fc.constantFrom(...LONE) });
/** A run of `min`-`max` characters; the lengths straddle each limit. */
const run = (min: number, max: number) => fc.array(char, { minLength: min, maxLength: max }).map((a) => a.join(''));
const letters = (min: number, max: number) => fc.stringMatching(new RegExp(`^[a-z0-9-]{${min},${max}}$`));
const label = fc.oneof(letters(1, 8), letters(60, 66), run(1, 6));
const domain = fc
  .tuple(fc.array(label, { minLength: 1, maxLength: 5 }), fc.constantFrom('cl', 'com', 'xn--p1ai', 'c', '1'))
  .map(([labels, tld]) => [...labels, tld].join('.'));
const local = fc.oneof(run(1, 10), run(55, 70), letters(60, 68));
const address = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(local, domain).map(([l, d]) => `${l}@${d}`) },
  // Near 254 in all: long labels in a row.
  { weight: 2, arbitrary: fc.tuple(local, fc.array(letters(55, 63), { minLength: 3, maxLength: 4 })).map(([l, ls]) => `${l}@${ls.join('.')}.cl`) },
  // More than one @, or none.
  { weight: 1, arbitrary: fc.tuple(local, local, domain).map(([a, b, d]) => `${a}@${b}@${d}`) },
  { weight: 1, arbitrary: fc.tuple(local, domain).map(([l, d]) => `${l}${d}`) },
);

/**
 * Everyday ASCII addresses, which isValidAddress answers without validator when they look plain
 * enough: letters of both cases, digits, `. _ + -` anywhere (leading, trailing, doubled dots and
 * hyphens included), top-level domains of letters, digits, one character or `xn--`, labels and
 * local parts around their limits.
 */
const ASCII_LOCAL = ['a', 'Z', '0', '.', '_', '+', '-', '=', "'"];
const ASCII_LABEL = ['a', 'Q', '7', '-', '_'];
const asciiRun = (chars: string[], min: number, max: number) => fc.array(fc.constantFrom(...chars), { minLength: min, maxLength: max }).map((a) => a.join(''));
const asciiLabel = fc.oneof({ weight: 4, arbitrary: asciiRun(ASCII_LABEL, 1, 6) }, { weight: 1, arbitrary: asciiRun(ASCII_LABEL, 61, 65) });
const asciiTld = fc.oneof(fc.constantFrom('cl', 'COM', 'c', '1', '12', 'xn--p1ai', 'c1', 'c-l', 'c_l'), asciiRun(['a', 'B'], 60, 66));
const asciiAddress = fc
  .tuple(fc.oneof({ weight: 4, arbitrary: asciiRun(ASCII_LOCAL, 1, 8) }, { weight: 1, arbitrary: asciiRun(ASCII_LOCAL, 62, 66) }), fc.array(asciiLabel, { minLength: 1, maxLength: 4 }), asciiTld)
  .map(([l, labels, tld]) => `${l}@${[...labels, tld].join('.')}`);

describe(`isValidAddress agrees with validator's isEmail, limits included (seed ${SEED})`, () => {
  it('for everyday ASCII addresses, the plain ones answered without validator', () => {
    fc.assert(
      fc.property(asciiAddress, (a) => {
        expect(isValidAddress(a), JSON.stringify(a)).toBe(validatorSays(a));
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });

  it('for generated addresses around each length limit', () => {
    fc.assert(
      fc.property(address, (a) => {
        expect(isValidAddress(a), JSON.stringify(a)).toBe(validatorSays(a));
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });

  it('at the limits themselves', () => {
    const l63 = 'a'.repeat(63);
    const cases = [
      `${'a'.repeat(64)}@x.cl`, // local part 64 bytes: allowed
      `${'a'.repeat(65)}@x.cl`, // 65: refused
      `${'ñ'.repeat(32)}@x.cl`, // 64 bytes in 32 characters: allowed
      `${'ñ'.repeat(32)}a@x.cl`, // 65 bytes: refused
      `a@${l63}.cl`, // a 63-character label: allowed
      `a@${l63}a.cl`, // 64: refused
      `a@${[l63, l63, l63, 'a'.repeat(57)].join('.')}.cl`, // 254 characters in all
      `a@${[l63, l63, l63, 'a'.repeat(58)].join('.')}.cl`, // 255
    ];
    const verdicts = cases.map((a) => isValidAddress(a));
    expect(verdicts).toEqual(cases.map(validatorSays));
    expect(verdicts).toEqual([true, false, true, false, true, false, true, false]);
  });
});

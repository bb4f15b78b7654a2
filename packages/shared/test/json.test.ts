import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { stableStringify } from '../src/json.ts';

/** The first form: a sorted copy of every object, through JSON.stringify's replacer. */
function sortedCopies(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
    // Without a prototype, an own "__proto__" key is copied as the property it is.
    const sorted: Record<string, unknown> = Object.create(null);
    for (const key of Object.keys(v).sort()) sorted[key] = (v as Record<string, unknown>)[key];
    return sorted;
  });
}

describe('stableStringify', () => {
  it('happy: the same text as sorting a copy of every object, for any JSON value', () => {
    // Keys drawn from a small set, so that objects share keys, and index-like keys are common.
    const key = fc.oneof(
      fc.constantFrom('a', 'b', 'B', 'é', '0', '1', '2', '10', '9', '01', '-1', '4294967295', ''),
      fc.string(),
    );
    const json = fc.letrec((tie) => ({
      value: fc.oneof(
        { depthSize: 'small' },
        fc.constant(null),
        fc.boolean(),
        fc.double(),
        fc.string(),
        fc.array(tie('value')),
        fc.dictionary(key, tie('value')),
      ),
    })).value;
    fc.assert(
      fc.property(json, (value) => {
        expect(stableStringify(value)).toBe(sortedCopies(value));
      }),
      { numRuns: 2000 },
    );
  });

  it('edge: an own "__proto__" key (as JSON.parse makes it) is written once, where it is, and nowhere else', () => {
    const value = { b: 1, a: JSON.parse('{"__proto__":{"y":2,"x":1},"c":[{"d":null}]}') };
    expect(stableStringify(value)).toBe('{"a":{"__proto__":{"x":1,"y":2},"c":[{"d":null}]},"b":1}');
    expect(stableStringify({ b: { z: 1 }, a: 2 })).toBe('{"a":2,"b":{"z":1}}');
  });

  it('edge: undefined, Dates and nesting are written as JSON.stringify writes them', () => {
    const value = {
      z: [undefined, null, { q: undefined, 3: 'three' }],
      when: new Date('2026-01-15T12:00:00.000Z'),
      10: 'ten',
      9: 'nine',
      a: { d: [2, { y: 1, x: 0 }], c: null },
    };
    expect(stableStringify(value)).toBe(sortedCopies(value));
    expect(stableStringify(value)).toBe(
      '{"9":"nine","10":"ten","a":{"c":null,"d":[2,{"x":0,"y":1}]},"when":"2026-01-15T12:00:00.000Z","z":[null,null,{"3":"three"}]}',
    );
    expect(stableStringify(undefined)).toBe(sortedCopies(undefined));
    expect(stableStringify('x')).toBe('"x"');
  });
});

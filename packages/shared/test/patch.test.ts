import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyListPatch, diffLists, encodePatch } from '../src/patch.ts';

const head = {
  section: 'pnl_history',
  epoch: 'e',
  version: 2,
  base_version: 1,
  computed_at: '2026-01-01T00:00:00.000Z',
};
const texts = (items: unknown[]) => items.map((item) => JSON.stringify(item));

/** Encode, parse as a client would, apply to the base: what the client ends up holding. */
function roundTrip<T>(base: T[], next: T[]): T[] | undefined {
  const text = encodePatch(head, texts(base), texts(next));
  if (text === undefined) return undefined;
  const frame = JSON.parse(text) as { keep: [number, number]; prepend: T[]; append: T[] };
  return applyListPatch(base, frame);
}

describe('list patches', () => {
  it('happy: the changes list sections make are found as one kept run', () => {
    const hours = Array.from({ length: 720 }, (_, i) => ({ t: i, pnl: i }));
    // The last hour's figure moves.
    expect(diffLists(texts(hours), texts([...hours.slice(0, -1), { t: 719, pnl: -1 }]))).toEqual({
      prepend: 0,
      keep: [0, 719],
    });
    // The window slides by an hour.
    expect(diffLists(texts(hours), texts([...hours.slice(1), { t: 720, pnl: 0 }]))).toEqual({
      prepend: 0,
      keep: [1, 720],
    });
    // A close lands at the head of a list cut to 20.
    const trades = Array.from({ length: 20 }, (_, i) => ({ id: 100 - i }));
    expect(diffLists(texts(trades), texts([{ id: 101 }, ...trades.slice(0, 19)]))).toEqual({
      prepend: 1,
      keep: [0, 19],
    });
    // A position in the middle is closed: the longer side is kept, the shorter sent.
    expect(diffLists(texts(trades), texts([...trades.slice(0, 5), ...trades.slice(6)]))).toEqual({
      prepend: 5,
      keep: [6, 20],
    });
  });

  it('happy: nothing in common, or an empty side, gives no patch', () => {
    expect(diffLists(texts([1, 2]), texts([3, 4]))).toBeUndefined();
    expect(diffLists([], texts([1]))).toBeUndefined();
    expect(diffLists(texts([1]), [])).toBeUndefined();
    expect(encodePatch(head, texts([1, 2]), texts([3]))).toBeUndefined();
  });

  it('happy: the encoded frame is JSON that names its base and rebuilds the new list', () => {
    const text = encodePatch(head, texts([{ a: 1 }, { a: 2 }]), texts([{ a: 0 }, { a: 1 }, { a: 2 }, { a: 'é"' }]));
    expect(JSON.parse(text ?? '')).toEqual({
      type: 'patch',
      ...head,
      keep: [0, 2],
      prepend: [{ a: 0 }],
      append: [{ a: 'é"' }],
    });
  });

  it('happy: for any two lists, applying the patch to the base gives exactly the new list', () => {
    const item = fc.oneof(fc.integer({ min: 0, max: 6 }), fc.record({ id: fc.integer({ min: 0, max: 6 }) }));
    fc.assert(
      fc.property(fc.array(item, { maxLength: 30 }), fc.array(item, { maxLength: 30 }), (base, next) => {
        const result = roundTrip(base, next);
        if (result !== undefined) expect(result).toEqual(next);
      }),
      { numRuns: 500 },
    );
    // And for edits of the kind sections make, there always is a patch.
    fc.assert(
      fc.property(
        fc.array(fc.integer(), { minLength: 1, maxLength: 50 }),
        fc.array(fc.integer(), { maxLength: 3 }),
        fc.nat(3),
        fc.array(fc.integer(), { maxLength: 3 }),
        (base, prepend, drop, append) => {
          const next = [...prepend, ...base.slice(Math.min(drop, base.length - 1)), ...append];
          expect(roundTrip(base, next)).toEqual(next);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('error: a patch that does not fit the list held is refused, not applied', () => {
    const patch = { keep: [0, 5] as [number, number], prepend: [], append: [9] };
    expect(applyListPatch([1, 2, 3], patch)).toBeUndefined();
    expect(applyListPatch([1, 2, 3], { ...patch, keep: [2, 1] })).toBeUndefined();
    expect(applyListPatch([1, 2, 3], { ...patch, keep: [-1, 2] })).toBeUndefined();
    expect(applyListPatch([1, 2, 3], { ...patch, keep: [0.5, 2] })).toBeUndefined();
    expect(applyListPatch([1, 2, 3, 4, 5], patch)).toEqual([1, 2, 3, 4, 5, 9]);
  });
});

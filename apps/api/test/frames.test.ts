import { CATALOG } from '@snapboard/shared';
import { describe, expect, it } from 'vitest';
import type { ReplicaEntry } from '../src/snapshot-replica.ts';
import { createFrameCache, newBatchMemo } from '../src/ws/frames.ts';

const entry = (version: number, data: unknown): ReplicaEntry => ({
  snapshot: {
    section: 'lite',
    epoch: 'e1',
    version,
    computed_at: '2026-12-03T00:00:00.000Z',
    ttl: 1,
    data,
  } as ReplicaEntry['snapshot'],
  computedAtMs: Date.parse('2026-12-03T00:00:00.000Z'),
});

describe('frame cache (fan-out bookkeeping shared between subscribers)', () => {
  it('gives subscribers with the same frames one batch frame, and others their own, in any order', () => {
    let serialized = 0;
    const cache = createFrameCache(CATALOG, { serialized: () => serialized++ });
    const [a, b, c] = ['{"a":1}', '{"b":2}', '{"c":3}'].map((text) => Buffer.from(text));
    const memo = newBatchMemo();
    const ab = cache.batchFrame('s1', [a, b] as Buffer[], memo);
    expect(cache.batchFrame('s1', [a, b] as Buffer[], memo)).toBe(ab);
    const ac = cache.batchFrame('s1', [a, c] as Buffer[], memo);
    expect(ac).not.toBe(ab);
    expect(JSON.parse(ac.toString())).toEqual({ type: 'batch', change: 's1', items: [{ a: 1 }, { c: 3 }] });
    // Back to the first state: the frame built for it, not a new one.
    expect(cache.batchFrame('s1', [a, b] as Buffer[], memo)).toBe(ab);
    expect(cache.batchFrame('s1', [a] as Buffer[], memo).toString()).toBe(
      '{"type":"batch","change":"s1","items":[{"a":1}]}',
    );
    expect(serialized).toBe(3);
  });

  it('records what a subscriber holds as one frozen position per entry', () => {
    const cache = createFrameCache(CATALOG, { serialized: () => {} });
    const one = entry(7, { active_trades: 1 });
    const position = cache.positionOf(one);
    expect(position).toEqual({ epoch: 'e1', version: 7, exact: true });
    expect(cache.positionOf(one)).toBe(position);
    expect(Object.isFrozen(position)).toBe(true);
    expect(cache.positionOf(entry(7, { active_trades: 1 }))).not.toBe(position);
  });
});

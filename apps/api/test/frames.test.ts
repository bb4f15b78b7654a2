import { applyListPatch, CATALOG } from '@snapboard/shared';
import { describe, expect, it } from 'vitest';
import type { ReplicaEntry } from '../src/snapshot-replica.ts';
import { createFrameCache, newBatchMemo, snapshotFrameBytes } from '../src/ws/frames.ts';

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

  it('measures a snapshot frame from its items without building it, multi-byte text included', () => {
    const cache = createFrameCache(CATALOG, { serialized: () => {} });
    const lists: unknown[][] = [
      [],
      [[1764720000, '12.5']],
      [
        { username: 'zoë 🚀', pnl: -1.5e-7, note: 'a "quoted"\nline' },
        { username: null, pnl: 0 },
      ],
    ];
    for (const data of lists) {
      const e = { ...entry(3, data), snapshot: { ...entry(3, data).snapshot, section: 'pnl_history' as const } };
      const texts = data.map((item) => JSON.stringify(item));
      expect(snapshotFrameBytes(e.snapshot, texts)).toBe(cache.frameFor('pnl_history', e, 20).length);
    }
  });

  it('sends a patch only when it is smaller than the snapshot frame, measured or built', () => {
    const point = (hour: number, value: string) => [1764720000 + hour * 3600, value];
    const at = (version: number, data: unknown[]) => ({
      ...entry(version, data),
      snapshot: { ...entry(version, data).snapshot, section: 'pnl_history' as const },
    });
    const long = Array.from({ length: 50 }, (_, i) => point(i, `${i}.5`));
    for (const built of [false, true]) {
      const cache = createFrameCache(CATALOG, { serialized: () => {} });
      const base = at(1, long);
      const held = cache.positionOf(base);
      cache.frameFor('pnl_history', base, 20);
      // The last point moved: a patch of one item is far smaller than 50 points.
      const moved = at(2, [...long.slice(0, -1), point(49, '99.5')]);
      if (built) cache.frameFor('pnl_history', moved, 20);
      const patch = cache.patchFor('pnl_history', moved, 20, held, false);
      expect(patch && JSON.parse(patch.toString())).toMatchObject({ type: 'patch', keep: [0, 49] });
      // Everything moved but one point: the patch would carry nearly the whole list and more.
      const cache2 = createFrameCache(CATALOG, { serialized: () => {} });
      const small = at(1, [point(0, '1'), point(1, '2')]);
      const held2 = cache2.positionOf(small);
      cache2.frameFor('pnl_history', small, 20);
      const other = at(2, [point(1, '2'), point(5, '3')]);
      if (built) cache2.frameFor('pnl_history', other, 20);
      const text = cache2.patchFor('pnl_history', other, 20, held2, false);
      expect(text).toBeUndefined();
    }
  });

  it('patches each limit from the items it reaches, whichever limit asked first', () => {
    const trade = (id: number) => ({ id, symbol: 'BTCUSDT', profit_loss: `${id}.5` });
    const at = (version: number, ids: number[]) => ({
      ...entry(version, ids.map(trade)),
      snapshot: { ...entry(version, ids.map(trade)).snapshot, section: 'recent_trades' as const },
    });
    const cache = createFrameCache(CATALOG, { serialized: () => {} });
    const base = at(1, [9, 8, 7, 6, 5, 4, 3, 2, 1]);
    const held = cache.positionOf(base);
    cache.frameFor('recent_trades', base, 20);
    // A new close at the head.
    const next = at(2, [10, 9, 8, 7, 6, 5, 4, 3, 2, 1]);
    for (const limit of [2, 5, 3, 9]) {
      const frame = cache.patchFor('recent_trades', next, limit, held, false);
      const patch = JSON.parse(String(frame));
      const holding = (base.snapshot.data as unknown[]).slice(0, limit);
      expect(applyListPatch(holding, patch), `limit ${limit}`).toEqual(
        (next.snapshot.data as unknown[]).slice(0, limit),
      );
    }
  });
});

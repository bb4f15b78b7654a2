import { constants, type PerformanceEntry, PerformanceObserver } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { type ClosablePool, createClosablePool } from '@snapboard/db';
import { useTestEnv } from '@snapboard/devenv/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { youngCollector } from '../src/young-gc.ts';
import { insertFixture, trade } from './support/fixtures.ts';
import { LONG_TTLS, type RunningWorker, startWorker } from './support/harness.ts';

/**
 * What runs between sets: the fold after a set (decision 0022) a moment after the set publishes, not
 * while its fan-out goes out, and the collection of the set's young garbage (decision 0023). Its own
 * database: no other worker folds here.
 */

const env = useTestEnv();
let db: ClosablePool;
let r: RunningWorker;

beforeAll(async () => {
  db = createClosablePool({ connectionString: env.databaseUrl, max: 2 });
  await insertFixture(db, {
    users: [{ id: 1, username: 'alice' }],
    accounts: [],
    trades: [trade({ id: 1, user_id: 1, status: 'OPEN', created_at: new Date(Date.now() - 7_200_000).toISOString() })],
  });
  r = startWorker(env.config(LONG_TTLS), { schedule: false, listen: false });
  await r.worker.start();
});
afterAll(async () => {
  await r.worker.close();
  await db.close();
});

/** V8's collections of the young generation that code asked for (the worker's, here), as they happen. */
function forcedMinorGcs(): { count: () => number; stop: () => void } {
  let count = 0;
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries() as (PerformanceEntry & { detail?: { kind: number; flags: number } })[]) {
      const { kind, flags } = entry.detail ?? { kind: 0, flags: 0 };
      if (kind === constants.NODE_PERFORMANCE_GC_MINOR && flags & constants.NODE_PERFORMANCE_GC_FLAGS_FORCED) count++;
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  return { count: () => count, stop: () => observer.disconnect() };
}

const unfolded = async () =>
  (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM snapboard_dirty_hours')).rows[0]?.n ?? -1;

describe('the fold after a set', () => {
  it('happy: the hours a set leaves unfolded are folded a moment after it publishes, not while it is sent', async () => {
    // The start's set and its fold are behind us.
    await expect.poll(() => r.jobs().length, { timeout: 10_000 }).toBeGreaterThan(0);
    await expect.poll(unfolded, { timeout: 5000, interval: 100 }).toBe(0);
    await sleep(1500);
    await db.query(
      `UPDATE paper_trades SET status = 'CLOSED_TP', exit_price = 101.5, exit_time = now(), profit_loss = 1.5 WHERE id = 1`,
    );
    const set = await r.worker.runSet(new Map());
    expect(set.members.map((m) => m.section)).toContain('performance_metrics');
    expect(await unfolded()).toBeGreaterThan(0);
    await expect.poll(unfolded, { timeout: 5000, interval: 100 }).toBe(0);
  });

  it('happy: the young generation is collected a moment after a set publishes, and not again without one', async () => {
    const gcs = forcedMinorGcs();
    try {
      await sleep(300);
      const before = gcs.count();
      await db.query(`UPDATE paper_trades SET profit_loss = 1.75 WHERE id = 1`);
      const first = await r.worker.runSet(new Map());
      expect(first.change).toBeDefined();
      await db.query(`UPDATE paper_trades SET profit_loss = 2 WHERE id = 1`);
      expect((await r.worker.runSet(new Map())).change).toBeDefined();
      await expect.poll(gcs.count, { timeout: 2000, interval: 20 }).toBeGreaterThan(before);
      // Past the delay, whatever was due has run: at most one per set (two sets close together share
      // one), and none while no set publishes.
      await sleep(300);
      const after = gcs.count();
      expect(after - before).toBeLessThanOrEqual(2);
      await sleep(500);
      expect(gcs.count()).toBe(after);
    } finally {
      gcs.stop();
    }
  });

  it("happy: the collector is V8's own minor collection, taken without --expose-gc", async () => {
    const before = (globalThis as { gc?: unknown }).gc;
    const collect = youngCollector();
    expect(collect).toBeTypeOf('function');
    const gcs = forcedMinorGcs();
    try {
      collect?.();
      await expect.poll(gcs.count, { timeout: 1000, interval: 10 }).toBe(1);
      // The main context is left as it was: no global gc appears for other code to call.
      expect((globalThis as { gc?: unknown }).gc).toBe(before);
    } finally {
      gcs.stop();
    }
  });

  it('happy: close() does not leave a fold running on a closed pool', async () => {
    // The fold the sets of the tests before asked for runs up to a second after them: let it pass, or it
    // folds this test's hours (a CI run of 3 Dec failed so: none were left unfolded after close()).
    await sleep(1500);
    await expect.poll(unfolded, { timeout: 5000, interval: 100 }).toBe(0);
    await db.query(`UPDATE paper_trades SET profit_loss = 2.5 WHERE id = 1`);
    await r.worker.runSet(new Map());
    expect(await unfolded()).toBeGreaterThan(0);
    // Closed within the fold's delay: the fold that was due never runs on the closed pool (it would log
    // its failure), and the hours wait for the next start's fold; the collection due is dropped too.
    const gcs = forcedMinorGcs();
    await r.worker.close();
    await sleep(1500);
    gcs.stop();
    expect(gcs.count()).toBe(0);
    expect(
      r.logs.filter((l) => l.msg === 'rollup fold failed; the set reads the unfolded hours from the trades'),
    ).toEqual([]);
    expect(await unfolded()).toBeGreaterThan(0);
  });
});

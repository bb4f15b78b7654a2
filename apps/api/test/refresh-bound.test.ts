import { useTestEnv } from '@snapboard/devenv/testing';
import { SECTION_NAMES, type Snapshot } from '@snapboard/shared';
import pino from 'pino';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createRefreshGate } from '../src/refresh-gate.ts';
import { forcedRecompute } from '../src/routes/dashboard.ts';
import { buildTestApp, type TestApp } from './support/app.ts';
import { newEpoch, publishAll, until } from './support/fixtures.ts';
import { standInWorker } from './support/stand-in-worker.ts';

/**
 * SPEC §13: refresh=true starts a forced recompute at most once per REFRESH_MIN_INTERVAL_MS across every
 * client and every API instance; a refresh inside the interval waits for that one or answers what there is.
 * Two apps on one prefix stand for two API instances; a stand-in worker counts the jobs it is given.
 */

const env = useTestEnv({ database: false });
const INTERVAL_MS = 1000;
const epoch = newEpoch();
let a: TestApp;
let b: TestApp;
let published: Snapshot[];

beforeAll(async () => {
  const config = env.config({ REFRESH_MIN_INTERVAL_MS: String(INTERVAL_MS), REFRESH_WAIT_MS: '3000' });
  a = await buildTestApp(config);
  b = await buildTestApp(config);
  published = await publishAll(a.redis, a.keys, { epoch, version: 1 });
  await until(() => SECTION_NAMES.every((s) => a.replica.get(s) && b.replica.get(s)));
});
afterEach(async () => {
  await a.queue.obliterate({ force: true });
  // Each instance remembers the interval it saw until the gate expires: wait that out, not just the key.
  await new Promise((resolve) => setTimeout(resolve, INTERVAL_MS));
});
afterAll(async () => {
  await a?.close();
  await b?.close();
});

const standIn = (computeMs: number) =>
  standInWorker(a, env.redisUrl, published, { computeMs, concurrency: SECTION_NAMES.length });

async function refresh(app: TestApp): Promise<{ cached: boolean }> {
  const res = await app.app.request('/api/public/dashboard/v2/?refresh=true&limit=1');
  expect(res.status).toBe(200);
  return (await res.json()) as { cached: boolean };
}

async function outcomes(app: TestApp): Promise<Record<string, number>> {
  const metric = await app.registry.getSingleMetric('snapboard_refresh_requests_total')?.get();
  return Object.fromEntries((metric?.values ?? []).map((v) => [String(v.labels.outcome), v.value]));
}

describe('refresh=true is bounded (SPEC §13)', () => {
  it('security: clients looping on refresh=true against two instances start one recompute per interval', async () => {
    const worker = standIn(30);
    const before = { a: await outcomes(a), b: await outcomes(b) };
    try {
      const started = Date.now();
      let answers = 0;
      let fresh = 0;
      // 20 clients, half on each instance, each asking again as soon as it is answered.
      await Promise.all(
        Array.from({ length: 20 }, async (_, i) => {
          while (Date.now() - started < 2500) {
            const body = await refresh(i % 2 ? a : b);
            answers++;
            if (!body.cached) fresh++;
          }
        }),
      );
      const elapsed = Date.now() - started;
      const perSection = Math.max(
        ...SECTION_NAMES.map((s) => worker.handled.filter((j) => j.sections.includes(s)).length),
      );
      // One recompute when the loop starts, then at most one per elapsed interval.
      expect(perSection).toBeGreaterThanOrEqual(1);
      expect(perSection).toBeLessThanOrEqual(1 + Math.floor(elapsed / INTERVAL_MS));
      expect(answers).toBeGreaterThan(100);
      // Every answer waited for (or found finished) the interval's recompute.
      expect(fresh).toBe(answers);
      const after = { a: await outcomes(a), b: await outcomes(b) };
      const count = (o: 'started' | 'joined' | 'cached') =>
        (after.a[o] ?? 0) - (before.a[o] ?? 0) + (after.b[o] ?? 0) - (before.b[o] ?? 0);
      // Each start is one request for a set of every section; a start that lands before the set in
      // flight has taken its pending sections rides in that set (decision 0009), so the sets computed
      // can be fewer than the starts, never more — and the starts keep the interval's bound.
      expect(count('started')).toBeGreaterThanOrEqual(perSection);
      expect(count('started')).toBeLessThanOrEqual(1 + Math.floor(elapsed / INTERVAL_MS));
      expect(count('joined') + count('cached')).toBe(answers - count('started'));
    } finally {
      await worker.close();
    }
  }, 20_000);

  it('happy: a refresh inside the interval waits for the recompute in flight and queues nothing', async () => {
    const worker = standIn(300);
    try {
      const first = refresh(a);
      await until(() => worker.handled.length > 0, 5000, 'the first recompute to start');
      const second = await refresh(b);
      expect(second.cached).toBe(false);
      expect((await first).cached).toBe(false);
      // One change set of every section (decision 0009).
      expect(worker.handled).toHaveLength(1);
      expect([...(worker.handled[0]?.sections ?? [])].sort()).toEqual([...SECTION_NAMES].sort());
      expect(await a.queue.getWaitingCount()).toBe(0);
    } finally {
      await worker.close();
    }
  });

  it('happy: without a worker, refreshes inside the interval answer cached true and queue one recompute', async () => {
    const answers = await Promise.all([refresh(a), refresh(b), refresh(a)].map((p) => p.then((body) => body.cached)));
    // The wait is REFRESH_WAIT_MS (3 s) > the interval: the first recompute is still queued, not lost.
    expect(answers).toEqual([true, true, true]);
    // One set job waiting, every section pending for it (decision 0009).
    expect(await a.queue.getWaitingCount()).toBe(1);
    expect(Object.keys(await a.redis.hgetall(a.keys.pendingSections)).sort()).toEqual([...SECTION_NAMES].sort());
  });

  it('error: a recompute whose jobs were removed unrun does not block refresh for the rest of the interval', async () => {
    const hasty = await buildTestApp(env.config({ REFRESH_MIN_INTERVAL_MS: '60000', REFRESH_WAIT_MS: '100' }));
    try {
      expect((await refresh(hasty)).cached).toBe(true);
      await a.queue.obliterate({ force: true });
      expect(await a.redis.pttl(a.keys.refreshGate)).toBeGreaterThan(50_000);
      const worker = standIn(10);
      try {
        expect((await refresh(b)).cached).toBe(false);
        expect(worker.handled).toHaveLength(1);
        expect([...(worker.handled[0]?.sections ?? [])].sort()).toEqual([...SECTION_NAMES].sort());
      } finally {
        await worker.close();
      }
    } finally {
      await hasty.close();
    }
  });
  it('security: a refresh that finds the gate taken but nothing queued yet waits for the holder, never starts a second recompute', async () => {
    // On a busy host the instance that took the gate can be slow to queue its recompute. Another
    // instance asking then sees no job pending: that is not a lost recompute, and must not retake.
    const worker = standIn(10);
    const real = forcedRecompute(a.queue, SECTION_NAMES);
    let starts = 0;
    const gate = (queueDelayMs: number) =>
      createRefreshGate({
        redis: a.redis,
        key: a.keys.refreshGate,
        minIntervalMs: 10_000,
        waitMs: 3000,
        recompute: {
          async start() {
            starts++;
            await new Promise((resolve) => setTimeout(resolve, queueDelayMs));
            return real.start();
          },
          pending: () => real.pending(),
        },
        computedSince: (since) => SECTION_NAMES.every((name) => (a.replica.get(name)?.computedAtMs ?? 0) >= since),
        waitFor: (predicate, timeoutMs) => a.replica.waitFor(predicate, timeoutMs),
        registry: new Registry(),
        now: Date.now,
      });
    const logger = pino({ level: 'silent' });
    try {
      const slow = gate(800).refresh(logger, 'a');
      await new Promise((resolve) => setTimeout(resolve, 50));
      const other = await gate(0).refresh(logger, 'b');
      expect(await slow).toEqual({ fresh: true, outcome: 'started' });
      expect(other).toEqual({ fresh: true, outcome: 'joined' });
      expect(starts).toBe(1);
      expect(worker.handled).toHaveLength(1);
    } finally {
      await worker.close();
      await a.redis.del(a.keys.refreshGate);
    }
  });
});

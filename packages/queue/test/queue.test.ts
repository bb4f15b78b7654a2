import { testRedis, useTestEnv } from '@snapboard/devenv/testing';
import { createRedisClient } from '@snapboard/redis';
import { keysFor } from '@snapboard/shared';
import { type Job, Worker } from 'bullmq';
import { afterAll, describe, expect, it } from 'vitest';
import { createRecomputeQueue, type RecomputeJobData, type RecomputeQueue, requestRecompute } from '../src/index.ts';

describe('requestRecompute', () => {
  const env = useTestEnv({ database: false });
  const closers: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const close of closers.reverse()) await close();
  });

  function queue(): RecomputeQueue {
    const q = createRecomputeQueue({ url: env.redisUrl }, keysFor(env.keyPrefix));
    closers.push(() => q.close());
    return q;
  }

  it('happy: a storm of requests leaves one set job waiting, with every section it asked for pending', async () => {
    const q = queue();
    const keys = keysFor(env.keyPrefix);
    const answers = await Promise.all(Array.from({ length: 20 }, () => requestRecompute(q, ['overview', 'lite'])));
    await requestRecompute(q, ['pnl_history'], 'event');
    expect(await q.getWaitingCount()).toBe(1);
    const ids = new Set(answers.flat().map((j) => j.job_id));
    expect(ids.size).toBe(1);
    expect(answers[0]?.map((j) => j.section)).toEqual(['overview', 'lite']);
    const redis = testRedis(env.redisUrl);
    try {
      expect(await redis.hgetall(keys.pendingSections)).toEqual({
        overview: 'manual',
        lite: 'manual',
        pnl_history: 'event',
      });
      // A cadence tick never downgrades a pending request; it adds what was not pending.
      await requestRecompute(q, ['lite', 'overview', 'trading_stats'], 'schedule');
      expect(await redis.hgetall(keys.pendingSections)).toEqual({
        overview: 'manual',
        lite: 'manual',
        pnl_history: 'event',
        trading_stats: 'schedule',
      });
      await redis.del(keys.pendingSections);
    } finally {
      redis.disconnect();
    }
    await q.obliterate({ force: true });
  });

  it('happy: a request made while the section computes runs once more afterwards, never twice at once', async () => {
    const q = queue();
    const keys = keysFor(env.keyPrefix);
    const seen: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let running = 0;
    let maxRunning = 0;
    const worker = new Worker<RecomputeJobData>(
      keys.recomputeQueue,
      async (job: Job<RecomputeJobData>) => {
        running++;
        maxRunning = Math.max(maxRunning, running);
        seen.push(job.data.reason);
        if (seen.length === 1) await gate;
        running--;
      },
      {
        connection: createRedisClient(
          { mode: 'single', url: env.redisUrl },
          { name: 'test', maxRetriesPerRequest: null },
        ),
        prefix: keys.bullPrefix,
        concurrency: 4,
      },
    );
    closers.push(() => worker.close());
    await requestRecompute(q, ['overview'], 'manual');
    await expect.poll(() => seen.length).toBe(1);
    await requestRecompute(q, ['overview'], 'event');
    await requestRecompute(q, ['overview'], 'event');
    release();
    await expect.poll(() => seen.length, { timeout: 5000 }).toBe(2);
    await new Promise((r) => setTimeout(r, 300));
    expect(seen).toEqual(['manual', 'event']);
    expect(maxRunning).toBe(1);
  });
});

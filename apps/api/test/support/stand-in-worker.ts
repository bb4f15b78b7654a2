import type { RecomputeJobData } from '@snapboard/queue';
import { createRedisClient } from '@snapboard/redis';
import type { SectionName, Snapshot } from '@snapboard/shared';
import { type Job, Worker } from 'bullmq';
import type { TestApp } from './app.ts';
import { makeSnapshot, publishSnapshot } from './fixtures.ts';

/**
 * Plays apps/worker for the refresh tests: each set job takes every pending section (as the worker
 * does, decision 0009), "computes" them from its start time, takes `computeMs`, and publishes the next
 * version of each like publish.ts. Versions go on from what the replica holds (or `published`), since
 * the replica ignores anything older. `handled` lists each job with the sections it took.
 */
export function standInWorker(
  app: TestApp,
  redisUrl: string,
  published: readonly Snapshot[],
  options: { computeMs: number; concurrency: number },
) {
  const versions = new Map(published.map((s) => [s.section, app.replica.get(s.section)?.snapshot ?? s]));
  const handled: RecomputeJobData[] = [];
  const connection = createRedisClient({ mode: 'single', url: redisUrl }, { name: 'test', maxRetriesPerRequest: null });
  const worker = new Worker<RecomputeJobData>(
    app.keys.recomputeQueue,
    async (job: Job<RecomputeJobData>) => {
      const computedAtMs = Date.now();
      const taken = await app.redis.multi().hkeys(app.keys.pendingSections).del(app.keys.pendingSections).exec();
      const sections = ((taken?.[0]?.[1] as string[] | undefined) ?? []) as SectionName[];
      handled.push({ ...job.data, sections });
      await new Promise((r) => setTimeout(r, options.computeMs));
      for (const section of sections) {
        const previous = versions.get(section) as Snapshot;
        const next = makeSnapshot(section, {
          epoch: previous.epoch,
          version: previous.version + 1,
          computedAtMs,
          seed: previous.version + 10,
        });
        versions.set(next.section, next);
        await publishSnapshot(app.redis, app.keys, next);
      }
    },
    { connection, prefix: app.keys.bullPrefix, concurrency: options.concurrency },
  );
  return {
    handled,
    latest: (section: SectionName) => versions.get(section),
    async close() {
      await worker.close();
      connection.disconnect();
    },
  };
}

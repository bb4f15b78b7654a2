import type { RedisClient } from '@snapboard/redis';
import type { Keys, SectionName } from '@snapboard/shared';

/**
 * Per-section figures the API exposes on /metrics (it reads Redis, never the worker): the last
 * recompute's duration, failed recompute attempts, and symbols a price source could not price.
 * Counters live in Redis so that several workers add up and restarts do not reset them.
 */
export interface WorkerStats {
  /** The compute time of each member of a set, in one command. */
  recordDurations(durations: readonly { section: SectionName; ms: number }[]): Promise<void>;
  recordFailure(section: SectionName): Promise<void>;
  recordPriceFailures(source: string, count: number): Promise<void>;
}

export function createStats(redis: RedisClient, keys: Keys): WorkerStats {
  return {
    async recordDurations(durations) {
      if (!durations.length) return;
      await redis.hset(
        keys.durations,
        Object.fromEntries(durations.map(({ section, ms }) => [section, Math.round(ms * 1000) / 1000])),
      );
    },
    async recordFailure(section) {
      await redis.hincrby(keys.failures, section, 1);
    },
    async recordPriceFailures(source, count) {
      if (count > 0) await redis.hincrby(keys.priceFailures, source, count);
    },
  };
}

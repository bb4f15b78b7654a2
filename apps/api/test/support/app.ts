import { createRecomputeQueue, type RecomputeQueue } from '@snapboard/queue';
import { type Config, type Keys, keysFor } from '@snapboard/shared';
import { Redis } from 'ioredis';
import { type Logger, pino } from 'pino';
import { Registry } from 'prom-client';
import { type App, createApp } from '../../src/app.ts';
import { createSnapshotReplica, type SnapshotReplica } from '../../src/snapshots.ts';

/** An in-process app on real Redis with the test file's own prefix, as createApp's callers build it. */

export const silent = pino({ level: 'silent' });

export interface TestApp {
  app: App;
  replica: SnapshotReplica;
  queue: RecomputeQueue;
  registry: Registry;
  /** A plain connection for the test to write snapshots and inspect keys. */
  redis: Redis;
  keys: Keys;
  close(): Promise<void>;
}

export async function buildTestApp(
  config: Config,
  options: { now?: () => number; logger?: Logger } = {},
): Promise<TestApp> {
  const keys = keysFor(config.keyPrefix);
  const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 1 });
  const replicaRedis = new Redis(config.redisUrl, { maxRetriesPerRequest: 1, enableOfflineQueue: false });
  const subscriber = new Redis(config.redisUrl, { maxRetriesPerRequest: null });
  const queue = createRecomputeQueue({ url: config.redisUrl, maxRetriesPerRequest: 1 }, keys);
  const replica = createSnapshotReplica({ redis: replicaRedis, subscriber, keys, logger: silent });
  await replica.start();
  const registry = new Registry();
  const logger = options.logger ?? silent;
  const app = createApp({ replica, queue, config, logger, registry, redis: replicaRedis, now: options.now });
  return {
    app,
    replica,
    queue,
    registry,
    redis,
    keys,
    async close() {
      app.close();
      await replica.stop();
      await queue.close();
      redis.disconnect();
      replicaRedis.disconnect();
      subscriber.disconnect();
    },
  };
}

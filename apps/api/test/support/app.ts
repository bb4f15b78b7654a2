import { createRecomputeQueue, type RecomputeQueue } from '@snapboard/queue';
import { createRedisClient, type RedisClient } from '@snapboard/redis';
import { type Catalog, type Config, type Keys, keysForConfig } from '@snapboard/shared';
import { type Logger, pino } from 'pino';
import { Registry } from 'prom-client';
import { type App, createApp } from '../../src/app.ts';
import { createSnapshotReplica, type SnapshotReplica } from '../../src/snapshot-replica.ts';

/** An in-process app on real Redis with the test file's own prefix, as createApp's callers build it. */

export const silent = pino({ level: 'silent' });

export interface TestApp {
  app: App;
  replica: SnapshotReplica;
  queue: RecomputeQueue;
  registry: Registry;
  /** A plain connection for the test to write snapshots and inspect keys. */
  redis: RedisClient;
  keys: Keys;
  close(): Promise<void>;
}

export async function buildTestApp(
  config: Config,
  options: { now?: () => number; logger?: Logger; catalog?: Catalog } = {},
): Promise<TestApp> {
  const keys = keysForConfig(config);
  const redis = createRedisClient(config.redis, { name: 'test', maxRetriesPerRequest: 1 });
  const replicaRedis = createRedisClient(config.redis, { name: 'test', maxRetriesPerRequest: 1, offlineQueue: false });
  const subscriber = createRedisClient(config.redis, { name: 'test', maxRetriesPerRequest: null, subscriber: true });
  const queueConnection = createRedisClient(config.redis, { name: 'test', maxRetriesPerRequest: 1 });
  const queue = createRecomputeQueue(queueConnection, keys);
  const replica = createSnapshotReplica({
    redis: replicaRedis,
    subscriber,
    keys,
    logger: silent,
    catalog: options.catalog,
  });
  await replica.start();
  const registry = new Registry();
  const logger = options.logger ?? silent;
  const disconnect = async () => {
    await replica.stop();
    await queue.close();
    queueConnection.disconnect();
    redis.disconnect();
    replicaRedis.disconnect();
    subscriber.disconnect();
  };
  let app: App;
  try {
    app = createApp({ replica, queue, config, logger, registry, redis: replicaRedis, now: options.now });
  } catch (error) {
    // A catalog the app refuses (tests of the refusal): nothing of this app may outlive the test.
    await disconnect();
    throw error;
  }
  return {
    app,
    replica,
    queue,
    registry,
    redis,
    keys,
    async close() {
      app.close();
      await disconnect();
    },
  };
}

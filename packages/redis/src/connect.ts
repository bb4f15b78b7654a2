import type { RedisTarget } from '@snapboard/shared';
import { Cluster, type ClusterOptions, Redis, type RedisOptions } from 'ioredis';

/**
 * The one place a Redis client is made (SPEC §12, decision 0012). Every process — worker, API, CLIs,
 * test and bench helpers — asks here instead of `new Redis(url)`, so each mode (one server, a
 * Sentinel-managed primary, a Redis Cluster) works everywhere the moment the environment names it.
 * The settings follow BullMQ's production guide: reconnect forever with a capped backoff, commands
 * either wait for the reconnect (BullMQ's blocking connections: `maxRetriesPerRequest: null`) or
 * fail fast (producers and request paths), and an `error` listener on every client is the caller's.
 */

export type RedisClient = Redis | Cluster;

export interface RedisClientOptions {
  /** CLIENT SETNAME: who holds a connection, as CLIENT LIST shows it. */
  name: string;
  /**
   * How often a command is retried across reconnects before it fails; null waits forever (what
   * BullMQ requires of a Worker's connection).
   */
  maxRetriesPerRequest: number | null;
  /** false: commands fail at once while disconnected instead of queueing (default true). */
  offlineQueue?: boolean;
  /** Connect on first command or `connect()` rather than at once (default false). */
  lazyConnect?: boolean;
  /**
   * A connection for announcements. In cluster mode this turns on sharded subscribers (one per
   * primary, moved by the client when a replica is promoted); elsewhere it changes nothing.
   */
  subscriber?: boolean;
  /**
   * Delay before reconnect attempt `times` (ms), null to give up; default 100 ms per attempt, at most
   * 2 s (reconnecting forever is what a service wants; only a probe gives up).
   */
  retryStrategy?: (times: number) => number | null;
}

export const defaultRetryStrategy = (times: number): number => Math.min(100 * times, 2000);

export function createRedisClient(
  target: Exclude<RedisTarget, { mode: 'cluster' }>,
  options: RedisClientOptions,
): Redis;
export function createRedisClient(target: RedisTarget, options: RedisClientOptions): RedisClient;
export function createRedisClient(target: RedisTarget, options: RedisClientOptions): RedisClient {
  const retryStrategy = options.retryStrategy ?? defaultRetryStrategy;
  const common: RedisOptions = {
    connectionName: options.name,
    maxRetriesPerRequest: options.maxRetriesPerRequest,
    lazyConnect: options.lazyConnect ?? false,
  };
  const offlineQueue = options.offlineQueue ?? true;

  if (target.mode === 'single') {
    return new Redis(target.url, { ...common, enableOfflineQueue: offlineQueue, retryStrategy });
  }

  const credentials = {
    ...(target.username === undefined ? {} : { username: target.username }),
    ...(target.password === undefined ? {} : { password: target.password }),
    // The system's CAs, verified hostnames: what `rediss://` gives one server.
    ...(target.tls ? { tls: {} } : {}),
  };

  if (target.mode === 'sentinel') {
    return new Redis({
      ...common,
      ...credentials,
      enableOfflineQueue: offlineQueue,
      retryStrategy,
      sentinels: target.sentinels,
      name: target.name,
      role: 'master',
      ...(target.sentinelUsername === undefined ? {} : { sentinelUsername: target.sentinelUsername }),
      ...(target.sentinelPassword === undefined ? {} : { sentinelPassword: target.sentinelPassword }),
      ...(target.tls ? { enableTLSForSentinelMode: true, sentinelTLS: {} } : {}),
      // Ask the sentinels again on every reconnect. A primary that was demoted while we stayed
      // connected answers writes with READONLY: reconnect (to whom the sentinels name now) and resend.
      // (ioredis' failoverDetector left connections closed for good after some failovers in our tests.)
      sentinelRetryStrategy: retryStrategy,
      reconnectOnError: (error) => (error.message.startsWith('READONLY') ? 2 : false),
    });
  }

  const clusterOptions: ClusterOptions = {
    lazyConnect: common.lazyConnect,
    enableOfflineQueue: offlineQueue,
    clusterRetryStrategy: retryStrategy,
    // A promoted replica announces itself through MOVED/CLUSTERDOWN answers; retry those soon.
    retryDelayOnFailover: 100,
    retryDelayOnClusterDown: 200,
    slotsRefreshTimeout: 2000,
    slotsRefreshInterval: 2000,
    shardedSubscribers: options.subscriber ?? false,
    redisOptions: {
      connectionName: options.name,
      maxRetriesPerRequest: options.maxRetriesPerRequest,
      ...credentials,
    },
  };
  return new Cluster(target.nodes, clusterOptions);
}

export function isCluster(client: RedisClient): client is Cluster {
  return client instanceof Cluster;
}

/** Close a client: flush what it has if it ever connected, else just drop it. */
export async function closeRedisClient(client: RedisClient): Promise<void> {
  if (client.status === 'wait' || client.status === 'end') {
    client.disconnect();
    return;
  }
  await client.quit().then(
    () => undefined,
    () => client.disconnect(),
  );
}

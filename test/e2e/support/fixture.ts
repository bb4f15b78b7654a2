import { dropDatabase } from '@snapboard/devenv';
import { createTestDatabase, type TestEnv, uniqueName, useTestEnv } from '@snapboard/devenv/testing';
import type { SectionName, Snapshot } from '@snapboard/shared';
import { afterAll, afterEach, beforeAll, beforeEach, inject } from 'vitest';
import { BotDb } from './bot-db.ts';
import { type ApiProcess, type ServiceEnv, type ServiceProcess, startApi, startWorker } from './processes.ts';
import { type PrivateRedis, startPrivateRedis } from './redis-server.ts';
import { SnapshotReader } from './snapshots.ts';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.ts';
import { GiveUp, waitUntil } from './wait.ts';
import { WsClient } from './ws-client.ts';

/**
 * One call at the top of an end-to-end test file. On top of useTestEnv (a database and key prefix
 * of the file's own) every test gets a key prefix of its own, and everything a test starts —
 * processes, proxies, private Redis servers, sockets, pools — is stopped after that test, so one
 * scenario's leftovers never disturb the next.
 */
export interface E2E {
  env: TestEnv;
  /** This test's KEY_PREFIX (under the file's, so the file's cleanup removes it too). */
  readonly prefix: string;
  /** The environment for a worker/API on this test's prefix and the file's database. */
  serviceEnv(extra?: Record<string, string>): ServiceEnv;
  worker(extra?: Record<string, string>, name?: string): ServiceProcess;
  api(extra?: Record<string, string>, name?: string): Promise<ApiProcess>;
  privateRedis(): Promise<PrivateRedis>;
  /** A proxy in front of the shared PostgreSQL server. */
  postgresProxy(): Promise<TcpProxy>;
  ws(url: string): Promise<WsClient>;
  botDb(url?: string): BotDb;
  reader(redisUrl?: string): SnapshotReader;
  /** A fresh migrated database dropped after the test. */
  freshDatabase(): Promise<string>;
  defer(cleanup: () => unknown): void;
}

export interface E2EOptions {
  database?: boolean;
  /**
   * 'test' (default): a prefix per test, and what a test starts is stopped after it.
   * 'file': one prefix for the file, everything stopped after the file (for stacks several tests share).
   */
  scope?: 'test' | 'file';
}

export function useE2E(options: E2EOptions = {}): E2E {
  const env = useTestEnv(options);
  const perTest = options.scope !== 'file';
  let prefix = '';
  let cleanups: (() => unknown)[] = [];

  const runCleanups = async () => {
    const pending = cleanups.reverse();
    cleanups = [];
    for (const cleanup of pending) {
      try {
        await cleanup();
      } catch (error) {
        process.stderr.write(`e2e cleanup failed: ${(error as Error).message}\n`);
      }
    }
  };

  if (perTest) {
    beforeEach(() => {
      prefix = `${env.keyPrefix}:${uniqueName('s')}`;
    });
    afterEach(runCleanups, 60_000);
  } else {
    beforeAll(() => {
      prefix = `${env.keyPrefix}:${uniqueName('s')}`;
    });
  }
  afterAll(runCleanups, 60_000);

  const e2e: E2E = {
    env,
    get prefix() {
      return prefix;
    },
    serviceEnv(extra = {}) {
      // A Sentinel or Cluster named in `extra` replaces the shared server (a mix would stop the process).
      const otherMode = 'REDIS_SENTINELS' in extra || 'REDIS_CLUSTER_NODES' in extra;
      return {
        DATABASE_URL: env.databaseUrl,
        ...(otherMode ? {} : { REDIS_URL: env.redisUrl }),
        KEY_PREFIX: prefix,
        ...extra,
      };
    },
    worker(extra = {}, name = 'worker') {
      const worker = startWorker(e2e.serviceEnv(extra), name);
      e2e.defer(() => worker.stop('SIGTERM', 3000));
      return worker;
    },
    async api(extra = {}, name = 'api') {
      const api = await startApi(e2e.serviceEnv(extra), name);
      e2e.defer(() => api.stop('SIGTERM', 3000));
      return api;
    },
    async privateRedis() {
      const redis = await startPrivateRedis();
      e2e.defer(() => redis.stop());
      return redis;
    },
    async postgresProxy() {
      const target = new URL(inject('postgresUrl'));
      const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
      e2e.defer(() => proxy.close());
      return proxy;
    },
    async ws(url) {
      const client = await WsClient.connect(url);
      e2e.defer(() => client.close());
      return client;
    },
    botDb(url = env.databaseUrl) {
      const db = new BotDb(url);
      e2e.defer(() => db.close());
      return db;
    },
    reader(redisUrl = env.redisUrl) {
      const reader = new SnapshotReader(redisUrl, prefix);
      e2e.defer(() => reader.close());
      return reader;
    },
    async freshDatabase() {
      const url = await createTestDatabase();
      e2e.defer(() => dropDatabase(url));
      return url;
    },
    defer(cleanup) {
      cleanups.push(cleanup);
    },
  };
  return e2e;
}

/** A `waitUntil` check wrapper: stop waiting at once, with its last output, if a process died. */
export function assertAlive(...processes: ServiceProcess[]): void {
  for (const p of processes) {
    if (!p.alive) throw new GiveUp(`${p.name} exited ${JSON.stringify(p.exitStatus)}\n${p.tail()}`);
  }
}

/** Wait until every section has a snapshot in Redis, giving up at once if one of `processes` died. */
export function everySectionPublished(
  reader: SnapshotReader,
  processes: ServiceProcess[],
  timeoutMs = 30_000,
): Promise<Record<SectionName, Snapshot>> {
  return waitUntil(
    'every section published',
    async () => {
      assertAlive(...processes);
      return reader.allPresent();
    },
    { timeoutMs },
  );
}

import { randomBytes } from 'node:crypto';
import { migrate } from '@snapboard/db';
import { createRedisClient } from '@snapboard/redis';
import { type Config, loadConfig } from '@snapboard/shared';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, inject } from 'vitest';
import { createDatabaseIfMissing, deletePrefix, dropDatabase, withDatabase } from './services.ts';

export { deletePrefix };

/**
 * Isolation by name (STYLE §8): each test file gets a database and a KEY_PREFIX of its own on the
 * servers that vitest's global setup found or started, and both are removed when the file ends.
 */

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
    postgresUrl: string;
  }
}

/**
 * A plain connection for a test that plays the worker or inspects keys, made by the one factory like
 * every connection snapboard opens (ioredis' default of 20 retries per command, as `new Redis(url)`).
 */
export function testRedis(url: string): Redis {
  return createRedisClient({ mode: 'single', url }, { name: 'snapboard-test', maxRetriesPerRequest: 20 });
}

export function uniqueName(kind: string): string {
  return `${kind}_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
}

export async function createTestDatabase(options: { migrate?: boolean } = {}): Promise<string> {
  const url = withDatabase(inject('postgresUrl'), uniqueName('snapboard_test'));
  await createDatabaseIfMissing(url);
  if (options.migrate !== false) await migrate(url);
  return url;
}

export interface TestEnv {
  databaseUrl: string;
  redisUrl: string;
  keyPrefix: string;
  /** A parsed Config pointing at this file's database and prefix; extra env on top. */
  config(env?: Record<string, string>): Config;
}

/**
 * Call at the top of a test file. `env.databaseUrl` etc. are ready inside tests and hooks
 * (they are filled in by a beforeAll).
 */
export function useTestEnv(options: { database?: boolean; migrate?: boolean } = {}): TestEnv {
  const env: TestEnv = {
    databaseUrl: '',
    redisUrl: '',
    keyPrefix: '',
    config(extra = {}) {
      return loadConfig({
        DATABASE_URL: env.databaseUrl || withDatabase(inject('postgresUrl'), 'postgres'),
        REDIS_URL: env.redisUrl,
        KEY_PREFIX: env.keyPrefix,
        PRICE_SOURCE: 'none',
        LOG_LEVEL: 'silent',
        ...extra,
      });
    },
  };
  beforeAll(async () => {
    env.redisUrl = inject('redisUrl');
    env.keyPrefix = `test:${uniqueName('t')}`;
    if (options.database !== false) env.databaseUrl = await createTestDatabase({ migrate: options.migrate });
  }, 60_000);
  afterAll(async () => {
    await deletePrefix(env.redisUrl, env.keyPrefix);
    if (env.databaseUrl) await dropDatabase(env.databaseUrl);
  }, 60_000);
  return env;
}

import type { TestProject } from 'vitest/node';
import { ensurePostgres, ensureRedis, type Service, withDatabase } from './services.ts';

/**
 * vitest global setup: find the Redis and PostgreSQL of REDIS_URL / DATABASE_URL (or the defaults),
 * or start private ones under .data/test, exactly as `npm start` does. Test files then make their own
 * database and key prefix on them (testing.ts).
 */
let started: Service[] = [];

export async function setup(project: TestProject): Promise<void> {
  const log = (line: string) => process.stderr.write(`[test services] ${line}\n`);
  const redisUrl = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
  const postgresUrl = withDatabase(
    process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres',
    'postgres',
  );
  const redis = await ensureRedis(redisUrl, '.data/test', log);
  const postgres = await ensurePostgres(postgresUrl, '.data/test', log);
  started = [redis, postgres];
  project.provide('redisUrl', redis.url);
  project.provide('postgresUrl', postgres.url);
}

export async function teardown(): Promise<void> {
  await Promise.all(started.map((service) => service.stop()));
}

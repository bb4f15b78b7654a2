import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnRedisServer, stopChild } from '@snapboard/devenv';
import { closeRedisClient, createRedisClient } from '@snapboard/redis';
import { loadConfig } from '@snapboard/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from './support/ports.ts';
import { waitUntil } from './support/wait.ts';

/**
 * Sentinels with credentials of their own (REDIS_SENTINEL_USERNAME / _PASSWORD), apart from the data
 * node's (REDIS_USERNAME / _PASSWORD): one password-protected primary and one password-protected
 * sentinel that watches it, on loopback ports. No failover here (redis-failover.test.ts has those).
 */

const DATA_PASSWORD = 'data-secret-1';
const SENTINEL_PASSWORD = 'sentinel-secret-1';

describe('Redis Sentinel with credentials', () => {
  let dir = '';
  const children: ChildProcess[] = [];
  let sentinelPort = 0;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'snapboard-e2e-sentinel-auth-'));
    const dataPort = await freePort();
    children.push(await spawnRedisServer({ port: dataPort, dir, args: ['--requirepass', DATA_PASSWORD] }));
    sentinelPort = await freePort();
    const conf = join(dir, 'sentinel.conf');
    await writeFile(
      conf,
      [
        `port ${sentinelPort}`,
        'bind 127.0.0.1',
        `dir ${dir}`,
        `requirepass ${SENTINEL_PASSWORD}`,
        `sentinel monitor auth 127.0.0.1 ${dataPort} 1`,
        `sentinel auth-pass auth ${DATA_PASSWORD}`,
        '',
      ].join('\n'),
    );
    children.push(spawn('redis-server', [conf, '--sentinel', '--loglevel', 'warning'], { stdio: 'ignore' }));
  }, 30_000);

  afterAll(async () => {
    await Promise.all(children.map((child) => stopChild(child, 'SIGKILL')));
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const target = (env: Record<string, string>) =>
    loadConfig({ REDIS_SENTINELS: `127.0.0.1:${sentinelPort}`, REDIS_SENTINEL_NAME: 'auth', ...env }).redis;

  it('happy: both passwords given, the client finds the primary through the sentinel and writes', async () => {
    const redis = createRedisClient(
      target({ REDIS_PASSWORD: DATA_PASSWORD, REDIS_SENTINEL_PASSWORD: SENTINEL_PASSWORD }),
      { name: 'e2e-sentinel-auth', maxRetriesPerRequest: 1, lazyConnect: true },
    );
    redis.on('error', () => {});
    try {
      // The sentinel needs a moment after start to answer for the primary it monitors.
      await waitUntil('the sentinel to name the primary', async () => {
        await redis.set('sentinel-auth:probe', 'ok');
        return (await redis.get('sentinel-auth:probe')) === 'ok';
      });
      await redis.del('sentinel-auth:probe');
    } finally {
      await closeRedisClient(redis);
    }
  });

  it('error: without the sentinel password the sentinel refuses to name the primary', async () => {
    const redis = createRedisClient(target({ REDIS_PASSWORD: DATA_PASSWORD }), {
      name: 'e2e-sentinel-auth',
      maxRetriesPerRequest: 0,
      lazyConnect: true,
      retryStrategy: () => null,
    });
    redis.on('error', () => {});
    try {
      await expect(redis.connect()).rejects.toThrow();
    } finally {
      redis.disconnect();
    }
  });
});

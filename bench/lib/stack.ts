import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { SECTION_NAMES } from '@snapboard/shared';
import { type Managed, REPO_ROOT, spawnTs, waitUntil } from './procs.ts';

/**
 * snapboard as it runs in production: the worker and the API as real processes
 * (`node --import tsx apps/…/src/main.ts`), each configured only through its environment.
 */

export const WORKER_MAIN = 'apps/worker/src/main.ts';
export const API_MAIN = 'apps/api/src/main.ts';

export function built(entry: string): boolean {
  return existsSync(join(REPO_ROOT, entry));
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface StackEnv {
  databaseUrl: string;
  redisUrl: string;
  keyPrefix: string;
  /** Extra environment for both processes (TTL_*, PRICE_SOURCE…). */
  extra?: Record<string, string>;
  /** Run the processes from another checkout of the repository (default: this one). */
  root?: string;
}

/**
 * Requests are logged one line each at `info` (STYLE §12); under 100 connections that is tens of
 * thousands of lines a second, which measures pino rather than snapboard. The bench runs at `warn`.
 */
const BENCH_LOG_LEVEL = 'warn';

export function startWorker(env: StackEnv, name = 'worker'): Managed {
  return spawnTs(name, WORKER_MAIN, {
    root: env.root,
    env: {
      DATABASE_URL: env.databaseUrl,
      REDIS_URL: env.redisUrl,
      KEY_PREFIX: env.keyPrefix,
      LOG_LEVEL: process.env.BENCH_WORKER_LOG_LEVEL ?? BENCH_LOG_LEVEL,
      ...env.extra,
    },
  });
}

export interface Api {
  process: Managed;
  port: number;
  baseUrl: string;
  wsUrl: string;
}

/** The environment the bench's API processes run with (also the HTTP suite's api-bare child). */
export function apiEnv(env: Omit<StackEnv, 'databaseUrl'>, port: number): Record<string, string> {
  return {
    // The API never needs the database; it is given a URL nobody listens on to prove it.
    DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none',
    REDIS_URL: env.redisUrl,
    KEY_PREFIX: env.keyPrefix,
    HOST: '127.0.0.1',
    PORT: String(port),
    LOG_LEVEL: BENCH_LOG_LEVEL,
    // 10,000 subscribers come from a handful of loopback addresses.
    WS_MAX_CONNECTIONS: '50000',
    WS_MAX_CONNECTIONS_PER_IP: '1000000',
    ...env.extra,
  };
}

export async function startApi(env: StackEnv, name = 'api'): Promise<Api> {
  const port = await freePort();
  const managed = spawnTs(name, API_MAIN, { root: env.root, env: apiEnv(env, port) });
  const baseUrl = `http://127.0.0.1:${port}`;
  await waitUntil(
    `${name} to answer /healthz`,
    async () => {
      if (!managed.alive()) throw new Error(`${name} exited; see ${managed.logFile}`);
      const response = await fetch(`${baseUrl}/healthz`).catch(() => undefined);
      return response?.status === 200;
    },
    30_000,
  );
  return { process: managed, port, baseUrl, wsUrl: `ws://127.0.0.1:${port}/ws` };
}

/** Wait until the API serves every section (the worker has published each once). */
export async function waitForSnapshots(
  api: Api,
  timeoutMs: number,
  sections: readonly string[] = SECTION_NAMES,
): Promise<void> {
  await waitUntil(
    'every section to have a snapshot',
    async () => {
      const checks = await Promise.all(
        sections.map(async (section) => {
          const response = await fetch(`${api.baseUrl}/api/public/dashboard/sections/${section}/`);
          await response.arrayBuffer();
          return response.status === 200;
        }),
      );
      return checks.every(Boolean);
    },
    timeoutMs,
    250,
  );
}

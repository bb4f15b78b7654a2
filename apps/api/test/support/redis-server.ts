import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnRedisServer } from '@snapboard/devenv';

/** A private redis-server for tests that stop and restart Redis under a running API. */

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface PrivateRedis {
  port: number;
  url: string;
  dir: string;
  /** Start (again) on the same port; loads dump.rdb from `dir` when one is there. */
  start(): Promise<void>;
  /** Kill the server (its data is gone unless SAVEd). */
  stop(): Promise<void>;
  remove(): Promise<void>;
}

export async function privateRedis(): Promise<PrivateRedis> {
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), 'snapboard-redis-'));
  let child: ChildProcess | undefined;
  const url = `redis://127.0.0.1:${port}`;
  const self: PrivateRedis = {
    port,
    url,
    dir,
    async start() {
      // A dump.rdb copied into `dir` beforehand is loaded as the server starts.
      child = await spawnRedisServer({ port, dir });
    },
    async stop() {
      const running = child;
      if (!running || running.exitCode !== null || running.signalCode !== null) return;
      await new Promise<void>((resolve) => {
        running.once('exit', () => resolve());
        running.kill('SIGKILL');
      });
    },
    async remove() {
      await self.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
  return self;
}

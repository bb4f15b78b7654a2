import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnRedisServer } from '@snapboard/devenv';
import { freePort } from './ports.ts';

/**
 * A private redis-server the test owns, so it can crash it and bring it back empty without
 * disturbing the Redis every other test file shares. No persistence: a restart loses all data,
 * as a Redis without AOF/RDB (or a failover to an empty replica) does.
 */
export interface PrivateRedis {
  port: number;
  url: string;
  /** SIGKILL the server (no save) and start a fresh, empty one on the same port. */
  restart(options?: { downMs?: number }): Promise<void>;
  /** SIGKILL the server and leave it down. */
  kill(): Promise<void>;
  /** Start it again (empty) after kill(). */
  start(): Promise<void>;
  stop(): Promise<void>;
}

const children = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

export async function startPrivateRedis(): Promise<PrivateRedis> {
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), 'snapboard-e2e-redis-'));
  let child: ChildProcess | undefined;

  const start = async () => {
    const proc = await spawnRedisServer({ port, dir });
    children.add(proc);
    proc.once('exit', () => children.delete(proc));
    child = proc;
  };

  const kill = async () => {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((done) => proc.once('exit', done));
    proc.kill('SIGKILL');
    await exited;
  };

  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    async restart({ downMs = 0 } = {}) {
      await kill();
      if (downMs > 0) await new Promise((r) => setTimeout(r, downMs));
      await start();
    },
    kill,
    start,
    async stop() {
      await kill();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

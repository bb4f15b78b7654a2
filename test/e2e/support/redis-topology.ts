import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { spawnRedisServer, stopChild } from '@snapboard/devenv';
import { createRedisClient } from '@snapboard/redis';
import type { RedisTarget } from '@snapboard/shared';
import type { Redis } from 'ioredis';
import { freePort } from './ports.ts';
import { waitUntil } from './wait.ts';

/**
 * Redis topologies the failover tests own, on loopback ports (SPEC §12): a Redis Cluster of 3
 * primaries with a replica each, and a Sentinel-managed primary with one replica and 3 sentinels.
 * Timeouts are short (1 s to notice a dead primary) so a failover takes seconds, not the default 30 s.
 * The probes talk to one node at a time (one-server mode of the factory), which snapboard never does.
 */

const execFileAsync = promisify(execFile);
const NODE_TIMEOUT_MS = 1000;

const children = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

interface Node {
  port: number;
  child: ChildProcess;
}

async function startNode(dir: string, args: string[]): Promise<Node> {
  const port = await freePort();
  const child = await spawnRedisServer({ port, dir, args: args.map((a) => a.replaceAll('{port}', String(port))) });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return { port, child };
}

async function ask<T>(port: number, command: (redis: Redis) => Promise<T>): Promise<T> {
  // One node on its own, even a cluster node: a probe that gives up at once rather than reconnect.
  const redis = createRedisClient(
    { mode: 'single', url: `redis://127.0.0.1:${port}` },
    { name: 'e2e-topology', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null },
  );
  redis.on('error', () => {});
  try {
    await redis.connect();
    return await command(redis);
  } finally {
    redis.disconnect();
  }
}

function kill(node: Node): Promise<void> {
  return new Promise((done) => {
    if (node.child.exitCode !== null || node.child.signalCode !== null) return done();
    node.child.once('exit', () => done());
    node.child.kill('SIGKILL');
  });
}

export interface RedisClusterUnderTest {
  target: RedisTarget;
  /** The env that selects this cluster. */
  env: { REDIS_CLUSTER_NODES: string };
  /** Port of the primary that serves `key`'s slot now. */
  primaryOf(key: string): Promise<number>;
  /** SIGKILL the node on `port` (no save, no goodbye). */
  kill(port: number): Promise<void>;
  /** Resolves once `key`'s slot is served by a primary other than `port` and the cluster says ok. */
  promotedAway(key: string, port: number, timeoutMs?: number): Promise<number>;
  stop(): Promise<void>;
}

/** 3 primaries, 1 replica each, created with redis-cli --cluster create, ready when every node says ok. */
export async function startRedisCluster(): Promise<RedisClusterUnderTest> {
  const dir = await mkdtemp(join(tmpdir(), 'snapboard-e2e-cluster-'));
  const nodes: Node[] = [];
  for (let i = 0; i < 6; i++) {
    nodes.push(
      await startNode(dir, [
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        'nodes-{port}.conf',
        '--cluster-node-timeout',
        String(NODE_TIMEOUT_MS),
        // A replica however far behind may take over: the test kills a primary on purpose.
        '--cluster-replica-validity-factor',
        '0',
      ]),
    );
  }
  const addresses = nodes.map((n) => `127.0.0.1:${n.port}`);
  await execFileAsync('redis-cli', ['--cluster', 'create', ...addresses, '--cluster-replicas', '1', '--cluster-yes'], {
    timeout: 30_000,
  });
  await waitUntil(
    'every cluster node to report cluster_state:ok',
    async () => {
      const states = await Promise.all(nodes.map((n) => ask(n.port, (r) => r.cluster('INFO')).catch(() => '')));
      return states.every((s) => String(s).includes('cluster_state:ok'));
    },
    { timeoutMs: 30_000, intervalMs: 200 },
  );

  const live = () => nodes.filter((n) => n.child.exitCode === null && n.child.signalCode === null);
  const primaryOf = async (key: string): Promise<number> => {
    for (const node of live()) {
      try {
        const slot = Number(await ask(node.port, (r) => r.cluster('KEYSLOT', key)));
        const ranges = await ask(node.port, (r) => r.cluster('SLOTS'));
        for (const [from, to, owner] of ranges) if (owner && slot >= from && slot <= to) return Number(owner[1]);
      } catch {
        // That node is down or still converging: ask another.
      }
    }
    throw new Error(`no live node knows who serves ${key}`);
  };

  return {
    target: { mode: 'cluster', nodes: nodes.slice(0, 3).map((n) => ({ host: '127.0.0.1', port: n.port })) },
    env: { REDIS_CLUSTER_NODES: addresses.slice(0, 3).join(',') },
    primaryOf,
    async kill(port) {
      const node = nodes.find((n) => n.port === port);
      if (!node) throw new Error(`no cluster node on ${port}`);
      await kill(node);
    },
    promotedAway(key, port, timeoutMs = 30_000) {
      return waitUntil(
        `a replica to take over the slot of ${key} from ${port}`,
        async () => {
          const now = await primaryOf(key).catch(() => port);
          if (now === port) return undefined;
          const state = await ask(now, (r) => r.cluster('INFO')).catch(() => '');
          return String(state).includes('cluster_state:ok') ? now : undefined;
        },
        { timeoutMs, intervalMs: 100 },
      );
    },
    async stop() {
      await Promise.all(nodes.map(kill));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface RedisSentinelUnderTest {
  target: RedisTarget;
  env: { REDIS_SENTINELS: string; REDIS_SENTINEL_NAME: string };
  primaryPort(): Promise<number>;
  kill(port: number): Promise<void>;
  /** Resolves with the new primary's port once every sentinel names one other than `port`. */
  failedOverFrom(port: number, timeoutMs?: number): Promise<number>;
  stop(): Promise<void>;
}

const MASTER = 'snapboard';

/** One primary, one replica, three sentinels (quorum 2), ready once every sentinel knows all of them. */
export async function startRedisSentinel(): Promise<RedisSentinelUnderTest> {
  const dir = await mkdtemp(join(tmpdir(), 'snapboard-e2e-sentinel-'));
  const primary = await startNode(dir, []);
  const replica = await startNode(dir, ['--replicaof', '127.0.0.1', String(primary.port)]);
  const sentinels: Node[] = [];
  for (let i = 0; i < 3; i++) {
    const port = await freePort();
    const conf = join(dir, `sentinel-${port}.conf`);
    await writeFile(
      conf,
      [
        `port ${port}`,
        'bind 127.0.0.1',
        `dir ${dir}`,
        `sentinel monitor ${MASTER} 127.0.0.1 ${primary.port} 2`,
        `sentinel down-after-milliseconds ${MASTER} ${NODE_TIMEOUT_MS}`,
        `sentinel failover-timeout ${MASTER} 5000`,
        `sentinel parallel-syncs ${MASTER} 1`,
        '',
      ].join('\n'),
    );
    const child = spawn('redis-server', [conf, '--sentinel', '--loglevel', 'warning'], { stdio: 'ignore' });
    children.add(child);
    child.once('exit', () => children.delete(child));
    sentinels.push({ port, child });
  }
  const masterInfo = async (port: number) => {
    const flat = (await ask(port, (r) => r.call('SENTINEL', 'MASTER', MASTER))) as string[];
    const info: Record<string, string> = {};
    for (let i = 0; i + 1 < flat.length; i += 2) info[flat[i] as string] = flat[i + 1] as string;
    return info;
  };
  await waitUntil(
    'every sentinel to know the replica and the other sentinels',
    async () => {
      const infos = await Promise.all(sentinels.map((s) => masterInfo(s.port).catch(() => undefined)));
      return infos.every((i) => i && i['num-slaves'] === '1' && i['num-other-sentinels'] === '2');
    },
    { timeoutMs: 30_000, intervalMs: 200 },
  );
  const primaryPort = async () => {
    for (const s of sentinels) {
      const answer = (await ask(s.port, (r) => r.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', MASTER)).catch(
        () => undefined,
      )) as [string, string] | undefined;
      if (answer) return Number(answer[1]);
    }
    throw new Error('no sentinel answers');
  };
  const all = [primary, replica, ...sentinels];
  return {
    target: { mode: 'sentinel', name: MASTER, sentinels: sentinels.map((s) => ({ host: '127.0.0.1', port: s.port })) },
    env: {
      REDIS_SENTINELS: sentinels.map((s) => `127.0.0.1:${s.port}`).join(','),
      REDIS_SENTINEL_NAME: MASTER,
    },
    primaryPort,
    async kill(port) {
      const node = [primary, replica].find((n) => n.port === port);
      if (!node) throw new Error(`no data node on ${port}`);
      await kill(node);
    },
    failedOverFrom(port, timeoutMs = 30_000) {
      return waitUntil(
        `the sentinels to promote a replica in place of ${port}`,
        async () => {
          const ports = await Promise.all(
            sentinels.map((s) =>
              ask(s.port, (r) => r.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', MASTER)).then(
                (a) => Number((a as [string, string])[1]),
                () => port,
              ),
            ),
          );
          const role = await ask(ports[0] as number, (r) => r.call('ROLE')).catch(() => undefined);
          const promoted = ports.every((p) => p !== port && p === ports[0]);
          return promoted && Array.isArray(role) && role[0] === 'master' ? (ports[0] as number) : undefined;
        },
        { timeoutMs, intervalMs: 100 },
      );
    },
    async stop() {
      await Promise.all(all.map((n) => stopChild(n.child, 'SIGKILL')));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

import { testRedis, useTestEnv } from '@snapboard/devenv/testing';
import { createRedisClient, type RedisClient } from '@snapboard/redis';
import { keysFor, type SectionName, type Snapshot } from '@snapboard/shared';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { type ChangeKind, createSnapshotReplica, type SnapshotReplica } from '../src/snapshot-replica.ts';
import { silent } from './support/app.ts';
import { makeSnapshot, newEpoch, publishRefresh, publishSnapshot, until } from './support/fixtures.ts';

/** The in-memory replica: loaded at start, fed by announcements, never going backwards. */

const env = useTestEnv({ database: false });
let redis: RedisClient;
const open: { stop(): Promise<void>; connections: RedisClient[] }[] = [];

beforeAll(() => {
  redis = testRedis(env.redisUrl);
});
afterEach(async () => {
  for (const r of open.splice(0)) {
    await r.stop();
    for (const c of r.connections) c.disconnect();
  }
});
afterAll(() => redis?.disconnect());

let n = 0;
/** A replica on a prefix of its own (so tests do not see each other's snapshots). */
async function replica(resyncIntervalMs = 60_000) {
  const keys = keysFor(`${env.keyPrefix}:r${n++}`);
  // As the API makes them (server.ts), through the one factory.
  const target = { mode: 'single', url: env.redisUrl } as const;
  const commands = createRedisClient(target, { name: 'test', offlineQueue: false, maxRetriesPerRequest: 1 });
  const subscriber = createRedisClient(target, { name: 'test', maxRetriesPerRequest: null, subscriber: true });
  const r = createSnapshotReplica({ redis: commands, subscriber, keys, logger: silent, resyncIntervalMs });
  const changes: [SectionName, ChangeKind, number][] = [];
  r.onChange((section, kind, entry) => changes.push([section, kind, entry.snapshot.version]));
  open.push({ stop: () => r.stop(), connections: [commands, subscriber] });
  return { r, keys, changes };
}

const version = (r: SnapshotReplica, s: SectionName) => r.get(s)?.snapshot.version;

describe('snapshot replica', () => {
  it('happy: loads what Redis holds at start', async () => {
    const { r, keys } = await replica();
    const epoch = newEpoch();
    await publishSnapshot(redis, keys, makeSnapshot('overview', { epoch, version: 4 }), false);
    await publishSnapshot(redis, keys, makeSnapshot('lite', { epoch, version: 9 }), false);
    expect(r.loaded).toBe(false);
    await r.start();
    expect(r.loaded).toBe(true);
    expect(r.connected).toBe(true);
    expect(version(r, 'overview')).toBe(4);
    expect(version(r, 'lite')).toBe(9);
    expect(r.get('pnl_history')).toBeUndefined();
  });

  it('happy: a re-sync parses only the snapshots whose text changed since it last read them', async () => {
    const { r, keys } = await replica();
    const epoch = newEpoch();
    await publishSnapshot(redis, keys, makeSnapshot('overview', { epoch, version: 1 }), false);
    await publishSnapshot(redis, keys, makeSnapshot('lite', { epoch, version: 1 }), false);
    await r.start();
    const parse = vi.spyOn(JSON, 'parse');
    try {
      await r.resync();
      expect(parse).not.toHaveBeenCalled();
      await publishSnapshot(redis, keys, makeSnapshot('lite', { epoch, version: 2 }), false);
      await r.resync();
      expect(parse).toHaveBeenCalledTimes(1);
      expect(version(r, 'lite')).toBe(2);
      expect(version(r, 'overview')).toBe(1);
    } finally {
      parse.mockRestore();
    }
  });

  it('happy: a changed announcement is applied from its content alone', async () => {
    const { r, keys, changes } = await replica();
    await r.start();
    const snapshot = makeSnapshot('overview', { epoch: newEpoch(), version: 1 });
    // Announced only: nothing in Redis, so the replica must have taken it from the message.
    await redis.publish(keys.announceChannel, JSON.stringify({ changed: true, snapshot }));
    await until(() => version(r, 'overview') === 1);
    expect(r.get('overview')?.snapshot).toEqual(snapshot);
    expect(r.get('overview')?.computedAtMs).toBe(Date.parse(snapshot.computed_at));
    expect(changes).toEqual([['overview', 'version', 1]]);
  });

  it('happy: a refresh announcement moves computed_at and keeps the same data object', async () => {
    const { r, keys, changes } = await replica();
    const first = makeSnapshot('recent_trades', { epoch: newEpoch(), version: 2, computedAtMs: Date.now() - 5000 });
    await publishSnapshot(redis, keys, first, false);
    await r.start();
    const data = r.get('recent_trades')?.snapshot.data;
    const refreshed = await publishRefresh(redis, keys, first, Date.now());
    await until(() => r.get('recent_trades')?.snapshot.computed_at === refreshed.computed_at);
    expect(r.get('recent_trades')?.snapshot.data).toBe(data);
    expect(changes).toEqual([
      ['recent_trades', 'version', 2],
      ['recent_trades', 'refresh', 2],
    ]);
  });

  it('security: an older version never replaces a newer one, whatever the source', async () => {
    const { r, keys } = await replica(50);
    const epoch = newEpoch();
    const now = Date.now();
    await r.start();
    const v5 = makeSnapshot('overview', { epoch, version: 5, computedAtMs: now });
    await publishSnapshot(redis, keys, v5);
    await until(() => version(r, 'overview') === 5);
    // An older announcement, an older refresh, and an older value in Redis for the periodic resync.
    const v4 = makeSnapshot('overview', { epoch, version: 4, computedAtMs: now + 1000 });
    await redis.publish(keys.announceChannel, JSON.stringify({ changed: true, snapshot: v4 }));
    await redis.publish(
      keys.announceChannel,
      JSON.stringify({
        changed: false,
        section: 'overview',
        epoch,
        version: 5,
        computed_at: new Date(now - 1).toISOString(),
      }),
    );
    await redis.set(keys.snapshot('overview'), JSON.stringify(v4));
    await new Promise((r) => setTimeout(r, 200));
    expect(r.get('overview')?.snapshot).toEqual(v5);
  });

  it('happy: a refresh of a version it missed makes it fetch that section', async () => {
    const { r, keys } = await replica();
    const epoch = newEpoch();
    await publishSnapshot(redis, keys, makeSnapshot('lite', { epoch, version: 1 }));
    await r.start();
    const v3 = makeSnapshot('lite', { epoch, version: 3, computedAtMs: Date.now() + 10 });
    await publishSnapshot(redis, keys, v3, false);
    await redis.publish(
      keys.announceChannel,
      JSON.stringify({ changed: false, section: 'lite', epoch, version: 3, computed_at: v3.computed_at }),
    );
    await until(() => version(r, 'lite') === 3);
    expect(r.get('lite')?.snapshot).toEqual(v3);
  });

  it('happy: a new epoch (Redis lost its data) replaces the old one even at a lower version', async () => {
    const { r, keys } = await replica();
    await publishSnapshot(redis, keys, makeSnapshot('overview', { epoch: newEpoch(), version: 40 }), false);
    await r.start();
    const fresh = makeSnapshot('overview', { epoch: newEpoch(), version: 1, computedAtMs: Date.now() + 10 });
    await publishSnapshot(redis, keys, fresh);
    await until(() => r.get('overview')?.snapshot.epoch === fresh.epoch);
    expect(version(r, 'overview')).toBe(1);
  });

  it('error: malformed announcements and snapshots are ignored, the rest still served', async () => {
    const { r, keys } = await replica(50);
    const good = makeSnapshot('overview', { epoch: newEpoch(), version: 1 });
    await publishSnapshot(redis, keys, good, false);
    await redis.set(keys.snapshot('lite'), '{not json');
    await redis.set(keys.snapshot('trading_stats'), JSON.stringify({ ...good, section: 'trading_stats', version: -1 }));
    await redis.set(keys.snapshot('top_performers'), JSON.stringify({ ...good, section: 'overview' }));
    await r.start();
    for (const message of [
      'nope',
      '{}',
      '{"changed":true}',
      JSON.stringify({ changed: true, snapshot: { ...good, version: 'x' } }),
    ]) {
      await redis.publish(keys.announceChannel, message);
    }
    await new Promise((r) => setTimeout(r, 150));
    expect(r.get('overview')?.snapshot).toEqual(good);
    expect(r.get('lite')).toBeUndefined();
    expect(r.get('trading_stats')).toBeUndefined();
    expect(r.get('top_performers')).toBeUndefined();
  });

  it('happy: the periodic resync picks up a snapshot whose announcement was lost', async () => {
    const { r, keys } = await replica(50);
    await r.start();
    const quiet: Snapshot = makeSnapshot('pnl_history', { epoch: newEpoch(), version: 2 });
    await publishSnapshot(redis, keys, quiet, false);
    await until(() => version(r, 'pnl_history') === 2, 3000);
  });

  it('happy: waitFor resolves true on a change that satisfies it, false after its timeout', async () => {
    const { r, keys } = await replica();
    await r.start();
    const waiting = r.waitFor(() => version(r, 'overview') === 7, 5000);
    await publishSnapshot(redis, keys, makeSnapshot('overview', { epoch: newEpoch(), version: 7 }));
    expect(await waiting).toBe(true);
    const started = Date.now();
    expect(await r.waitFor(() => false, 100)).toBe(false);
    expect(Date.now() - started).toBeGreaterThanOrEqual(90);
  });

  it('error: started against an unreachable Redis it serves nothing, connected false, without throwing', async () => {
    const keys = keysFor(`${env.keyPrefix}:down`);
    const nowhere = { mode: 'single', url: 'redis://127.0.0.1:1' } as const;
    const commands = createRedisClient(nowhere, {
      name: 'test',
      offlineQueue: false,
      maxRetriesPerRequest: 1,
      retryStrategy: () => 1000,
    });
    const subscriber = createRedisClient(nowhere, {
      name: 'test',
      maxRetriesPerRequest: null,
      subscriber: true,
      retryStrategy: () => 1000,
    });
    commands.on('error', () => {});
    subscriber.on('error', () => {});
    const r = createSnapshotReplica({ redis: commands, subscriber, keys, logger: silent, startTimeoutMs: 200 });
    open.push({ stop: () => r.stop(), connections: [commands, subscriber] });
    await r.start();
    expect(r.loaded).toBe(false);
    expect(r.connected).toBe(false);
    expect(r.get('overview')).toBeUndefined();
  });
});

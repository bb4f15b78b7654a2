import { testRedis, useTestEnv } from '@snapboard/devenv/testing';
import type { RedisClient } from '@snapboard/redis';
import {
  type Announcement,
  CATALOG,
  keysFor,
  type SectionData,
  type SetAnnouncement,
  setAnnouncementSchema,
  snapshotSchema,
} from '@snapboard/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contentHash, createPublisher, hashJson, stableStringify } from '../src/publish.ts';

const env = useTestEnv({ database: false });
const connections: RedisClient[] = [];
let announcements: Announcement[] = [];

function connect(): RedisClient {
  const redis = testRedis(env.redisUrl);
  connections.push(redis);
  return redis;
}

beforeAll(async () => {
  const subscriber = connect();
  await subscriber.subscribe(keysFor(env.keyPrefix).announceChannel);
  subscriber.on('message', (_channel, message) => {
    announcements.push(...(setAnnouncementSchema.parse(JSON.parse(message)) as SetAnnouncement).items);
  });
});
afterAll(async () => {
  await Promise.all(connections.map((c) => c.quit()));
});

const lite = (n: number): SectionData['lite'] => ({ total_pnl: n, win_rate: 50, active_trades: 3, daily_pnl: -1.5 });
const at = (ms: number) => new Date(Date.UTC(2026, 0, 15, 12) + ms);

async function settle(): Promise<void> {
  // Announcements travel over a second connection: a round trip on it means they have arrived.
  await connections[0]?.ping();
}

describe('compare-and-publish', () => {
  it('happy: first publish creates the epoch at version 1; same data refreshes computed_at only; new data is version 2', async () => {
    const redis = connect();
    const keys = keysFor(`${env.keyPrefix}:a`);
    const sub = connect();
    const heard: Announcement[] = [];
    await sub.subscribe(keys.announceChannel);
    sub.on('message', (_c, m) => heard.push(...(JSON.parse(m) as SetAnnouncement).items));
    const publisher = createPublisher(redis, keys);

    const first = await publisher.publish({ section: 'lite', ttl: 2, computedAt: at(0), data: lite(10) });
    expect(first).toMatchObject({ outcome: 'changed', version: 1 });
    expect(first.epoch).toMatch(/^[0-9a-f]{16}$/);
    const stored = snapshotSchema.parse(JSON.parse((await redis.get(keys.snapshot('lite'))) as string));
    expect(stored).toEqual({
      section: 'lite',
      epoch: first.epoch,
      version: 1,
      computed_at: at(0).toISOString(),
      ttl: 2,
      data: lite(10),
    });
    expect(await redis.ttl(keys.snapshot('lite'))).toBe(-1);

    // The same data built in another key order is the same content.
    const reordered = { daily_pnl: -1.5, active_trades: 3, win_rate: 50, total_pnl: 10 };
    const second = await publisher.publish({ section: 'lite', ttl: 2, computedAt: at(1000), data: reordered });
    expect(second).toEqual({ outcome: 'unchanged', epoch: first.epoch, version: 1 });
    const refreshed = JSON.parse((await redis.get(keys.snapshot('lite'))) as string);
    expect(refreshed.computed_at).toBe(at(1000).toISOString());
    expect(refreshed.version).toBe(1);

    const third = await publisher.publish({ section: 'lite', ttl: 2, computedAt: at(2000), data: lite(11) });
    expect(third).toEqual({ outcome: 'changed', epoch: first.epoch, version: 2 });
    expect(await redis.hgetall(keys.meta('lite'))).toMatchObject({
      epoch: first.epoch,
      version: '2',
      hash: contentHash(lite(11)),
      computed_at: at(2000).toISOString(),
    });

    await sub.ping();
    expect(heard).toEqual([
      { changed: true, snapshot: { ...stored } },
      { changed: false, section: 'lite', epoch: first.epoch, version: 1, computed_at: at(1000).toISOString() },
      {
        changed: true,
        snapshot: {
          section: 'lite',
          epoch: first.epoch,
          version: 2,
          computed_at: at(2000).toISOString(),
          ttl: 2,
          data: lite(11),
        },
      },
    ]);
  });

  it('error: a compute that started before the stored one is refused, whatever its data', async () => {
    const redis = connect();
    const keys = keysFor(`${env.keyPrefix}:b`);
    const publisher = createPublisher(redis, keys);
    await publisher.publish({ section: 'lite', ttl: 2, computedAt: at(5000), data: lite(1) });
    const before = await redis.get(keys.snapshot('lite'));
    const late = await publisher.publish({ section: 'lite', ttl: 2, computedAt: at(4999), data: lite(2) });
    expect(late.outcome).toBe('rejected');
    expect(late.version).toBe(1);
    expect(await redis.get(keys.snapshot('lite'))).toBe(before);
  });

  it('happy: when Redis lost the section, a new epoch starts again at version 1', async () => {
    const redis = connect();
    const keys = keysFor(`${env.keyPrefix}:c`);
    const publisher = createPublisher(redis, keys);
    const a = await publisher.publish({ section: 'overview', ttl: 5, computedAt: at(0), data: lite(1) as never });
    await publisher.publish({ section: 'overview', ttl: 5, computedAt: at(1), data: lite(2) as never });
    await redis.del(keys.meta('overview'), keys.snapshot('overview'));
    const b = await publisher.publish({ section: 'overview', ttl: 5, computedAt: at(2), data: lite(2) as never });
    expect(b.version).toBe(1);
    expect(b.epoch).not.toBe(a.epoch);
  });

  it('happy: two workers racing on one Redis: versions strictly rise, one announcement per change, older computes refused', async () => {
    const keys = keysFor(env.keyPrefix);
    const publishers = [createPublisher(connect(), keys), createPublisher(connect(), keys)];
    announcements = [];
    // 60 computes; the data changes every third compute; they finish in a scrambled order.
    const computes = Array.from({ length: 60 }, (_, i) => ({ i, data: lite(Math.floor(i / 3)) }));
    const order = computes.map((c) => ({ c, key: (c.i * 7919) % 61 })).sort((a, b) => a.key - b.key);
    const results = await Promise.all(
      order.map(({ c }, n) =>
        (publishers[n % 2] as ReturnType<typeof createPublisher>).publish({
          section: 'performance_metrics',
          ttl: 10,
          computedAt: at(c.i),
          data: c.data as never,
        }),
      ),
    );
    await settle();
    const mine = announcements.filter((a) => (a.changed ? a.snapshot.section : a.section) === 'performance_metrics');
    const accepted = results.filter((r) => r.outcome !== 'rejected');
    expect(accepted.length).toBeLessThan(results.length);
    expect(mine).toHaveLength(accepted.length);
    const changes = mine.filter((a): a is Extract<Announcement, { changed: true }> => a.changed);
    expect(changes.map((a) => a.snapshot.version)).toEqual(changes.map((_, k) => k + 1));
    expect(results.filter((r) => r.outcome === 'changed')).toHaveLength(changes.length);
    // Never an older compute after a newer one, in the order subscribers heard them.
    const times = mine.map((a) => (a.changed ? a.snapshot.computed_at : a.computed_at));
    expect([...times].sort()).toEqual(times);
    // Consecutive versions never carry the same data.
    for (let k = 1; k < changes.length; k++) {
      expect(changes[k]?.snapshot.data).not.toEqual(changes[k - 1]?.snapshot.data);
    }
    // The newest compute can never be refused, so it is what stays.
    const final = JSON.parse((await connections[1]?.get(keys.snapshot('performance_metrics'))) as string);
    expect(final.computed_at).toBe(at(59).toISOString());
    expect(final.data).toEqual(lite(19));
  });
});

describe('stableStringify', () => {
  it('happy: object key order does not matter, array order does', () => {
    expect(stableStringify({ b: 1, a: { d: [2, { y: 1, x: 0 }], c: null } })).toBe(
      '{"a":{"c":null,"d":[2,{"x":0,"y":1}]},"b":1}',
    );
    expect(contentHash({ a: 1, b: 2 })).toBe(contentHash({ b: 2, a: 1 }));
    expect(contentHash([1, 2])).not.toBe(contentHash([2, 1]));
  });

  it("happy: a set member's JSON is canonical without sorting: checked data is in its schema's key order", () => {
    // What changeset.ts relies on to hash a member's JSON as it is: equal data built in another order,
    // nested objects too, checks into the same JSON, hence the same hash.
    const schema = CATALOG.dataSchemas.trading_stats;
    const window = (n: number) => ({ total_trades: n, open_trades: 1, closed_trades: n - 1 });
    const built = { today: window(2), this_week: window(5), all_time: window(9) };
    const reordered = {
      all_time: { closed_trades: 8, total_trades: 9, open_trades: 1 },
      today: { open_trades: 1, closed_trades: 1, total_trades: 2 },
      this_week: { closed_trades: 4, open_trades: 1, total_trades: 5 },
    };
    const json = JSON.stringify(schema.parse(built));
    expect(JSON.stringify(schema.parse(reordered))).toBe(json);
    expect(JSON.stringify(reordered)).not.toBe(json);
    expect(hashJson(json)).toBe(hashJson(JSON.stringify(schema.parse(reordered))));
    // A different value is different content.
    expect(JSON.stringify(schema.parse({ ...built, today: window(3) }))).not.toBe(json);
  });
});

describe('new epoch on promotion (SPEC §12, fence.ts)', () => {
  it('happy: the same primary keeps the epoch; a primary with another replication id starts a new one', async () => {
    const redis = connect();
    const keys = keysFor(`${env.keyPrefix}:fence`);
    let promotions = 0;
    const publisher = createPublisher(redis, keys, { onNewPrimary: () => promotions++ });

    const first = await publisher.publish({ section: 'lite', ttl: 2, computedAt: at(0), data: lite(1) });
    const second = await publisher.publish({ section: 'lite', ttl: 2, computedAt: at(1), data: lite(2) });
    expect(second).toMatchObject({ outcome: 'changed', epoch: first.epoch, version: 2 });
    expect(promotions).toBe(0);
    const replid = /master_replid:(\w+)/.exec(await redis.info('replication'))?.[1];
    expect(await redis.get(keys.primary)).toBe(replid);

    // What a promoted replica looks like to the fence: the epochs were issued under another primary.
    await redis.set(keys.primary, 'a-primary-that-died');
    const third = await publisher.publish({ section: 'lite', ttl: 2, computedAt: at(2), data: lite(2) });
    expect(promotions).toBe(1);
    // Same data, yet not (epoch, 2) again: that pair may have meant other data on the old primary.
    expect(third.epoch).not.toBe(first.epoch);
    expect(third).toMatchObject({ outcome: 'changed', version: 1 });
    expect(await redis.get(keys.primary)).toBe(replid);
  });
});

import { copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import { testRedis, useTestEnv } from '@snapboard/devenv/testing';
import { keysFor, SECTION_NAMES, type Snapshot } from '@snapboard/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningApi, startApi } from '../src/server.ts';
import { silent } from './support/app.ts';
import { makeSnapshot, newEpoch, publishAll, until } from './support/fixtures.ts';
import { type PrivateRedis, privateRedis } from './support/redis-server.ts';

/**
 * A real Redis restart under a serving API (SPEC §4): while Redis is down the API keeps answering
 * from its replica, marked stale as time passes; when Redis returns — empty of the old data, with a
 * new epoch published — the replica re-syncs on reconnect and follows announcements again.
 */

const env = useTestEnv({ database: false });
const TOKEN = 'ops-token-for-tests-0123456789';
let server: PrivateRedis;
let staging: PrivateRedis;
let api: RunningApi;
let oldEpoch: string;
let newSnapshots: Snapshot[];

beforeAll(async () => {
  server = await privateRedis();
  staging = await privateRedis();
  await server.start();
  const config = {
    ...env.config({ REDIS_URL: server.url, OPS_TOKEN: TOKEN, REFRESH_WAIT_MS: '200' }),
    port: 0,
  };
  const keys = keysFor(config.keyPrefix);

  // What the restarted Redis will hold: the worker's first publish after the loss, under a new epoch,
  // prepared as an RDB file so it is there before the API can reconnect.
  await staging.start();
  const stagingClient = testRedis(staging.url);
  newSnapshots = await publishAll(stagingClient, keys, { epoch: newEpoch(), version: 1, announce: false });
  await stagingClient.save();
  stagingClient.disconnect();
  await staging.stop();

  const client = testRedis(server.url);
  oldEpoch = newEpoch();
  // Fresh for about a second more (ttl 1 s: stale after 3 s).
  await publishAll(client, keys, {
    epoch: oldEpoch,
    version: 7,
    ttl: 1,
    computedAtMs: Date.now() - 2000,
    announce: false,
  });
  client.disconnect();
  api = await startApi({ config, logger: silent, page: false, websocket: false, resyncIntervalMs: 60_000 });
  await copyFile(join(staging.dir, 'dump.rdb'), join(server.dir, 'dump.rdb'));
}, 30_000);
afterAll(async () => {
  await api?.close();
  await server?.remove();
  await staging?.remove();
});

const get = (path: string, init?: RequestInit) => fetch(`${api.url}${path}`, init);

describe('Redis restart while serving', () => {
  it('happy: before the outage everything is served and ready', async () => {
    const res = await get('/api/public/dashboard/v2/');
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.sections.overview).toMatchObject({ epoch: oldEpoch, version: 7, stale: false });
    expect((await get('/readyz')).status).toBe(200);
  });

  it('happy: while Redis is down the last snapshots are served, then marked stale', async () => {
    await server.stop();
    await until(() => !api.replica.connected, 5000, 'the API to notice');
    const during = await get('/api/public/dashboard/v2/');
    expect(during.status).toBe(200);
    expect((await during.json()).sections.overview.epoch).toBe(oldEpoch);
    expect((await get('/api/public/dashboard/lite/')).status).toBe(200);

    const ready = await get('/readyz');
    expect(ready.status).toBe(503);
    expect((await ready.json()).reasons).toContain('redis is unreachable');
    expect(await (await get('/metrics')).text()).toMatch(/^snapboard_redis_connected 0$/m);

    // Ops cannot queue anything: a clear 503, not a hang or a 500; refresh answers with what it has.
    const ops = await get('/api/ops/recompute', { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } });
    expect(ops.status).toBe(503);
    expect((await ops.json()).error.code).toBe('queue_unavailable');
    const refresh = await get('/api/public/dashboard/v2/?refresh=true');
    expect(refresh.status).toBe(200);
    expect((await refresh.json()).cached).toBe(true);

    await expect
      .poll(async () => (await (await get('/api/public/dashboard/v2/')).json()).sections.overview.stale, {
        timeout: 5000,
        interval: 100,
      })
      .toBe(true);
    const stale = await (await get('/api/public/dashboard/sections/open_positions/')).json();
    expect(stale).toMatchObject({ epoch: oldEpoch, version: 7, stale: true });
  });

  it('happy: when Redis is back the replica re-syncs to the new epoch and follows announcements', async () => {
    await server.start();
    const fresh = newSnapshots.find((s) => s.section === 'overview') as Snapshot;
    await until(() => api.replica.get('overview')?.snapshot.epoch === fresh.epoch, 10_000, 're-sync');
    const body = await (await get('/api/public/dashboard/v2/')).json();
    for (const name of ['overview', 'open_positions', 'trading_stats'] as const) {
      expect(body.sections[name]).toMatchObject({ epoch: fresh.epoch, version: 1, stale: false });
    }
    expect(body.overview).toEqual(fresh.data);
    await until(() => SECTION_NAMES.every((s) => api.replica.get(s)?.snapshot.epoch === fresh.epoch));
    await expect.poll(async () => (await get('/readyz')).status).toBe(200);

    // The subscription came back too: an announcement alone (nothing written) reaches the replica.
    // The replica re-syncs over its command connection, which can be back before the subscriber has
    // subscribed again; an announcement published before that reaches nobody (pub/sub keeps nothing).
    const next = makeSnapshot('overview', { epoch: fresh.epoch, version: 2, seed: 42 });
    const client = testRedis(server.url);
    const channel = keysFor(env.keyPrefix).announceChannel;
    await until(
      async () => Number(((await client.pubsub('NUMSUB', channel)) as [string, number])[1]) > 0,
      10_000,
      'the API to subscribe again',
    );
    await client.publish(channel, JSON.stringify({ changed: true, snapshot: next }));
    client.disconnect();
    await expect
      .poll(async () => (await (await get('/api/public/dashboard/v2/')).json()).sections.overview.version)
      .toBe(2);
  });
});

import { useTestEnv } from '@snapboard/devenv/testing';
import { SECTION_NAMES, type Snapshot, V2_SECTIONS } from '@snapboard/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from './support/app.ts';
import { newEpoch, publishAll, until } from './support/fixtures.ts';
import { standInWorker } from './support/stand-in-worker.ts';

/** refresh=true: queue a recompute of every v2 section, wait for computes that started after the request. */

const env = useTestEnv({ database: false });
const epoch = newEpoch();
let patient: TestApp;
let hasty: TestApp;
let published: Snapshot[];

beforeAll(async () => {
  patient = await buildTestApp(env.config({ REFRESH_WAIT_MS: '8000' }));
  hasty = await buildTestApp(env.config({ REFRESH_WAIT_MS: '300' }));
  published = await publishAll(patient.redis, patient.keys, { epoch, version: 1 });
  await until(() => SECTION_NAMES.every((s) => patient.replica.get(s) && hasty.replica.get(s)));
});
afterAll(async () => {
  await patient?.close();
  await hasty?.close();
});

describe('refresh=true', () => {
  it('happy: without a worker it answers after REFRESH_WAIT_MS with what it has, cached true', async () => {
    const started = Date.now();
    const res = await hasty.app.request('/api/public/dashboard/v2/?refresh=true&limit=2');
    const waited = Date.now() - started;
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.cached).toBe(true);
    expect(body.open_positions).toHaveLength(2);
    expect(body.sections.overview.version).toBe(1);
    expect(waited).toBeGreaterThanOrEqual(290);
    expect(await hasty.queue.getWaitingCount()).toBe(1);
    expect(Object.keys(await hasty.redis.hgetall(hasty.keys.pendingSections)).sort()).toEqual(
      [...SECTION_NAMES].sort(),
    );
    await hasty.queue.obliterate({ force: true });
  });

  it('happy: with a worker it waits for computes that started after the request, then cached false', async () => {
    const worker = standInWorker(patient, env.redisUrl, published, { computeMs: 20, concurrency: 3 });
    const { handled } = worker;
    try {
      const requestedAt = Date.now();
      const res = await patient.app.request('/api/public/dashboard/v2/?refresh=true');
      expect(res.status).toBe(200);
      const body = await res.json();
      expect(body.cached).toBe(false);
      for (const name of V2_SECTIONS) {
        expect(Date.parse(body.sections[name].computed_at), name).toBeGreaterThanOrEqual(requestedAt);
        expect(body.sections[name].version, name).toBe(2);
      }
      expect(body.overview).toEqual(worker.latest('overview')?.data);
      expect(handled.flatMap((j) => j.sections).sort()).toEqual([...SECTION_NAMES].sort());
      expect(new Set(handled.map((j) => j.reason))).toEqual(new Set(['refresh']));

      // The deprecated path refreshes the same way.
      const old = await patient.app.request('/api/public/paper-trading/dashboard/?refresh=1');
      expect((await old.json()).cached).toBe(false);

      // A plain read afterwards is cached again.
      expect((await (await patient.app.request('/api/public/dashboard/v2/')).json()).cached).toBe(true);
    } finally {
      await worker.close();
    }
  });
});

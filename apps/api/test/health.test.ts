import { useTestEnv } from '@snapboard/devenv/testing';
import { SECTION_NAMES } from '@snapboard/shared';
import { Gauge } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from './support/app.ts';
import { makeSnapshot, newEpoch, publishAll, publishSnapshot, until } from './support/fixtures.ts';

const env = useTestEnv({ database: false });
let t: TestApp;
const epoch = newEpoch();

beforeAll(async () => {
  t = await buildTestApp(env.config());
});
afterAll(() => t?.close());

describe('health', () => {
  it('happy: /healthz answers while nothing else is ready', async () => {
    const res = await t.app.request('/healthz');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok', uptime_seconds: expect.any(Number) });
  });

  it('error: /readyz is 503 listing every section without a snapshot', async () => {
    const res = await t.app.request('/readyz');
    expect(res.status).toBe(503);
    const body = await res.json();
    expect(body.status).toBe('not_ready');
    expect(body.error.code).toBe('not_ready');
    expect(body.redis).toBe(true);
    for (const name of SECTION_NAMES) expect(body.reasons).toContain(`${name}: no snapshot yet`);
  });

  it('happy: /readyz is 200 once every section is fresh, 503 naming a stale one', async () => {
    await publishAll(t.redis, t.keys, { epoch, version: 1 });
    await until(() => SECTION_NAMES.every((s) => t.replica.get(s)));
    const ready = await t.app.request('/readyz');
    expect(ready.status).toBe(200);
    const body = await ready.json();
    expect(body).toMatchObject({ status: 'ready', redis: true, reasons: [] });
    expect(body.sections.overview).toEqual({
      present: true,
      stale: false,
      version: 1,
      age_seconds: expect.any(Number),
    });

    await publishSnapshot(
      t.redis,
      t.keys,
      makeSnapshot('top_performers', { epoch, version: 2, computedAtMs: Date.now() - 3_600_000, ttl: 15 }),
    );
    await until(() => t.replica.get('top_performers')?.snapshot.version === 2);
    const stale = await t.app.request('/readyz');
    expect(stale.status).toBe(503);
    const reasons: string[] = (await stale.json()).reasons;
    expect(reasons).toHaveLength(1);
    expect(reasons[0]).toMatch(/^top_performers: stale/);
  });
});

describe('metrics', () => {
  const scrape = async () => {
    const res = await t.app.request('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    return res.text();
  };

  it('happy: snapshot age and version per section', async () => {
    const text = await scrape();
    expect(text).toMatch(/^snapboard_snapshot_version\{section="overview"\} 1$/m);
    expect(text).toMatch(/^snapboard_snapshot_version\{section="top_performers"\} 2$/m);
    const age = Number(/^snapboard_snapshot_age_seconds\{section="top_performers"\} (\S+)$/m.exec(text)?.[1]);
    expect(age).toBeGreaterThanOrEqual(3600);
    expect(text).toMatch(/^snapboard_redis_connected 1$/m);
  });

  it("happy: the worker's failure, price-failure and duration hashes are read at scrape time", async () => {
    await t.redis.hincrby(t.keys.failures, 'overview', 3);
    await t.redis.hincrby(t.keys.priceFailures, 'binance', 7);
    await t.redis.hset(t.keys.durations, 'overview', 12.5, 'pnl_history', 480);
    const text = await scrape();
    expect(text).toMatch(/^snapboard_recompute_failures_total\{section="overview"\} 3$/m);
    expect(text).toMatch(/^snapboard_price_fetch_failures_total\{source="binance"\} 7$/m);
    expect(text).toMatch(/^snapboard_recompute_duration_seconds\{section="overview"\} 0\.0125$/m);
    expect(text).toMatch(/^snapboard_recompute_duration_seconds\{section="pnl_history"\} 0\.48$/m);
    await t.redis.hincrby(t.keys.failures, 'overview', 1);
    expect(await scrape()).toMatch(/^snapboard_recompute_failures_total\{section="overview"\} 4$/m);
  });

  it('happy: request latency is labelled by route pattern, never by raw path', async () => {
    await t.app.request('/api/public/dashboard/sections/overview/');
    await t.app.request('/api/public/dashboard/sections/lite');
    await t.app.request('/api/public/dashboard/sections/no-such-thing');
    await t.app.request('/some/random/path/12345');
    await t.app.request('/readyz', { method: 'PROPFIND' });
    const text = await scrape();
    expect(text).toContain(
      'snapboard_http_request_duration_seconds_count{method="GET",route="/api/public/dashboard/sections/:name",status="200"} 2',
    );
    expect(text).toContain(
      'snapboard_http_request_duration_seconds_count{method="GET",route="/api/public/dashboard/sections/:name",status="404"} 1',
    );
    expect(text).toContain('route="unmatched",status="404"');
    expect(text).toContain('method="OTHER",route="/readyz",status="405"');
    expect(text).not.toContain('random');
    expect(text).not.toContain('sections/overview');
  });

  it('happy: metrics registered by others in the same registry (the WebSocket side) are served', async () => {
    new Gauge({ name: 'snapboard_ws_test_gauge', help: 'x', registers: [t.registry] }).set(5);
    expect(await scrape()).toMatch(/^snapboard_ws_test_gauge 5$/m);
  });
});

import { useTestEnv } from '@snapboard/devenv/testing';
import { SECTION_NAMES, SECTIONS, type Snapshot, V2_SECTIONS } from '@snapboard/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from './support/app.ts';
import { makeSnapshot, newEpoch, publishAll, publishRefresh, publishSnapshot, until } from './support/fixtures.ts';

const env = useTestEnv({ database: false });
let t: TestApp;
let snapshots: Snapshot[];
const epoch = newEpoch();

beforeAll(async () => {
  t = await buildTestApp(env.config({ TTL_OVERVIEW: '7' }));
});
afterAll(() => t?.close());

const get = (path: string, headers: Record<string, string> = {}) => t.app.request(path, { headers });
const byName = (name: string) => snapshots.find((s) => s.section === name) as Snapshot;

describe('before the first snapshot', () => {
  it('error: every read answers 503 warming_up with Retry-After', async () => {
    for (const path of [
      '/api/public/dashboard/v2/',
      '/api/public/dashboard/lite/',
      '/api/public/dashboard/sections/overview/',
      '/api/public/paper-trading/dashboard/',
    ]) {
      const res = await get(path);
      expect(res.status, path).toBe(503);
      expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
      const body = await res.json();
      expect(body.error.code).toBe('warming_up');
    }
  });
});

describe('with snapshots', () => {
  beforeAll(async () => {
    snapshots = await publishAll(t.redis, t.keys, { epoch, version: 3 });
    await until(() => SECTION_NAMES.every((s) => t.replica.get(s)?.snapshot.version === 3));
  });

  it('happy: v2 has every section, limit 20 by default, the timestamp, cache_info and section versions', async () => {
    const before = Date.now();
    const res = await get('/api/public/dashboard/v2/');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    const body = await res.json();
    expect(Object.keys(body)).toEqual([
      'overview',
      'open_positions',
      'recent_trades',
      'performance_metrics',
      'top_performers',
      'trading_stats',
      'timestamp',
      'cached',
      'cache_info',
      'sections',
    ]);
    expect(body.overview).toEqual(byName('overview').data);
    expect(body.open_positions).toEqual((byName('open_positions').data as unknown[]).slice(0, 20));
    expect(body.recent_trades).toHaveLength(20);
    expect(body.top_performers).toEqual(byName('top_performers').data);
    expect(body.cached).toBe(true);
    expect(Date.parse(body.timestamp)).toBeGreaterThanOrEqual(before - 1);
    expect(body.cache_info).toEqual({
      overview_ttl: 7,
      positions_ttl: SECTIONS.open_positions.defaultTtl,
      recent_trades_ttl: SECTIONS.recent_trades.defaultTtl,
      metrics_ttl: SECTIONS.performance_metrics.defaultTtl,
      top_performers_ttl: SECTIONS.top_performers.defaultTtl,
      trading_stats_ttl: SECTIONS.trading_stats.defaultTtl,
    });
    expect(Object.keys(body.sections)).toEqual([...V2_SECTIONS]);
    expect(body.sections.overview).toEqual({
      epoch,
      version: 3,
      computed_at: byName('overview').computed_at,
      stale: false,
    });
  });

  it.each([
    ['1', 1],
    ['5', 5],
    ['020', 20],
    ['100', 100],
  ])('happy: limit=%s cuts both lists to %i', async (limit, n) => {
    const body = await (await get(`/api/public/dashboard/v2/?limit=${limit}`)).json();
    expect(body.open_positions).toHaveLength(Math.min(n, 30));
    expect(body.recent_trades).toHaveLength(Math.min(n, 30));
  });

  it.each(['0', '101', '-1', 'abc', '', '1.5', '1e1', '+5', ' 5', '9999999999999999999999', '５'])(
    'error: limit=%j is 400 invalid_limit',
    async (limit) => {
      const res = await get(`/api/public/dashboard/v2/?limit=${encodeURIComponent(limit)}`);
      expect(res.status).toBe(400);
      expect((await res.json()).error.code).toBe('invalid_limit');
    },
  );

  it('error: a repeated limit is 400 invalid_limit, a bad refresh is 400 invalid_parameter', async () => {
    expect((await (await get('/api/public/dashboard/v2/?limit=1&limit=2')).json()).error.code).toBe('invalid_limit');
    const res = await get('/api/public/dashboard/v2/?refresh=yes');
    expect(res.status).toBe(400);
    expect((await res.json()).error.code).toBe('invalid_parameter');
  });

  it('happy: every path works with and without its trailing slash', async () => {
    for (const path of [
      '/api/public/dashboard/v2',
      '/api/public/dashboard/lite',
      '/api/public/dashboard/sections/lite',
      '/api/public/paper-trading/dashboard',
      '/healthz',
      '/api/openapi.json',
    ]) {
      expect((await get(path)).status, path).toBe(200);
      expect((await get(`${path}/`)).status, `${path}/`).toBe(200);
    }
  });

  it('happy: ETag on every read, If-None-Match with it answers 304 with no body', async () => {
    for (const path of [
      '/api/public/dashboard/v2/?limit=5',
      '/api/public/dashboard/lite/',
      '/api/public/dashboard/sections/pnl_history/',
      '/api/public/paper-trading/dashboard/',
    ]) {
      const first = await get(path);
      const etag = first.headers.get('etag');
      expect(etag, path).toMatch(/^W\/".+"$/);
      const again = await get(path, { 'if-none-match': etag as string });
      expect(again.status, path).toBe(304);
      expect(again.headers.get('etag')).toBe(etag);
      expect(await again.text()).toBe('');
      // A list of tags, the strong form of the same tag and `*` all match too.
      expect((await get(path, { 'if-none-match': `"x", ${etag}` })).status).toBe(304);
      expect((await get(path, { 'if-none-match': (etag as string).slice(2) })).status).toBe(304);
      expect((await get(path, { 'if-none-match': 'W/"other"' })).status).toBe(200);
    }
  });

  it('happy: the ETag differs by limit but not by the per-request timestamp', async () => {
    const a = await get('/api/public/dashboard/v2/?limit=5');
    await new Promise((r) => setTimeout(r, 5));
    const b = await get('/api/public/dashboard/v2/?limit=5');
    const c = await get('/api/public/dashboard/v2/?limit=6');
    expect(a.headers.get('etag')).toBe(b.headers.get('etag'));
    expect((await a.json()).timestamp).not.toBe((await b.json()).timestamp);
    expect(c.headers.get('etag')).not.toBe(a.headers.get('etag'));
  });

  it('happy: lite is the lite data plus timestamp = its computed_at', async () => {
    const body = await (await get('/api/public/dashboard/lite/')).json();
    expect(body).toEqual({ ...(byName('lite').data as object), timestamp: byName('lite').computed_at });
  });

  it('happy: sections/{name} is the snapshot with stale; limit cuts only the lists', async () => {
    const body = await (await get('/api/public/dashboard/sections/open_positions/?limit=3')).json();
    const s = byName('open_positions');
    expect(body).toEqual({
      section: 'open_positions',
      epoch,
      version: 3,
      computed_at: s.computed_at,
      ttl: s.ttl,
      stale: false,
      data: (s.data as unknown[]).slice(0, 3),
    });
    const history = await (await get('/api/public/dashboard/sections/pnl_history/?limit=3')).json();
    expect(history.data).toHaveLength(720);
    const bad = await get('/api/public/dashboard/sections/pnl_history/?limit=0');
    expect((await bad.json()).error.code).toBe('invalid_limit');
  });

  it('error: an unknown section is 404 unknown_section', async () => {
    for (const name of ['nope', 'OVERVIEW', '%E2%9C%93', '..%2F..%2Fetc', 'a'.repeat(5000)]) {
      const res = await get(`/api/public/dashboard/sections/${name}/`);
      expect(res.status, name.slice(0, 20)).toBe(404);
      expect((await res.json()).error.code).toBe('unknown_section');
    }
  });

  it('happy: the deprecated path is the v2 body at limit 20 with Deprecation and Link', async () => {
    const res = await get('/api/public/paper-trading/dashboard/?limit=3');
    expect(res.status).toBe(200);
    expect(res.headers.get('deprecation')).toBe('true');
    expect(res.headers.get('link')).toBe('</api/public/dashboard/v2/>; rel="successor-version"');
    const body = await res.json();
    expect(body.open_positions).toHaveLength(20);
    const v2 = await get('/api/public/dashboard/v2/');
    expect(res.headers.get('etag')).toBe(v2.headers.get('etag'));
  });

  it('happy: a newer version is served at once; a refresh moves computed_at and the ETag', async () => {
    const before = await get('/api/public/dashboard/v2/');
    const next = makeSnapshot('overview', { epoch, version: 4, seed: 99 });
    await publishSnapshot(t.redis, t.keys, next);
    await expect.poll(() => t.replica.get('overview')?.snapshot.version).toBe(4);
    const after = await get('/api/public/dashboard/v2/');
    const body = await after.json();
    expect(body.overview).toEqual(next.data);
    expect(body.sections.overview.version).toBe(4);
    expect(after.headers.get('etag')).not.toBe(before.headers.get('etag'));

    const refreshed = await publishRefresh(t.redis, t.keys, next, Date.now() + 5);
    await expect.poll(() => t.replica.get('overview')?.snapshot.computed_at).toBe(refreshed.computed_at);
    const third = await get('/api/public/dashboard/v2/');
    expect((await third.json()).sections.overview).toMatchObject({ version: 4, computed_at: refreshed.computed_at });
    expect(third.headers.get('etag')).not.toBe(after.headers.get('etag'));
  });

  it('happy: an old snapshot is served marked stale, and its ETag changes when it turns stale', async () => {
    const old = makeSnapshot('trading_stats', { epoch, version: 5, computedAtMs: Date.now() - 400_000, ttl: 30 });
    await publishSnapshot(t.redis, t.keys, old);
    await expect.poll(() => t.replica.get('trading_stats')?.snapshot.version).toBe(5);
    const body = await (await get('/api/public/dashboard/v2/')).json();
    expect(body.sections.trading_stats.stale).toBe(true);
    expect(body.sections.overview.stale).toBe(false);
    const section = await (await get('/api/public/dashboard/sections/trading_stats')).json();
    expect(section.stale).toBe(true);

    // Fresh for ~500 ms more, then stale without any new snapshot.
    const soon = makeSnapshot('trading_stats', { epoch, version: 6, computedAtMs: Date.now() - 2500, ttl: 1 });
    await publishSnapshot(t.redis, t.keys, soon);
    await expect.poll(() => t.replica.get('trading_stats')?.snapshot.version).toBe(6);
    const fresh = await get('/api/public/dashboard/v2/');
    expect((await fresh.json()).sections.trading_stats.stale).toBe(false);
    await new Promise((r) => setTimeout(r, 600));
    const later = await get('/api/public/dashboard/v2/');
    expect((await later.json()).sections.trading_stats.stale).toBe(true);
    expect(later.headers.get('etag')).not.toBe(fresh.headers.get('etag'));
  });

  it('happy: HEAD answers like GET without a body', async () => {
    const res = await t.app.request('/api/public/dashboard/lite/', { method: 'HEAD' });
    expect(res.status).toBe(200);
    expect(res.headers.get('etag')).toMatch(/^W\//);
    expect(await res.text()).toBe('');
  });
});

import { testRedis, useTestEnv } from '@snapboard/devenv/testing';
import type { RedisClient } from '@snapboard/redis';
import { keysFor, SECTION_NAMES } from '@snapboard/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningApi, startApi } from '../src/server.ts';
import { silent } from './support/app.ts';
import { newEpoch, publishAll, until } from './support/fixtures.ts';
import { httpGet, type RawResponse, rawRequest } from './support/raw.ts';

/**
 * The fast path answers plain GETs of v2, lite and the deprecated path on node:http directly; it must
 * send exactly what the Hono routes send. Two servers on the same snapshots and the same fixed clock,
 * one with the fast path and one without, must give byte-identical answers (the Date line aside).
 */

const env = useTestEnv({ database: false });
const FIXED = Date.UTC(2030, 0, 2, 3, 4, 5, 678);
let redis: RedisClient;

beforeAll(async () => {
  redis = testRedis(env.redisUrl);
  await publishAll(redis, keysFor(env.keyPrefix), { epoch: newEpoch(), version: 2, computedAtMs: FIXED - 1000 });
});
afterAll(() => redis?.disconnect());

const ORIGIN = 'https://a.example';
const PATHS = [
  '/api/public/dashboard/v2/',
  '/api/public/dashboard/v2',
  '/api/public/dashboard/v2/?limit=5',
  '/api/public/dashboard/v2?limit=100&_=123',
  '/api/public/dashboard/v2/?foo&limit=1',
  '/api/public/dashboard/lite/',
  '/api/public/dashboard/lite?x=1',
  '/api/public/paper-trading/dashboard/',
  '/api/public/paper-trading/dashboard?limit=3',
];
/** Requests the fast path must decline and leave to Hono. */
const DECLINED = [
  '/api/public/dashboard/v2/?refresh=false',
  '/api/public/dashboard/v2/?limit=0',
  '/api/public/dashboard/v2/?limit=%35',
  '/api/public/dashboard/v2/?limit=5&limit=5',
  '/api/public/dashboard/v2/?limit=',
  '/api/public/paper-trading/dashboard/?refresh=0',
  '/api/public/dashboard/sections/overview/',
];

describe.each([
  ['without CORS', {}],
  ['with CORS', { CORS_ORIGINS: ORIGIN }],
])('fast path %s', (_, extraEnv) => {
  let fast: RunningApi;
  let plain: RunningApi;

  beforeAll(async () => {
    const config = { ...env.config(extraEnv), port: 0 };
    const options = { config, logger: silent, page: false, websocket: false, now: () => FIXED };
    fast = await startApi({ ...options, fastPath: true });
    plain = await startApi({ ...options, fastPath: false });
    await until(() => SECTION_NAMES.every((s) => fast.replica.get(s) && plain.replica.get(s)));
  });
  afterAll(async () => {
    await fast?.close();
    await plain?.close();
  });

  async function both(path: string, headers: Record<string, string> = {}): Promise<[RawResponse, RawResponse]> {
    return Promise.all([rawRequest(fast.url, httpGet(path, headers)), rawRequest(plain.url, httpGet(path, headers))]);
  }

  function expectIdentical(a: RawResponse, b: RawResponse, what: string) {
    expect(a.lines, what).toEqual(b.lines);
    expect(a.head.split('\r\n')[0], what).toBe(b.head.split('\r\n')[0]);
    expect(a.body.equals(b.body), `${what}: bodies differ`).toBe(true);
  }

  it('happy: 200s are byte-identical, with and without an Origin', async () => {
    const before = fast.fastPathServed();
    for (const path of PATHS) {
      for (const headers of [{}, { origin: ORIGIN }, { origin: 'https://other.example' }] as Record<string, string>[]) {
        const [a, b] = await both(path, headers);
        expect(a.status, path).toBe(200);
        expectIdentical(a, b, `${path} ${JSON.stringify(headers)}`);
      }
    }
    expect(fast.fastPathServed() - before).toBe(PATHS.length * 3);
    expect(plain.fastPathServed()).toBe(0);
  });

  it('happy: 304s are byte-identical', async () => {
    const before = fast.fastPathServed();
    for (const path of PATHS) {
      const [first] = await both(path);
      const etag = first.headers.etag as string;
      for (const inm of [etag, `W/"nope", ${etag}`, '*']) {
        const [a, b] = await both(path, { 'if-none-match': inm, origin: ORIGIN });
        expect(a.status, path).toBe(304);
        expect(a.body.length).toBe(0);
        expectIdentical(a, b, `${path} 304`);
      }
    }
    expect(fast.fastPathServed() - before).toBe(PATHS.length * 4);
  });

  it('happy: what it declines Hono answers, identically on both servers', async () => {
    const before = fast.fastPathServed();
    for (const path of DECLINED) {
      const [a, b] = await both(path);
      expectIdentical(a, b, path);
    }
    const head = await Promise.all(
      [fast, plain].map((api) =>
        rawRequest(api.url, 'HEAD /api/public/dashboard/lite/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'),
      ),
    );
    expect(head[0]?.status).toBe(200);
    expect(fast.fastPathServed()).toBe(before);
  });

  it('happy: what the fast path serves is counted in /metrics under the route pattern', async () => {
    const count = async () => {
      const text = await (await fetch(`${fast.url}/metrics`)).text();
      const line = text
        .split('\n')
        .find((l) =>
          l.startsWith(
            'snapboard_http_request_duration_seconds_count{method="GET",route="/api/public/dashboard/lite",status="200"}',
          ),
        );
      return Number(line?.split(' ')[1] ?? 0);
    };
    const before = await count();
    await both('/api/public/dashboard/lite/');
    await both('/api/public/dashboard/lite');
    expect(await count()).toBe(before + 2);
  });

  it('happy: the body is the v2 document with the request time spliced in', async () => {
    const [a] = await both('/api/public/dashboard/v2/?limit=2');
    const body = JSON.parse(a.body.toString());
    expect(body.timestamp).toBe(new Date(FIXED).toISOString());
    expect(body.cached).toBe(true);
    expect(body.open_positions).toHaveLength(2);
    expect(Number(a.headers['content-length'])).toBe(a.body.length);
    expect(a.lines.slice(0, 4)).toEqual([
      'content-type: application/json',
      `content-length: ${a.body.length}`,
      'cache-control: no-cache',
      `etag: ${a.headers.etag}`,
    ]);
  });
});

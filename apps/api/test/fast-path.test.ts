import { testRedis, useTestEnv } from '@snapboard/devenv/testing';
import type { RedisClient } from '@snapboard/redis';
import { keysFor, SECTION_NAMES } from '@snapboard/shared';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningApi, startApi } from '../src/server.ts';
import { silent } from './support/app.ts';
import { newEpoch, publishAll, until } from './support/fixtures.ts';
import { httpGet, type RawResponse, rawRequest } from './support/raw.ts';

/**
 * The fast path answers GETs of the read routes on node:http directly, from the same route table as
 * Hono (read-routes.ts); it must send exactly what the Hono routes send. Two servers on the same
 * snapshots and the same fixed clock, one with the fast path and one without, must give
 * byte-identical answers (the Date line aside): for the listed cases, and for generated query strings
 * and conditional/CORS headers on every read path (decisions 0003, 0014).
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
  '/api/public/dashboard/v2/?limit=%35',
  '/api/public/dashboard/v2/?refresh=false',
  '/api/public/paper-trading/dashboard/?refresh=0',
  '/api/public/dashboard/v2/?limit=7&note=a+b%20c',
  '/api/public/dashboard/sections/overview/',
  '/api/public/dashboard/sections/recent_trades?limit=2',
  '/api/public/paper-trading/?status=OPEN',
  '/api/public/paper-trading/performance/?days=7',
];
/** Requests the fast path must decline and leave to Hono. */
const DECLINED = [
  '/api/public/dashboard/v2/?refresh=true',
  '/api/public/dashboard/v2/?limit=0',
  '/api/public/dashboard/v2/?limit=5&limit=5',
  '/api/public/dashboard/v2/?limit=',
  '/api/public/paper-trading/dashboard/?refresh=maybe',
  '/api/public/dashboard/sections/nope/',
  '/api/public/dashboard/sections/overview//',
  '/api/public/paper-trading/?status=NOPE',
  '/api/public/dashboard/./v2/',
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

  it('property: for generated queries and headers on every read path, both servers answer byte for byte alike', async () => {
    const before = fast.fastPathServed();
    let requests = 0;
    // Mostly the parameters the routes read, with values valid and not; some noise around them.
    const name = fc.oneof(
      {
        weight: 6,
        arbitrary: fc.constantFrom('limit', 'refresh', 'days', 'status', 'symbol', 'direction', 'market_type'),
      },
      { weight: 1, arbitrary: fc.constantFrom('foo', 'lim%69t', 'li+mit', '', '_') },
      { weight: 1, arbitrary: fc.string({ unit: fc.constantFrom(...'abl=%+_.-'), maxLength: 6 }) },
    );
    const value = fc.oneof(
      { weight: 4, arbitrary: fc.integer({ min: -3, max: 130 }).map(String) },
      { weight: 2, arbitrary: fc.constantFrom('', 'true', 'false', '1', '0', '%35', '2%30', '+5', '5.0', '1e1') },
      { weight: 2, arbitrary: fc.constantFrom('OPEN', 'CLOSED_TP', 'LONG', 'long', 'SPOT', 'btc', 'ETH%55SDT') },
      { weight: 1, arbitrary: fc.constantFrom('%zz', '%E2%82%AC', "a'b", 'x"y', '<>', 'a|b', 'a#b', '%', '%2') },
      {
        weight: 1,
        arbitrary: fc.string({ unit: fc.constantFrom(...'0123456789abcAZ%+=._~!$()*,;:@/?'), maxLength: 12 }),
      },
    );
    const query = fc
      .array(fc.tuple(name, fc.option(value, { nil: undefined, freq: 8 })), { maxLength: 3 })
      .map((parts) => parts.map(([k, v]) => (v === undefined ? k : `${k}=${v}`)).join('&'));
    const path = fc.constantFrom(
      '/api/public/dashboard/v2/',
      '/api/public/dashboard/v2',
      '/api/public/dashboard/lite/',
      '/api/public/paper-trading/dashboard/',
      '/api/public/paper-trading/dashboard',
      ...SECTION_NAMES.map((s) => `/api/public/dashboard/sections/${s}/`),
      '/api/public/dashboard/sections/unknown/',
      '/api/public/paper-trading/',
      '/api/public/paper-trading/performance/',
      '/api/public/paper-trading/open-positions/',
      '/api/public/paper-trading/summary',
    );
    const headers = fc.record(
      {
        origin: fc.constantFrom(ORIGIN, 'https://other.example'),
        ifNoneMatch: fc.constantFrom('current', 'current-in-list', '*', 'W/"nope"'),
        requestId: fc.constantFrom('abc-1', 'bad id!'),
      },
      { requiredKeys: [] },
    );
    await fc.assert(
      fc.asyncProperty(path, fc.option(query, { nil: undefined, freq: 6 }), headers, async (p, q, h) => {
        const target = q === undefined ? p : `${p}?${q}`;
        const sent: Record<string, string> = {};
        if (h.origin) sent.origin = h.origin;
        if (h.requestId) sent['x-request-id'] = h.requestId;
        if (h.ifNoneMatch) {
          const etag = (await rawRequest(plain.url, httpGet(target))).headers.etag;
          const current = etag ?? 'W/"none"';
          sent['if-none-match'] =
            h.ifNoneMatch === 'current'
              ? current
              : h.ifNoneMatch === 'current-in-list'
                ? `W/"x", ${current}`
                : h.ifNoneMatch;
        }
        const [a, b] = await both(target, sent);
        requests++;
        expectIdentical(a, b, `${target} ${JSON.stringify(sent)}`);
      }),
      { numRuns: 200 },
    );
    // Most generated requests are valid reads: the property must have exercised the fast path itself.
    expect(fast.fastPathServed() - before).toBeGreaterThan(requests / 4);
  });
});

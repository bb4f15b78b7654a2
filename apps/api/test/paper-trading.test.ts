import { useTestEnv } from '@snapboard/devenv/testing';
import type { BotHour, BotPerformanceSection, BotTrade, SectionData } from '@snapboard/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningApi, startApi } from '../src/server.ts';
import { buildTestApp, silent, type TestApp } from './support/app.ts';
import {
  botTrade,
  makeSnapshot,
  newEpoch,
  publishRefresh,
  publishSnapshot,
  sampleData,
  until,
} from './support/fixtures.ts';
import { loadOpenApi } from './support/openapi.ts';
import { httpGet, rawRequest } from './support/raw.ts';

/**
 * The bot's own public API (SPEC §11) over snapshots written as the worker writes them: filters in
 * the 500-trade window and its header, `days` from the hourly figures, the errors, 405, ETag/304,
 * CORS, both path spellings, and the fast path's byte identity.
 */

const env = useTestEnv({ database: false });
const ORIGIN = 'https://bot.example';
const LIST = '/api/public/paper-trading/';
const PERFORMANCE = '/api/public/paper-trading/performance/';
const OPEN = '/api/public/paper-trading/open-positions/';
const SUMMARY = '/api/public/paper-trading/summary/';
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
// Mid-hour, so a window starts before now − days (at the start of that hour).
const COMPUTED = Date.UTC(2026, 0, 15, 12, 34, 56, 789);

let t: TestApp;
let cold: TestApp;
let epoch: string;
let version = 0;

/** 500 trades: every status, both markets and directions, symbols BTCUSDT / ETHUSDT / SOLUSDT. */
const WINDOW: BotTrade[] = Array.from({ length: 500 }, (_, i) => botTrade(10_000 - i, i));

function hours(): BotHour[] {
  // One hour of figures every ~3 days back from the computed hour, and one in the future.
  return [-1, ...Array.from({ length: 130 }, (_, i) => i * 71)]
    .map((back, i) => ({
      t: new Date(Math.floor(COMPUTED / HOUR) * HOUR - back * HOUR).toISOString(),
      trades: 3 + (i % 4),
      open: i % 2,
      closed: 2 + (i % 3),
      won: 1 + (i % 2),
      lost: 1,
      pnl: (i % 5) - 1.25,
      best: i % 7 === 0 ? null : 3 + (i % 11),
      worst: i % 7 === 0 ? null : -2 - (i % 13),
      duration_seconds: 1800 * (1 + (i % 3)),
      duration_trades: 1 + (i % 2),
    }))
    .sort((a, b) => Date.parse(a.t) - Date.parse(b.t));
}

function performance(totalTrades: number): BotPerformanceSection {
  return { ...sampleData('bot_performance', 1), total_trades: totalTrades, unrealized_pnl: 2.5, hours: hours() };
}

async function publish<K extends keyof SectionData>(section: K, data: SectionData[K], computedAtMs = COMPUTED) {
  version++;
  await publishSnapshot(t.redis, t.keys, makeSnapshot(section, { epoch, version, computedAtMs, data }));
  await until(() => t.replica.get(section)?.snapshot.version === version);
}

beforeAll(async () => {
  t = await buildTestApp(env.config({ CORS_ORIGINS: ORIGIN }));
  cold = await buildTestApp(env.config({ KEY_PREFIX: `${env.keyPrefix}:cold` }));
  epoch = newEpoch();
  await publish('bot_trades', WINDOW);
  await publish('bot_performance', performance(2_000));
  await publish('bot_open_positions', sampleData('bot_open_positions', 1));
  await publish('bot_summary', sampleData('bot_summary', 1));
});
afterAll(async () => {
  await t?.close();
  await cold?.close();
});

const get = (path: string, headers: Record<string, string> = {}) => t.app.request(path, { headers });

describe('the trade list', () => {
  it('happy: unfiltered, the newest 100 of the window, exact, no window header', async () => {
    const res = await get(LIST);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { count: number; trades: BotTrade[] };
    expect(body.count).toBe(100);
    expect(body.trades).toEqual(WINDOW.slice(0, 100));
    expect(res.headers.get('snapboard-window')).toBeNull();
    // Without the trailing slash: the same answer.
    const bare = await get(LIST.slice(0, -1));
    expect(await bare.text()).toBe(JSON.stringify(body));
  });

  it('happy: each filter and their combination select exactly what the window holds', async () => {
    const cases: [string, (x: BotTrade) => boolean][] = [
      ['status=OPEN', (x) => x.status === 'OPEN'],
      ['status=CLOSED_SL', (x) => x.status === 'CLOSED_SL'],
      ['market_type=FUTURES', (x) => x.market_type === 'FUTURES'],
      ['direction=SHORT', (x) => x.direction === 'SHORT'],
      ['symbol=btc', (x) => x.symbol === 'BTCUSDT'],
      ['symbol=Usdt', () => true],
      ['symbol=THU', (x) => x.symbol === 'ETHUSDT'],
      [
        'status=CLOSED_TP&direction=LONG&symbol=sol',
        (x) => x.status === 'CLOSED_TP' && x.direction === 'LONG' && x.symbol === 'SOLUSDT',
      ],
      ['status=&symbol=', () => true],
      ['limit=5&page=2', () => true],
    ];
    for (const [query, keep] of cases) {
      const res = await get(`${LIST}?${query}`);
      expect(res.status, query).toBe(200);
      const body = (await res.json()) as { count: number; trades: BotTrade[] };
      const expected = WINDOW.filter(keep).slice(0, 100);
      expect(
        body.trades.map((x) => x.id),
        query,
      ).toEqual(expected.map((x) => x.id));
      expect(body.count, query).toBe(expected.length);
    }
  });

  it('happy: a filtered answer short of 100 while history goes beyond the window says so', async () => {
    const few = await get(`${LIST}?status=OPEN&symbol=BTC`);
    expect((await few.json()).count).toBeLessThan(100);
    expect(few.headers.get('snapboard-window')).toBe('500');
    // 100 matches are exact whatever lies beyond.
    const full = await get(`${LIST}?symbol=usdt`);
    expect((await full.json()).count).toBe(100);
    expect(full.headers.get('snapboard-window')).toBeNull();

    // Exactly 500 system trades in all: nothing lies beyond, so no header.
    await publish('bot_performance', performance(500));
    const exact = await get(`${LIST}?status=OPEN&symbol=BTC`);
    expect(exact.headers.get('snapboard-window')).toBeNull();
    // Fewer than 500 in the section: the window holds every system trade.
    await publish('bot_performance', performance(2_000));
    await publish('bot_trades', WINDOW.slice(0, 499));
    const small = await get(`${LIST}?status=OPEN&symbol=BTC`);
    expect(small.headers.get('snapboard-window')).toBeNull();
    await publish('bot_trades', WINDOW);
    expect((await get(`${LIST}?status=OPEN&symbol=BTC`)).headers.get('snapboard-window')).toBe('500');
  });

  it.each([
    'status=open',
    'status=CLOSED',
    'status=ACTIVE',
    'market_type=FOREX',
    'market_type=spot',
    'direction=long',
    `symbol=${'B'.repeat(21)}`,
    'status=OPEN&status=OPEN',
    'direction=%00',
  ])('error: %s is invalid_filter', async (query) => {
    const res = await get(`${LIST}?${query}`, { origin: ORIGIN });
    expect(res.status).toBe(400);
    expect((await res.json()).error.code).toBe('invalid_filter');
    expect(res.headers.get('access-control-allow-origin')).toBe(ORIGIN);
  });
});

/** The window's figures summed from the hours, independently of the API's code. */
function windowed(days: number) {
  const from = Math.floor((COMPUTED - days * DAY) / HOUR) * HOUR;
  const inside = hours().filter((h) => Date.parse(h.t) >= from);
  const add = (pick: (h: BotHour) => number) => inside.reduce((total, h) => total + pick(h), 0);
  const closed = add((h) => h.closed);
  const pnl = add((h) => h.pnl);
  const bests = inside.flatMap((h) => (h.best === null ? [] : [h.best]));
  const worsts = inside.flatMap((h) => (h.worst === null ? [] : [h.worst]));
  return {
    total_trades: add((h) => h.trades),
    open_trades: add((h) => h.open),
    win_rate: closed ? (add((h) => h.won) / closed) * 100 : 0,
    total_profit_loss: pnl,
    avg_profit_loss: closed ? pnl / closed : 0,
    best_trade: bests.length ? Math.max(...bests) : 0,
    worst_trade: worsts.length ? Math.min(...worsts) : 0,
    avg_duration_hours: add((h) => h.duration_seconds) / add((h) => h.duration_trades) / 3600,
    profitable_trades: add((h) => h.won),
    losing_trades: add((h) => h.lost),
    unrealized_pnl: 2.5,
    total_pnl: pnl + 2.5,
  };
}

describe('performance', () => {
  it('happy: without days, the all-time object (no hourly figures)', async () => {
    const body = await (await get(PERFORMANCE)).json();
    const { hours: _hours, ...allTime } = performance(2_000);
    expect(body).toEqual(allTime);
  });

  it.each([1, 3, 7, 30, 90, 365])(
    'happy: days=%i sums the hours from the hour holding computed_at − days',
    async (days) => {
      const body = await (await get(`${PERFORMANCE}?days=${days}`)).json();
      const expected = windowed(days);
      expect(Object.keys(body).sort()).toEqual(Object.keys(expected).sort());
      for (const [key, value] of Object.entries(expected)) expect(body[key], key).toBeCloseTo(value, 9);
    },
  );

  it('happy: the window follows computed_at even when the data stays the same', async () => {
    // The hour 71 hours back is inside 3 days as of COMPUTED, outside once computed_at is 3 hours on.
    const before = await get(`${PERFORMANCE}?days=3`);
    await publish('bot_performance', performance(2_000), COMPUTED + 3 * HOUR);
    const after = await get(`${PERFORMANCE}?days=3`);
    expect(after.headers.get('etag')).not.toBe(before.headers.get('etag'));
    expect((await after.json()).total_trades).toBeLessThan((await before.json()).total_trades);
    await publish('bot_performance', performance(2_000));
  });

  it('happy: a refresh (same version, later computed_at) moves the window too', async () => {
    const entry = t.replica.get('bot_performance');
    if (!entry) throw new Error('no bot_performance snapshot');
    const before = await (await get(`${PERFORMANCE}?days=3`)).json();
    const allTimeEtag = (await get(PERFORMANCE)).headers.get('etag');
    await publishRefresh(t.redis, t.keys, entry.snapshot, COMPUTED + 3 * HOUR);
    await until(() => t.replica.get('bot_performance')?.computedAtMs === COMPUTED + 3 * HOUR);
    expect(t.replica.get('bot_performance')?.snapshot.version).toBe(entry.snapshot.version);
    const after = await (await get(`${PERFORMANCE}?days=3`)).json();
    expect(after.total_trades).toBeLessThan(before.total_trades);
    // Where computed_at plays no part, the answer and its ETag stay.
    expect((await get(PERFORMANCE)).headers.get('etag')).toBe(allTimeEtag);
    await publish('bot_performance', performance(2_000));
  });

  it.each(['0', '366', '-1', '1.5', 'abc', '', '1e2', '7&days=7', '%00'])(
    'error: days=%s is invalid_days',
    async (days) => {
      const res = await get(`${PERFORMANCE}?days=${days}`);
      expect(res.status).toBe(400);
      expect((await res.json()).error.code).toBe('invalid_days');
    },
  );

  it('happy: a percent-encoded number is that number', async () => {
    expect(await (await get(`${PERFORMANCE}?days=%37`)).text()).toBe(await (await get(`${PERFORMANCE}?days=7`)).text());
  });
});

describe('open positions, summary, close', () => {
  it('happy: open positions and summary are the sections as computed', async () => {
    expect(await (await get(OPEN)).json()).toEqual(sampleData('bot_open_positions', 1));
    expect(await (await get(SUMMARY.slice(0, -1))).json()).toEqual(sampleData('bot_summary', 1));
  });

  it('error: closing a trade is refused as read-only, naming the bot API', async () => {
    for (const path of ['/api/public/paper-trading/42/close/', '/api/public/paper-trading/42/close']) {
      const res = await t.app.request(path, { method: 'POST', headers: { origin: ORIGIN } });
      expect(res.status).toBe(405);
      const body = await res.json();
      expect(body.error.code).toBe('read_only');
      expect(body.error.message).toMatch(/bot's own API/);
      expect(res.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    }
    // The browser may send that POST cross-origin, so the bot's page reads the refusal itself.
    const preflight = await t.app.request('/api/public/paper-trading/42/close/', {
      method: 'OPTIONS',
      headers: { origin: ORIGIN, 'access-control-request-method': 'POST' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-methods')).toContain('POST');
    expect(preflight.headers.get('access-control-allow-origin')).toBe(ORIGIN);
  });

  it('error: before the worker published, 503 warming_up with Retry-After', async () => {
    for (const path of [LIST, PERFORMANCE, OPEN, SUMMARY, `${LIST}?status=OPEN`, `${PERFORMANCE}?days=3`]) {
      const res = await cold.app.request(path);
      expect(res.status, path).toBe(503);
      expect((await res.json()).error.code).toBe('warming_up');
      expect(res.headers.get('retry-after')).toBeTruthy();
    }
  });
});

describe('caching and CORS', () => {
  it('happy: each answer has an ETag; the current one gets a 304 (with its headers and CORS)', async () => {
    for (const path of [LIST, `${LIST}?status=OPEN&symbol=btc`, PERFORMANCE, `${PERFORMANCE}?days=7`, OPEN, SUMMARY]) {
      const first = await get(path, { origin: ORIGIN });
      const etag = first.headers.get('etag') as string;
      expect(etag, path).toMatch(/^W\//);
      expect(first.headers.get('access-control-allow-origin')).toBe(ORIGIN);
      expect(first.headers.get('access-control-expose-headers')).toContain('Snapboard-Window');
      const again = await get(path, { origin: ORIGIN, 'if-none-match': etag });
      expect(again.status, path).toBe(304);
      expect(again.headers.get('access-control-allow-origin')).toBe(ORIGIN);
      expect(again.headers.get('snapboard-window')).toBe(first.headers.get('snapboard-window'));
    }
    // Different filters or windows are different answers.
    const etags = await Promise.all(
      [LIST, `${LIST}?status=OPEN`, `${LIST}?status=CLOSED_TP`, `${PERFORMANCE}?days=1`, `${PERFORMANCE}?days=2`].map(
        async (path) => (await get(path)).headers.get('etag'),
      ),
    );
    expect(new Set(etags).size).toBe(etags.length);
  });

  it('happy: a new version of the section changes the ETag', async () => {
    const before = (await get(OPEN)).headers.get('etag');
    await publish('bot_open_positions', sampleData('bot_open_positions', 2));
    const after = await get(OPEN, { 'if-none-match': before as string });
    expect(after.status).toBe(200);
    expect(await after.json()).toEqual(sampleData('bot_open_positions', 2));
  });

  it('security: a preflight from the bot page origin is allowed, another origin is not', async () => {
    const allowed = await t.app.request(LIST, {
      method: 'OPTIONS',
      headers: { origin: ORIGIN, 'access-control-request-method': 'GET' },
    });
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    // Signed in, the bot's page sends its token: the preflight must let it.
    const signedIn = await t.app.request(PERFORMANCE, {
      method: 'OPTIONS',
      headers: {
        origin: ORIGIN,
        'access-control-request-method': 'GET',
        'access-control-request-headers': 'authorization',
      },
    });
    expect(signedIn.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('authorization');
    const withToken = await get(PERFORMANCE, { origin: ORIGIN, authorization: 'Bearer some-user-token' });
    expect(withToken.status).toBe(200);
    expect(withToken.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    const other = await get(SUMMARY, { origin: 'https://evil.example' });
    expect(other.status).toBe(200);
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('the OpenAPI document', () => {
  it('happy: every answer of the four endpoints and the close matches its documented schema', async () => {
    const { conforms } = await loadOpenApi(t);
    const cases: [string, string, string, RequestInit?][] = [
      ['/api/public/paper-trading/', 'get', LIST],
      ['/api/public/paper-trading/', 'get', `${LIST}?status=OPEN&symbol=btc`],
      ['/api/public/paper-trading/', 'get', `${LIST}?status=nope`],
      ['/api/public/paper-trading/performance/', 'get', PERFORMANCE],
      ['/api/public/paper-trading/performance/', 'get', `${PERFORMANCE}?days=30`],
      ['/api/public/paper-trading/performance/', 'get', `${PERFORMANCE}?days=0`],
      ['/api/public/paper-trading/open-positions/', 'get', OPEN],
      ['/api/public/paper-trading/summary/', 'get', SUMMARY],
      ['/api/public/paper-trading/{id}/close/', 'post', '/api/public/paper-trading/7/close/', { method: 'POST' }],
    ];
    for (const [docPath, method, path, init] of cases) await conforms(docPath, method, await t.app.request(path, init));
    for (const path of [LIST, PERFORMANCE, OPEN, SUMMARY]) {
      const docPath = path === LIST ? '/api/public/paper-trading/' : path;
      await conforms(docPath, 'get', await cold.app.request(path));
    }
  });
});

describe('the fast path', () => {
  let fast: RunningApi;
  let plain: RunningApi;

  beforeAll(async () => {
    const config = { ...env.config({ CORS_ORIGINS: ORIGIN }), port: 0 };
    const options = { config, logger: silent, page: false, websocket: false, now: () => COMPUTED + 1000 };
    fast = await startApi({ ...options, fastPath: true });
    plain = await startApi({ ...options, fastPath: false });
    await until(() =>
      (['bot_trades', 'bot_performance', 'bot_open_positions', 'bot_summary'] as const).every(
        (s) => fast.replica.get(s) && plain.replica.get(s),
      ),
    );
  });
  afterAll(async () => {
    await fast?.close();
    await plain?.close();
  });

  it('happy: GETs are served by it, byte-identical to Hono, with and without a query', async () => {
    const served = fast.fastPathServed();
    const paths = [
      LIST,
      LIST.slice(0, -1),
      PERFORMANCE,
      OPEN,
      SUMMARY,
      SUMMARY.slice(0, -1),
      `${LIST}?status=OPEN`,
      `${PERFORMANCE}?days=7`,
    ];
    for (const path of paths) {
      for (const headers of [{}, { origin: ORIGIN }, { origin: 'https://other.example' }] as Record<string, string>[]) {
        const [a, b] = await Promise.all([
          rawRequest(fast.url, httpGet(path, headers)),
          rawRequest(plain.url, httpGet(path, headers)),
        ]);
        expect(a.status, path).toBe(200);
        expect(a.lines, path).toEqual(b.lines);
        expect(a.body.equals(b.body), path).toBe(true);
        const etag = a.headers.etag as string;
        const [c, d] = await Promise.all([
          rawRequest(fast.url, httpGet(path, { ...headers, 'if-none-match': etag })),
          rawRequest(plain.url, httpGet(path, { ...headers, 'if-none-match': etag })),
        ]);
        expect(c.status).toBe(304);
        expect(c.lines, path).toEqual(d.lines);
      }
    }
    expect(fast.fastPathServed() - served).toBe(paths.length * 6);
    // Bad input is an error envelope, which only Hono writes.
    const before = fast.fastPathServed();
    await rawRequest(fast.url, httpGet(`${LIST}?status=NOPE`));
    await rawRequest(fast.url, httpGet(`${PERFORMANCE}?days=0`));
    expect(fast.fastPathServed()).toBe(before);
  });
});

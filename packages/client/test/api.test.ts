import { testRedis, useTestEnv } from '@snapboard/devenv/testing';
import type { Config, SectionData, SectionName } from '@snapboard/shared';
import { keysFor, SECTIONS } from '@snapboard/shared';
import { createPublisher } from '@snapboard/worker';
import type { Redis } from 'ioredis';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { type RunningApi, startApi } from '../../../apps/api/src/server.ts';
import { type ConnectionState, createDashboardClient, type DashboardClient } from '../src/index.ts';
import { eventually } from './support/wait.ts';

/**
 * The SDK against the real API (in process, on a real port) fed by the worker's own publisher:
 * resume after the server restarts, HTTP polling with ETag/304 when the socket cannot be opened,
 * the way back to the socket, and `stale` when nothing answers.
 */

const env = useTestEnv({ database: false });
let redis: Redis;
let api: RunningApi | undefined;
let port = 0;
let client: DashboardClient | undefined;

const publisher = () => createPublisher(redis, keysFor(env.keyPrefix));
let clock = Date.now();

async function publish<K extends SectionName>(section: K, data: SectionData[K]) {
  // Strictly increasing compute times: the publisher refuses a compute that started earlier.
  clock = Math.max(clock + 1, Date.now());
  return publisher().publish({ section, ttl: SECTIONS[section].defaultTtl, computedAt: new Date(clock), data });
}

const lite = (total_pnl: number): SectionData['lite'] => ({ total_pnl, win_rate: 55, active_trades: 2, daily_pnl: 10 });
const trade = (trade_id: number): SectionData['recent_trades'][number] => ({
  trade_id,
  user_id: 1,
  symbol: 'ETHUSDT',
  direction: 'LONG',
  market_type: 'SPOT',
  entry_price: 3000,
  exit_price: 3100,
  profit_loss: 3.33,
  profit_loss_percentage: 3.33,
  status: 'CLOSED_TP',
  entry_time: '2026-01-01T00:00:00.000Z',
  exit_time: '2026-01-01T01:00:00.000Z',
});
const window = { total_trades: 3, open_trades: 1, closed_trades: 2 };

async function publishAll(): Promise<void> {
  await publish('overview', {
    total_accounts: 2,
    active_accounts: 1,
    total_balance: 20_000,
    total_equity: 20_010,
    total_pnl: 10,
    total_trades: 2,
    avg_win_rate: 50,
    win_rate: 50,
  });
  await publish('open_positions', []);
  await publish('recent_trades', [trade(2), trade(1)]);
  await publish('performance_metrics', {
    total_closed_trades: 2,
    profitable_trades: 2,
    losing_trades: 0,
    total_profit: 6.66,
    total_loss: 0,
    avg_profit: 3.33,
    avg_loss: 0,
    win_rate: 100,
    best_trade: 3.33,
    worst_trade: 3.33,
    avg_duration_hours: 1,
    profit_factor: null,
    max_drawdown: 0,
  });
  await publish('top_performers', []);
  await publish('trading_stats', { today: window, this_week: window, all_time: window });
  await publish('lite', lite(10));
  await publish('pnl_history', [{ t: '2026-01-01T00:00:00.000Z', pnl: 6.66 }]);
}

async function startServer(): Promise<RunningApi> {
  const config: Config = env.config({ HOST: '127.0.0.1', PORT: String(port) });
  const running = await startApi({ config, logger: pino({ level: 'silent' }), page: false });
  port = Number(new URL(running.url).port);
  return running;
}

/** A socket that can be made unopenable: while closed it dials a port nobody listens on. */
function gatedSocket() {
  const gate = { open: true };
  class GatedWebSocket extends WebSocket {
    constructor(url: string) {
      super(gate.open ? url : 'ws://127.0.0.1:1/ws');
    }
  }
  return { gate, GatedWebSocket };
}

/** fetch, recorded: which paths were asked, with which If-None-Match, and what came back. */
function recordingFetch() {
  // Recorded when sent (the status once answered): a poll sent just before the socket came up and
  // answered after it is not a poll made while live (a clean-clone CI run counted one round of them).
  const calls: Array<{ path: string; ifNoneMatch: string | null; status: number | undefined }> = [];
  const fetchAndRecord: typeof fetch = async (input, init) => {
    const url = new URL(String(input));
    const headers = new Headers(init?.headers);
    const call = {
      path: url.pathname + url.search,
      ifNoneMatch: headers.get('if-none-match'),
      status: undefined as number | undefined,
    };
    calls.push(call);
    const response = await fetch(input, init);
    call.status = response.status;
    return response;
  };
  return { calls, fetch: fetchAndRecord };
}

beforeAll(async () => {
  redis = testRedis(env.redisUrl);
  await publishAll();
  api = await startServer();
});
afterEach(() => {
  client?.close();
  client = undefined;
});
afterAll(async () => {
  await api?.close();
  redis.disconnect();
});

describe('happy: live against the real API', () => {
  it('receives every subscribed section, then each new version as the worker publishes it', async () => {
    client = createDashboardClient({
      baseUrl: api!.url,
      sections: ['lite', 'recent_trades', 'pnl_history'],
      limit: 1,
      WebSocket,
      freshnessCheckMs: 0,
    });
    const c = client;
    await eventually('three sections', () => c.get('lite') && c.get('recent_trades') && c.get('pnl_history'));
    expect(c.state).toBe('live');
    expect(c.get('recent_trades')?.data).toEqual([trade(2)]);

    const published = await publish('lite', lite(42));
    await eventually('lite 42', () => c.get('lite')?.data.total_pnl === 42);
    expect(c.get('lite')).toMatchObject({ epoch: published.epoch, version: published.version });
  });
});

describe('happy: patches against the real API', () => {
  it('is sent list changes as patches and holds exactly the data of the version published', async () => {
    const hours = (last: number): SectionData['pnl_history'] =>
      Array.from({ length: 24 }, (_, i) => ({
        t: new Date(Date.UTC(2026, 0, 1, i)).toISOString(),
        pnl: i === 23 ? last : i * 1.5,
      }));
    const tradesBefore = await publish('recent_trades', [trade(12), trade(11), trade(10)]);
    const pnlBefore = await publish('pnl_history', hours(40));
    client = createDashboardClient({
      baseUrl: api!.url,
      sections: ['recent_trades', 'pnl_history'],
      limit: 3,
      WebSocket,
      freshnessCheckMs: 0,
    });
    const c = client;
    await eventually(
      'the first versions',
      () =>
        c.get('recent_trades')?.version === tradesBefore.version && c.get('pnl_history')?.version === pnlBefore.version,
    );
    const patchesBefore = api!.ws!.stats().patchesSent;

    // One item each: a new close at the head of recent_trades, the last hour of pnl_history moving.
    const tradesAfter = await publish('recent_trades', [trade(13), trade(12), trade(11), trade(10)]);
    const pnlAfter = await publish('pnl_history', hours(41));
    await eventually(
      'the second versions',
      () =>
        c.get('recent_trades')?.version === tradesAfter.version && c.get('pnl_history')?.version === pnlAfter.version,
    );
    expect(c.get('recent_trades')).toMatchObject({ epoch: tradesAfter.epoch, data: [trade(13), trade(12), trade(11)] });
    expect(c.get('pnl_history')).toMatchObject({ epoch: pnlAfter.epoch, data: hours(41) });
    expect(api!.ws!.stats().patchesSent - patchesBefore).toBe(2);
    const metrics = await (await fetch(`${api!.url}/metrics`)).text();
    expect(metrics).toMatch(/^snapboard_ws_messages_sent_total\{type="patch"\} [1-9]/m);
    expect(c.state).toBe('live');
  });
});

describe('section age while live', () => {
  it('asks HTTP about a section the socket has been silent on, and calls it stale only when the server agrees', async () => {
    const recorder = recordingFetch();
    client = createDashboardClient({ baseUrl: api!.url, sections: ['lite'], WebSocket, fetch: recorder.fetch });
    const c = client;
    const first = await publish('lite', lite(5));
    await eventually('lite 5', () => c.get('lite')?.version === first.version);
    const firstComputedAt = c.get('lite')!.computed_at;
    const liteChecks = () => recorder.calls.filter((call) => call.path === '/api/public/dashboard/lite/');

    // The worker keeps recomputing lite to the same data: computed_at moves, nothing is pushed.
    let republishing = true;
    const loop = (async () => {
      while (republishing) {
        await publish('lite', lite(5));
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    })();
    await eventually('a check past the stale line', () => liteChecks().length > 0, 15_000);
    await eventually('the recompute learned', () => c.get('lite')!.computed_at > firstComputedAt);
    expect(c.status('lite')).toMatchObject({ version: first.version, stale: false });

    // Now the worker stops: once past the line again, the server confirms the age and it is stale.
    republishing = false;
    await loop;
    const stale = await eventually('stale', () => c.status('lite')?.stale, 15_000);
    expect(stale).toBe(true);
    expect(c.state).toBe('live');
    expect(c.status('lite')!.ageMs).toBeGreaterThan(3 * SECTIONS.lite.defaultTtl * 1000);
  }, 40_000);
});

describe('reconnect and resume against the real API', () => {
  it('after a restart, resumes and is sent only the section that changed meanwhile', async () => {
    const states: ConnectionState[] = [];
    client = createDashboardClient({
      baseUrl: api!.url,
      sections: ['overview', 'lite', 'recent_trades'],
      WebSocket,
      backoff: { baseMs: 50, maxMs: 200 },
      pollAfterFailures: 1000,
      freshnessCheckMs: 0,
    });
    const c = client;
    c.onState((state) => states.push(state));
    await eventually('all three', () => c.get('overview') && c.get('lite') && c.get('recent_trades'));
    const overviewBefore = c.get('overview');

    await api!.close();
    await eventually('reconnecting', () => c.state === 'reconnecting');
    const changed = await publish('recent_trades', [trade(3), trade(2), trade(1)]);
    api = await startServer();

    await eventually(
      'live with the new trades',
      () => c.state === 'live' && c.get('recent_trades')?.version === changed.version,
    );
    expect(c.get('recent_trades')?.data.map((t) => t.trade_id)).toEqual([3, 2, 1]);
    expect(c.get('overview')).toEqual(overviewBefore);
    // The new server sent one snapshot: the resume told it the client already had the other two.
    expect(api!.ws?.stats().snapshotsSent).toBe(1);
    expect(states).toEqual(['live', 'reconnecting', 'live']);
  });
});

describe('the command limits of SPEC §13 (default settings)', () => {
  it('normal use never trips them: subscribe, patches, resyncs and resumes after restarts', async () => {
    const errors: string[] = [];
    const clients = [1, 20, 100].map((limit) => {
      const c = createDashboardClient({
        baseUrl: api!.url,
        sections: Object.keys(SECTIONS) as SectionName[],
        limit,
        WebSocket,
        backoff: { baseMs: 10, maxMs: 50 },
        pollAfterFailures: 1000,
        freshnessCheckMs: 0,
      });
      c.onError((error) => errors.push(error.code));
      return c;
    });
    try {
      const allLive = () => clients.every((c) => c.state === 'live');
      await eventually('all live', allLive);
      let rejected = 0;
      for (let restart = 0; restart < 3; restart++) {
        for (let i = 0; i < 20; i++)
          await publish('recent_trades', [trade(100 * restart + i + 10), trade(2), trade(1)]);
        const last = await publish('lite', lite(restart));
        await eventually('the last change everywhere', () =>
          clients.every((c) => c.get('lite')?.version === last.version && c.state === 'live'),
        );
        rejected += Object.values(api!.ws?.stats().commandsRejected ?? {}).reduce((a, b) => a + b, 0);
        await api!.close();
        await eventually('reconnecting', () => clients.every((c) => c.state !== 'live'));
        api = await startServer();
        await eventually('live again', allLive);
      }
      rejected += Object.values(api!.ws?.stats().commandsRejected ?? {}).reduce((a, b) => a + b, 0);
      expect(rejected).toBe(0);
      expect(errors).not.toContain('rate_limited');
    } finally {
      for (const c of clients) c.close();
    }
  }, 30_000);
});

describe('polling fallback against the real API', () => {
  it('polls with ETags while the socket cannot be opened, and returns to the socket when it can', async () => {
    const { gate, GatedWebSocket } = gatedSocket();
    const recorder = recordingFetch();
    gate.open = false;
    client = createDashboardClient({
      baseUrl: api!.url,
      sections: ['overview', 'recent_trades', 'lite', 'pnl_history'],
      limit: 5,
      WebSocket: GatedWebSocket,
      fetch: recorder.fetch,
      backoff: { baseMs: 50, maxMs: 200 },
      pollAfterFailures: 1,
      pollIntervalMs: 100,
      freshnessCheckMs: 0,
    });
    const c = client;
    await eventually('polling with data', () => c.state === 'polling' && c.get('overview') && c.get('pnl_history'));
    expect(recorder.calls.map((call) => call.path)).toEqual(
      expect.arrayContaining([
        '/api/public/dashboard/v2/?limit=5',
        '/api/public/dashboard/lite/',
        '/api/public/dashboard/sections/pnl_history/',
      ]),
    );
    // Versions come through HTTP too (v2's `sections`), so a later socket resume can use them.
    const current = JSON.parse((await redis.get(keysFor(env.keyPrefix).snapshot('overview')))!);
    expect(c.get('overview')).toMatchObject({ epoch: current.epoch, version: current.version });

    await eventually('a 304 for v2', () =>
      recorder.calls.some(
        (call) => call.path.startsWith('/api/public/dashboard/v2/') && call.ifNoneMatch && call.status === 304,
      ),
    );
    await eventually('a 304 for lite', () =>
      recorder.calls.some((call) => call.path === '/api/public/dashboard/lite/' && call.status === 304),
    );

    await publish('lite', lite(77));
    await eventually('lite 77 by polling', () => c.get('lite')?.data.total_pnl === 77);
    expect(c.state).toBe('polling');

    gate.open = true;
    await eventually('live', () => c.state === 'live');
    const callsWhenLive = recorder.calls.length;
    await publish('lite', lite(78));
    await eventually('lite 78 over the socket', () => c.get('lite')?.data.total_pnl === 78);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(recorder.calls.length).toBe(callsWhenLive);
  });

  it('is stale while nothing answers, and live again when the API returns', async () => {
    const states: ConnectionState[] = [];
    client = createDashboardClient({
      baseUrl: api!.url,
      sections: ['lite'],
      WebSocket,
      backoff: { baseMs: 50, maxMs: 200 },
      pollAfterFailures: 2,
      pollIntervalMs: 100,
      timeoutMs: 1000,
      freshnessCheckMs: 0,
    });
    const c = client;
    c.onState((state) => states.push(state));
    await eventually('live', () => c.state === 'live');

    await api!.close();
    await eventually('stale', () => c.state === 'stale');
    expect(c.get('lite')).toBeDefined();
    api = await startServer();
    await eventually('live again', () => c.state === 'live');
    expect(states[0]).toBe('live');
    expect(states).toContain('reconnecting');
    expect(states.at(-1)).toBe('live');
  });
});

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type TestEnv, testRedis } from '@snapboard/devenv/testing';
import type { RedisClient } from '@snapboard/redis';
import { createRedisClient } from '@snapboard/redis';
import {
  type Announcement,
  type Keys,
  keysFor,
  keysForConfig,
  type OpenPosition,
  type SectionData,
  type SectionName,
  type ServerMessage,
  type Snapshot,
} from '@snapboard/shared';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, beforeEach, expect } from 'vitest';
import { type ClientOptions, WebSocket } from 'ws';
import { createSnapshotReplica, type SnapshotReplica } from '../src/snapshot-replica.ts';
import { attachWebSocketServer, type WsLimits, type WsServer } from '../src/ws/server.ts';
import { sampleData as sampleBotData } from './support/fixtures.ts';

/** Real sockets on port 0, a real replica on the test file's own Redis prefix, the worker's wire format. */

export interface Instance {
  url: string;
  port: number;
  server: Server;
  replica: SnapshotReplica;
  ws: WsServer;
  registry: Registry;
  stop(): Promise<void>;
}

export async function startInstance(
  env: TestEnv,
  options: { limits?: Partial<WsLimits>; env?: Record<string, string> } = {},
): Promise<Instance> {
  const config = env.config(options.env);
  const keys = keysForConfig(config);
  const redis = createRedisClient(config.redis, { name: 'test', maxRetriesPerRequest: 1 });
  const subscriber = createRedisClient(config.redis, { name: 'test', maxRetriesPerRequest: null, subscriber: true });
  const logger = pino({ level: 'silent' });
  const replica = createSnapshotReplica({ redis, subscriber, keys, logger });
  await replica.start();
  const server = createServer((_req, res) => {
    res.statusCode = 404;
    res.end();
  });
  const registry = new Registry();
  const ws = attachWebSocketServer({ server, replica, config, logger, registry, limits: options.limits });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}/ws`,
    port,
    server,
    replica,
    ws,
    registry,
    async stop() {
      await ws.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await replica.stop();
      redis.disconnect();
      subscriber.disconnect();
    },
  };
}

/** Plays the worker: writes `{prefix}:{section}` and announces it, exactly as SPEC §4 and the brief say. */
export class Publisher {
  readonly redis: RedisClient;
  readonly keys: Keys;
  constructor(env: TestEnv) {
    this.redis = testRedis(env.redisUrl);
    this.keys = keysFor(env.keyPrefix);
  }
  async publish(snapshot: Snapshot): Promise<void> {
    const announcement: Announcement = { changed: true, snapshot };
    await this.redis
      .multi()
      .set(this.keys.snapshot(snapshot.section), JSON.stringify(snapshot))
      .publish(this.keys.announceChannel, JSON.stringify(announcement))
      .exec();
  }
  /** A change set as the worker's publish script writes it: every member, then one announcement. */
  async publishSet(change: number, snapshots: readonly Snapshot[]): Promise<void> {
    const multi = this.redis.multi();
    for (const s of snapshots) multi.set(this.keys.snapshot(s.section), JSON.stringify(s));
    const items: Announcement[] = snapshots.map((snapshot) => ({ changed: true, snapshot }));
    await multi.publish(this.keys.announceChannel, JSON.stringify({ change: String(change), items })).exec();
  }
  /** Several sets in one transaction: their announcements reach the API in one read, back to back. */
  async publishSets(sets: ReadonlyArray<readonly [number, readonly Snapshot[]]>): Promise<void> {
    const multi = this.redis.multi();
    for (const [change, snapshots] of sets) {
      for (const s of snapshots) multi.set(this.keys.snapshot(s.section), JSON.stringify(s));
      const items: Announcement[] = snapshots.map((snapshot) => ({ changed: true, snapshot }));
      multi.publish(this.keys.announceChannel, JSON.stringify({ change: String(change), items }));
    }
    await multi.exec();
  }
  async refresh(snapshot: Snapshot, computedAt: string): Promise<void> {
    const announcement: Announcement = {
      changed: false,
      section: snapshot.section,
      epoch: snapshot.epoch,
      version: snapshot.version,
      computed_at: computedAt,
    };
    await this.redis
      .multi()
      .set(this.keys.snapshot(snapshot.section), JSON.stringify({ ...snapshot, computed_at: computedAt }))
      .publish(this.keys.announceChannel, JSON.stringify(announcement))
      .exec();
  }
  async clear(): Promise<void> {
    const keys = await this.redis.keys(`${this.keys.prefix}:*`);
    if (keys.length) await this.redis.del(...keys);
  }
  close(): void {
    this.redis.disconnect();
  }
}

let clock = Date.parse('2025-01-01T00:00:00Z');
/** Strictly increasing computed_at, as successive computes would have. */
export function nextComputedAt(): string {
  clock += 1000;
  return new Date(clock).toISOString();
}

export function position(id: number): OpenPosition {
  return {
    trade_id: id,
    user_id: 1,
    username: 'alice',
    symbol: 'BTCUSDT',
    direction: 'LONG',
    market_type: 'SPOT',
    entry_price: 64000,
    entry_time: '2025-01-01T00:00:00.000Z',
    position_size: 100,
    quantity: 0.0015625,
    stop_loss: 63000,
    take_profit: 66000,
    leverage: null,
    current_price: 64100,
    unrealized_pnl: 0.15625,
    unrealized_pnl_pct: 0.1563,
    price_change: 100,
    price_change_pct: 0.16,
    has_real_time_price: true,
  };
}

const sampleData: { [K in SectionName]: (n: number) => SectionData[K] } = {
  overview: (n) => ({
    total_accounts: n,
    active_accounts: n,
    total_balance: 1000 * n,
    total_equity: 1000 * n,
    total_pnl: n,
    total_trades: n,
    avg_win_rate: 50,
    win_rate: 50,
  }),
  open_positions: (n) => Array.from({ length: n }, (_, i) => position(n * 1000 + i)),
  recent_trades: (n) =>
    Array.from({ length: n }, (_, i) => ({
      trade_id: n * 1000 + i,
      user_id: 1,
      symbol: 'ETHUSDT',
      direction: 'SHORT',
      market_type: 'SPOT',
      entry_price: 3000,
      exit_price: 2990,
      profit_loss: 0.33,
      profit_loss_percentage: 0.33,
      status: 'CLOSED_TP',
      entry_time: '2025-01-01T00:00:00.000Z',
      exit_time: '2025-01-01T01:00:00.000Z',
    })),
  performance_metrics: (n) => ({
    total_closed_trades: n,
    profitable_trades: n,
    losing_trades: 0,
    total_profit: n,
    total_loss: 0,
    avg_profit: 1,
    avg_loss: 0,
    win_rate: 100,
    best_trade: 1,
    worst_trade: 1,
    avg_duration_hours: 1,
    profit_factor: null,
    max_drawdown: 0,
  }),
  top_performers: (n) => [
    { user_id: 1, username: 'alice', balance: n, equity: n, total_pnl: n, win_rate: 50, total_trades: n },
  ],
  trading_stats: (n) => {
    const w = { total_trades: n, open_trades: 0, closed_trades: n };
    return { today: w, this_week: w, all_time: w };
  },
  lite: (n) => ({ total_pnl: n, win_rate: 50, active_trades: n, daily_pnl: n }),
  pnl_history: (n) =>
    Array.from({ length: 720 }, (_, i) => ({
      t: new Date(Date.UTC(2025, 0, 1) + i * 3_600_000).toISOString(),
      pnl: n + i,
    })),
  bot_trades: (n) => sampleBotData('bot_trades', n, n),
  bot_performance: (n) => sampleBotData('bot_performance', n),
  bot_open_positions: (n) => sampleBotData('bot_open_positions', n),
  bot_summary: (n) => sampleBotData('bot_summary', n),
};

/** A snapshot as the worker would write it; `size` shapes the data (list length, or a figure). */
export function snapshot<K extends SectionName>(
  section: K,
  version: number,
  options: { epoch?: string; size?: number; computedAt?: string } = {},
): Snapshot<K> {
  return {
    section,
    epoch: options.epoch ?? 'epoch-a',
    version,
    computed_at: options.computedAt ?? nextComputedAt(),
    ttl: 5,
    data: sampleData[section](options.size ?? version),
  };
}

/** A WebSocket client that records every message in order and lets a test await the next ones. */
export class TestClient {
  readonly messages: ServerMessage[] = [];
  private cursor = 0;
  private wake: (() => void) | undefined;
  readonly closed: Promise<{ code: number; reason: string }>;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      this.messages.push(JSON.parse(data.toString()) as ServerMessage);
      this.wake?.();
    });
    this.closed = new Promise((resolve) => {
      ws.on('close', (code, reason) => {
        resolve({ code, reason: reason.toString() });
        this.wake?.();
      });
    });
    ws.on('error', () => {});
  }

  static async connect(url: string, options: ClientOptions = {}): Promise<TestClient> {
    const ws = new WebSocket(url, { perMessageDeflate: false, ...options });
    const client = new TestClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    });
    return client;
  }

  send(message: unknown): void {
    this.ws.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  /** The next message not yet taken (waits for it). */
  async next(timeoutMs = 5000): Promise<ServerMessage> {
    const deadline = Date.now() + timeoutMs;
    while (this.cursor >= this.messages.length) {
      if (this.ws.readyState === WebSocket.CLOSED) throw new Error('socket closed while waiting for a message');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no message within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
    return this.messages[this.cursor++]!;
  }

  /** Take messages up to and including the first one matching `predicate`. */
  async until(predicate: (message: ServerMessage) => boolean, timeoutMs = 5000): Promise<ServerMessage[]> {
    const taken: ServerMessage[] = [];
    for (;;) {
      const message = await this.next(timeoutMs);
      taken.push(message);
      if (predicate(message)) return taken;
    }
  }

  /**
   * Everything the server sent before answering a ping: the server handles a socket's frames in
   * order and writes synchronously, so this is "what the previous request produced", without sleeping.
   */
  async drain(): Promise<ServerMessage[]> {
    const id = `barrier-${Math.random()}`;
    this.send({ type: 'ping', id });
    const taken = await this.until((m) => m.type === 'pong' && m.id === id);
    return taken.slice(0, -1);
  }

  close(): void {
    this.ws.terminate();
  }
}

export const snapshotsOf = (messages: ServerMessage[]) =>
  messages.flatMap((m) => (m.type === 'snapshot' ? [{ section: m.section, epoch: m.epoch, version: m.version }] : []));

/** Poll a condition that no event announces (e.g. a server-side count after a close). */
export async function eventually(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/**
 * The fixture of a WebSocket test file: a publisher playing the worker, a fresh server per test on
 * the file's own prefix (the prefix cleared first), and every client a test opened closed after it.
 */
export interface WsFixture {
  readonly publisher: Publisher;
  /** This test's server. */
  readonly instance: Instance;
  /** Replace this test's server with one started with these options. */
  restart(options?: Parameters<typeof startInstance>[1]): Promise<Instance>;
  connect(url?: string, headers?: Record<string, string>): Promise<TestClient>;
  /** Connected and past the welcome. */
  ready(): Promise<TestClient>;
  /** Resolves once this test's server holds `version` of `section`; fails the test after 5 s. */
  waitForVersion(section: SectionName, version: number): Promise<void>;
}

export function useWsServer(env: TestEnv): WsFixture {
  let publisher: Publisher | undefined;
  let instance: Instance | undefined;
  const clients: TestClient[] = [];
  const started = <T>(value: T | undefined, what: string): T => {
    if (!value) throw new Error(`${what} is only there inside a test`);
    return value;
  };
  beforeAll(() => {
    publisher = new Publisher(env);
  });
  afterAll(() => publisher?.close());
  beforeEach(async () => {
    await started(publisher, 'the publisher').clear();
    instance = await startInstance(env);
  });
  afterEach(async () => {
    for (const client of clients.splice(0)) client.close();
    await instance?.stop();
  });
  const fixture: WsFixture = {
    get publisher() {
      return started(publisher, 'the publisher');
    },
    get instance() {
      return started(instance, 'the server');
    },
    async restart(options) {
      await fixture.instance.stop();
      instance = await startInstance(env, options);
      return instance;
    },
    async connect(url = fixture.instance.url, headers = {}) {
      const client = await TestClient.connect(url, { headers });
      clients.push(client);
      return client;
    },
    async ready() {
      const client = await fixture.connect();
      expect((await client.next()).type).toBe('welcome');
      return client;
    },
    async waitForVersion(section, version) {
      const replica = fixture.instance.replica;
      const ok = await replica.waitFor(() => replica.get(section)?.snapshot.version === version, 5000);
      expect(ok).toBe(true);
    },
  };
  return fixture;
}

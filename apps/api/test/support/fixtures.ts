import { randomBytes } from 'node:crypto';
import type { RedisClient } from '@snapboard/redis';
import {
  type BotHour,
  type BotOpenPositions,
  type BotPerformance,
  type BotSummary,
  type BotTrade,
  type Keys,
  SECTION_NAMES,
  SECTIONS,
  type SectionData,
  type SectionName,
  type Snapshot,
} from '@snapboard/shared';

/**
 * Snapshots in the worker's format (SPEC §4, apps/worker/src/publish.ts) written straight to Redis,
 * so the API's tests need no worker and no database.
 */

const at = (ms: number) => new Date(ms).toISOString();

export function sampleData<K extends SectionName>(section: K, seed = 1, items = 30): SectionData[K] {
  const t0 = Date.UTC(2025, 0, 1);
  const data: { [S in SectionName]: () => SectionData[S] } = {
    overview: () => ({
      total_accounts: 5 + seed,
      active_accounts: 3,
      total_balance: 50_000.5,
      total_equity: 50_100.25,
      total_pnl: 250.75 * seed,
      total_trades: 120,
      avg_win_rate: 61.5,
      win_rate: 61.5,
    }),
    open_positions: () =>
      Array.from({ length: items }, (_, i) => ({
        trade_id: 1000 * seed + i,
        user_id: i % 4 === 0 ? null : i,
        username: i % 4 === 0 ? null : `trader_${i}`,
        symbol: 'BTCUSDT',
        direction: i % 2 ? 'LONG' : 'SHORT',
        market_type: 'FUTURES',
        entry_price: 64_000 + i,
        entry_time: at(t0 + i * 60_000),
        position_size: 100,
        quantity: 0.0015625,
        stop_loss: 63_000,
        take_profit: 66_000,
        leverage: 5,
        current_price: 64_100.5,
        unrealized_pnl: 0.78,
        unrealized_pnl_pct: 0.78,
        price_change: 100.5,
        price_change_pct: 0.16,
        has_real_time_price: true,
      })),
    recent_trades: () =>
      Array.from({ length: items }, (_, i) => ({
        trade_id: 5000 * seed + i,
        user_id: i,
        symbol: 'ETHUSDT',
        direction: 'LONG',
        market_type: 'SPOT',
        entry_price: 3200,
        exit_price: 3250,
        profit_loss: 1.5625 - i * 0.1,
        profit_loss_percentage: 1.5625,
        status: 'CLOSED_TP',
        entry_time: at(t0),
        exit_time: i % 7 === 0 ? null : at(t0 + 3_600_000),
      })),
    performance_metrics: () => ({
      total_closed_trades: 40,
      profitable_trades: 25,
      losing_trades: 14,
      total_profit: 500,
      total_loss: -200,
      avg_profit: 20,
      avg_loss: -14.28,
      win_rate: 62.5,
      best_trade: 80,
      worst_trade: -40,
      avg_duration_hours: 3.5,
      profit_factor: 2.5,
      max_drawdown: 55.5,
    }),
    top_performers: () =>
      Array.from({ length: 5 }, (_, i) => ({
        user_id: i + 1,
        username: `trader_${i + 1}`,
        balance: 10_000 + i,
        equity: 10_050 + i,
        total_pnl: 500 - i * 10,
        win_rate: 60,
        total_trades: 30,
      })),
    trading_stats: () => ({
      today: { total_trades: 4, open_trades: 2, closed_trades: 2 },
      this_week: { total_trades: 20, open_trades: 5, closed_trades: 15 },
      all_time: { total_trades: 120, open_trades: 10, closed_trades: 110 },
    }),
    lite: () => ({ total_pnl: 250.75 * seed, win_rate: 61.5, active_trades: 3, daily_pnl: 12.5 }),
    pnl_history: () =>
      Array.from({ length: 720 }, (_, i) => ({ t: at(t0 + i * 3_600_000), pnl: Math.round(i * 1.5 * 100) / 100 })),
    bot_trades: () => Array.from({ length: items }, (_, i) => botTrade(9000 * seed + i, i)),
    bot_performance: () => ({ ...botPerformance(seed), hours: botHours(t0, seed) }),
    bot_open_positions: () => botOpenPositions(seed),
    bot_summary: () => botSummary(seed),
  };
  return data[section]() as SectionData[K];
}

const STATUSES = ['OPEN', 'CLOSED_TP', 'CLOSED_SL', 'CLOSED_MANUAL', 'CANCELLED', 'PENDING'] as const;

/** A trade item of the bot's API (SPEC §11); `i` varies status, market, direction and symbol. */
export function botTrade(id: number, i: number): BotTrade {
  const status = STATUSES[i % STATUSES.length] as string;
  const closed = status.startsWith('CLOSED');
  const pl = closed ? (i % 2 ? '12.30000000' : '-4.50000000') : '0E-8';
  return {
    id,
    signal_id: i % 3 ? id : null,
    signal_direction: i % 3 ? 'LONG' : null,
    signal_timeframe: i % 3 ? '1h' : null,
    signal_confidence: i % 3 ? 0.8 : null,
    symbol: ['BTCUSDT', 'ETHUSDT', 'SOLUSDT'][i % 3] as string,
    direction: i % 2 ? 'LONG' : 'SHORT',
    market_type: i % 4 ? 'SPOT' : 'FUTURES',
    entry_price: '64000.00000000',
    entry_price_formatted: '$64,000.0000',
    entry_time: '2025-01-01T00:00:00.000Z',
    position_size: '100.00000000',
    quantity: '0.00156250',
    stop_loss: '63000.00000000',
    take_profit: '66000.00000000',
    exit_price: closed ? '64500.00000000' : null,
    exit_price_formatted: closed ? '$64,500.0000' : null,
    exit_time: closed ? '2025-01-01T02:00:00.000Z' : null,
    profit_loss: pl,
    profit_loss_formatted: closed ? (i % 2 ? '+$12.30' : '-$4.50') : '+$0.00',
    profit_loss_percentage: closed ? (i % 2 ? '12.3000' : '-4.5000') : '0.0000',
    leverage: i % 4 ? null : 5,
    status,
    created_at: '2025-01-01 00:00:00',
    updated_at: '2025-01-01 02:00:00',
    duration_hours: closed ? 2 : null,
    risk_reward_ratio: 2,
    is_open: status === 'OPEN' || status === 'PENDING',
    is_closed: closed,
    is_profitable: closed && i % 2 === 1,
    realized_pnl: pl,
    profit_loss_pct: closed ? (i % 2 ? '12.3000' : '-4.5000') : '0.0000',
  };
}

function botPerformance(seed: number): BotPerformance {
  return {
    total_trades: 40 + seed,
    open_trades: 3,
    win_rate: 55.5,
    total_profit_loss: 123.45 * seed,
    avg_profit_loss: 3.5,
    best_trade: 40,
    worst_trade: -20,
    avg_duration_hours: 2.5,
    profitable_trades: 20,
    losing_trades: 16,
    unrealized_pnl: 1.25,
    total_pnl: 123.45 * seed + 1.25,
  };
}

/** One hour of figures per day back from t0 + 400 days, so windows of 1..365 days differ. */
function botHours(t0: number, seed: number): BotHour[] {
  return Array.from({ length: 30 }, (_, i) => ({
    t: at(t0 + (400 - i * 13) * 86_400_000),
    trades: 2 + seed,
    open: 1,
    closed: 1 + seed,
    won: 1,
    lost: seed,
    pnl: 5 - seed,
    best: 5,
    worst: -seed,
    duration_seconds: 3600 * (1 + seed),
    duration_trades: 1 + seed,
  }));
}

function botOpenPositions(seed: number): BotOpenPositions {
  const positions = Array.from({ length: 3 }, (_, i) => ({
    trade_id: 100 * seed + i,
    user: 'System',
    symbol: 'BTCUSDT',
    direction: i % 2 ? 'SHORT' : 'LONG',
    market_type: 'SPOT',
    entry_price: 64000,
    entry_time: at(Date.UTC(2025, 0, 1)),
    position_size: 100,
    stop_loss: 63000,
    take_profit: 66000,
    leverage: null,
    risk_reward_ratio: 2,
    current_price: 64640,
    current_value: i % 2 ? 99 : 101,
    unrealized_pnl: i % 2 ? -1 : 1,
    unrealized_pnl_pct: i % 2 ? -1 : 1,
    price_change: 640,
    price_change_pct: 1,
    has_real_time_price: true,
  }));
  return {
    total_investment: 300,
    total_current_value: 301,
    total_unrealized_pnl: 1,
    total_unrealized_pnl_pct: 1 / 3,
    total_open_trades: 3,
    positions,
  };
}

function botSummary(seed: number): BotSummary {
  const performance = botPerformance(seed);
  return {
    performance,
    open_trades_count: 3,
    recent_closed_trades: Array.from({ length: 10 }, (_, i) => botTrade(7000 * seed + i, 1 + (i % 3))),
    bot_total_pnl: performance.total_pnl,
    bot_win_rate: performance.win_rate,
    bot_total_trades: performance.total_trades,
    bot_realized_pnl: performance.total_profit_loss,
    bot_unrealized_pnl: performance.unrealized_pnl,
  };
}

export const newEpoch = () => randomBytes(8).toString('hex');

export function makeSnapshot<K extends SectionName>(
  section: K,
  options: {
    epoch: string;
    version: number;
    computedAtMs?: number;
    ttl?: number;
    data?: SectionData[K];
    seed?: number;
  },
): Snapshot<K> {
  return {
    section,
    epoch: options.epoch,
    version: options.version,
    computed_at: at(options.computedAtMs ?? Date.now()),
    ttl: options.ttl ?? SECTIONS[section].defaultTtl,
    data: options.data ?? sampleData(section, options.seed ?? options.version),
  };
}

/** What the worker does on a changed compute: write the snapshot, announce it with its content. */
export async function publishSnapshot(
  redis: RedisClient,
  keys: Keys,
  snapshot: Snapshot,
  announce = true,
): Promise<void> {
  const json = JSON.stringify(snapshot);
  await redis.set(keys.snapshot(snapshot.section), json);
  if (announce) await redis.publish(keys.announceChannel, `{"changed":true,"snapshot":${json}}`);
}

/** What the worker does when a compute found the same data: move computed_at, announce only that. */
export async function publishRefresh(
  redis: RedisClient,
  keys: Keys,
  snapshot: Snapshot,
  computedAtMs: number,
): Promise<Snapshot> {
  const next = { ...snapshot, computed_at: at(computedAtMs) };
  await redis.set(keys.snapshot(snapshot.section), JSON.stringify(next));
  await redis.publish(
    keys.announceChannel,
    JSON.stringify({
      changed: false,
      section: next.section,
      epoch: next.epoch,
      version: next.version,
      computed_at: next.computed_at,
    }),
  );
  return next;
}

/** Every section at version `version` of one epoch, computed at `computedAtMs`. */
export async function publishAll(
  redis: RedisClient,
  keys: Keys,
  options: { epoch: string; version: number; computedAtMs?: number; ttl?: number; announce?: boolean },
): Promise<Snapshot[]> {
  const snapshots = SECTION_NAMES.map((section) => makeSnapshot(section, options));
  for (const snapshot of snapshots) await publishSnapshot(redis, keys, snapshot, options.announce ?? true);
  return snapshots;
}

/** Poll `predicate` (for hooks, where expect.poll is not available); throws after `ms`. */
export async function until(predicate: () => boolean | Promise<boolean>, ms = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

import { randomBytes } from 'node:crypto';
import type { RedisClient } from '@snapboard/redis';
import {
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
  };
  return data[section]() as SectionData[K];
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

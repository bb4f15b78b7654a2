import type { PerformanceMetrics } from '@snapboard/shared';
import { type Numeric, round, toCount, toNumber, toNumberOr0 } from './convert.ts';
import { AFTER_CHAIN_START, computeFromPart, type HistoryPart } from './history.ts';
import type { SectionComputer } from './types.ts';

/**
 * Over the hourly rollup of closed trades (one row per exit hour), never over the trades themselves.
 * Max drawdown chains the hours in order: before = running total before the hour, peak_before = the
 * highest running total reached before it (from 0); within an hour the fall is its own drawdown or
 * the distance from peak_before down to the hour's lowest point.
 *
 * The hours are not chained from the first: `closed_chain_start` (history.ts) is the summary of every
 * hour up to the last one before any hour changed in this snapshot, in an hour's own shape, and only
 * the hours after it follow (usually one or two). Without a start every hour is chained.
 */
const SQL = `
  WITH runs AS (
    SELECT * FROM closed_chain_start
    UNION ALL
    SELECT * FROM closed_hours h WHERE NOT EXISTS (SELECT 1 FROM closed_chain_start s WHERE s.hour >= h.hour)
  ),
  chained AS (
    SELECT *,
           coalesce(sum(pnl) OVER prior, 0) AS before,
           greatest(0, coalesce(max(pnl_at_peak) OVER prior, 0)) AS peak_before
    FROM (
      SELECT *, coalesce(sum(pnl) OVER upto, 0) - pnl + peak AS pnl_at_peak
      FROM runs
      WINDOW upto AS (ORDER BY hour ROWS UNBOUNDED PRECEDING)
    ) h
    WINDOW prior AS (ORDER BY hour ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
  )
  SELECT coalesce(sum(trades), 0) AS total_closed_trades,
         coalesce(sum(wins), 0) AS profitable_trades,
         coalesce(sum(losses), 0) AS losing_trades,
         coalesce(sum(profit), 0) AS total_profit,
         coalesce(sum(loss), 0) AS total_loss,
         max(best) AS best_trade,
         min(worst) AS worst_trade,
         coalesce(sum(duration_seconds), 0) AS duration_seconds,
         coalesce(sum(duration_trades), 0) AS duration_trades,
         coalesce(max(greatest(drawdown, peak_before - (before + trough))), 0) AS max_drawdown
  FROM chained`;

export interface PerformanceRow {
  total_closed_trades: Numeric;
  profitable_trades: Numeric;
  losing_trades: Numeric;
  total_profit: Numeric;
  total_loss: Numeric;
  best_trade: Numeric;
  worst_trade: Numeric;
  duration_seconds: Numeric;
  duration_trades: Numeric;
  max_drawdown: Numeric;
}

export function build(row: PerformanceRow | undefined): PerformanceMetrics {
  const total = toCount(row?.total_closed_trades);
  const profitable = toCount(row?.profitable_trades);
  const losing = toCount(row?.losing_trades);
  const totalProfit = toNumberOr0(row?.total_profit);
  const totalLoss = toNumberOr0(row?.total_loss);
  const durationTrades = toCount(row?.duration_trades);
  return {
    total_closed_trades: total,
    profitable_trades: profitable,
    losing_trades: losing,
    total_profit: totalProfit,
    total_loss: totalLoss,
    avg_profit: profitable ? totalProfit / profitable : 0,
    avg_loss: losing ? totalLoss / losing : 0,
    win_rate: total ? (profitable / total) * 100 : 0,
    best_trade: toNumber(row?.best_trade),
    worst_trade: toNumber(row?.worst_trade),
    avg_duration_hours: durationTrades ? round(toNumberOr0(row?.duration_seconds) / durationTrades / 3600, 2) : null,
    profit_factor: totalLoss !== 0 ? totalProfit / Math.abs(totalLoss) : null,
    max_drawdown: Math.max(0, toNumberOr0(row?.max_drawdown)),
  };
}

export const part: HistoryPart<PerformanceMetrics> = {
  reads: ['closed_hours', 'closed_chain_start'],
  // Only the hours after the chain's start: those up to it are in the start's summary.
  closedFrom: () => AFTER_CHAIN_START,
  sql: () => SQL,
  build: (row) => build(row as unknown as PerformanceRow),
};

export const performanceMetrics: SectionComputer<'performance_metrics'> = {
  compute: computeFromPart('performance_metrics', part),
};

import type { TradingStats } from '@snapboard/shared';
import { ceilHour, type Numeric, toCount } from './convert.ts';
import { computeFromPart, type HistoryPart } from './history.ts';
import type { SectionComputer } from './types.ts';

const DAY_MS = 24 * 3_600_000;

/**
 * Counts by created_at from the hourly rollup: whole hours from the created rollup, plus the partial
 * hour at the start of each rolling window read from paper_trades through its created_at index. A
 * missing created_at sits in the '-infinity' hour: counted all-time, in no window. `day`/`dayHour`:
 * the day's cutoff and the first hour boundary after it; `week`/`weekHour` the same for the week.
 */
const sql = ([day, dayHour, week, weekHour]: string[]) => `
  SELECT 'all_time' AS window, sum(trades) AS total, sum(open_trades) AS open, sum(closed_trades) AS closed
  FROM created_hours
  UNION ALL
  SELECT 'today', sum(trades), sum(open_trades), sum(closed_trades)
  FROM created_hours WHERE hour >= ${dayHour}::timestamptz
  UNION ALL
  SELECT 'today', count(*), count(*) FILTER (WHERE status = 'OPEN'), count(*) FILTER (WHERE status LIKE 'CLOSED%')
  FROM paper_trades WHERE created_at >= ${day}::timestamptz AND created_at < ${dayHour}::timestamptz
  UNION ALL
  SELECT 'this_week', sum(trades), sum(open_trades), sum(closed_trades)
  FROM created_hours WHERE hour >= ${weekHour}::timestamptz
  UNION ALL
  SELECT 'this_week', count(*), count(*) FILTER (WHERE status = 'OPEN'), count(*) FILTER (WHERE status LIKE 'CLOSED%')
  FROM paper_trades WHERE created_at >= ${week}::timestamptz AND created_at < ${weekHour}::timestamptz`;

export interface TradingStatsRow {
  window: string;
  total: Numeric;
  open: Numeric;
  closed: Numeric;
}

export function build(rows: readonly TradingStatsRow[]): TradingStats {
  const stats: TradingStats = {
    today: { total_trades: 0, open_trades: 0, closed_trades: 0 },
    this_week: { total_trades: 0, open_trades: 0, closed_trades: 0 },
    all_time: { total_trades: 0, open_trades: 0, closed_trades: 0 },
  };
  for (const row of rows) {
    if (row.window !== 'today' && row.window !== 'this_week' && row.window !== 'all_time') continue;
    const w = stats[row.window];
    w.total_trades += toCount(row.total);
    w.open_trades += toCount(row.open);
    w.closed_trades += toCount(row.closed);
  }
  return stats;
}

export function windowParams(now: Date): string[] {
  const day = now.getTime() - DAY_MS;
  const week = now.getTime() - 7 * DAY_MS;
  return [day, ceilHour(day), week, ceilHour(week)].map((ms) => new Date(ms).toISOString());
}

/**
 * Its five rows as arrays in one row (the statement it shares has one row); numbers as the rows'
 * own text, so they convert exactly as the rows did.
 */
export const part: HistoryPart<TradingStats> = {
  reads: ['created_hours'],
  sql: (param, now) => `
    SELECT array_agg(w."window") AS ts_window, array_agg(w.total::text) AS ts_total,
           array_agg(w.open::text) AS ts_open, array_agg(w.closed::text) AS ts_closed
    FROM (${sql(windowParams(now).map(param))}) w`,
  build(row) {
    const windows = (row.ts_window as string[] | null) ?? [];
    const column = (name: string) => (row[name] as Numeric[] | null) ?? [];
    const [total, open, closed] = [column('ts_total'), column('ts_open'), column('ts_closed')];
    return build(windows.map((window, i) => ({ window, total: total[i], open: open[i], closed: closed[i] })));
  },
};

export const tradingStats: SectionComputer<'trading_stats'> = {
  compute: computeFromPart('trading_stats', part),
};

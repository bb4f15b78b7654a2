import type { TradingStats } from '@snapboard/shared';
import { ceilHour, type Numeric, toCount } from './convert.ts';
import type { SectionComputer, SectionContext } from './types.ts';

const DAY_MS = 24 * 3_600_000;

/**
 * Counts by created_at from the hourly rollup: whole hours from snapboard_created_hours, plus the
 * partial hour at the start of each rolling window read from paper_trades through its created_at
 * index. A missing created_at sits in the '-infinity' hour: counted all-time, in no window.
 * $1/$2: the day's cutoff and the first hour boundary after it; $3/$4 the same for the week.
 */
export const SQL = `
  SELECT 'all_time' AS window, sum(trades) AS total, sum(open_trades) AS open, sum(closed_trades) AS closed
  FROM snapboard_created_hours_current()
  UNION ALL
  SELECT 'today', sum(trades), sum(open_trades), sum(closed_trades)
  FROM snapboard_created_hours_current() WHERE hour >= $2::timestamptz
  UNION ALL
  SELECT 'today', count(*), count(*) FILTER (WHERE status = 'OPEN'), count(*) FILTER (WHERE status LIKE 'CLOSED%')
  FROM paper_trades WHERE created_at >= $1::timestamptz AND created_at < $2::timestamptz
  UNION ALL
  SELECT 'this_week', sum(trades), sum(open_trades), sum(closed_trades)
  FROM snapboard_created_hours_current() WHERE hour >= $4::timestamptz
  UNION ALL
  SELECT 'this_week', count(*), count(*) FILTER (WHERE status = 'OPEN'), count(*) FILTER (WHERE status LIKE 'CLOSED%')
  FROM paper_trades WHERE created_at >= $3::timestamptz AND created_at < $4::timestamptz`;

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

export const tradingStats: SectionComputer<'trading_stats'> = {
  async compute({ db, now }: SectionContext) {
    const { rows } = await db.query<TradingStatsRow>(SQL, windowParams(now));
    return build(rows);
  },
};

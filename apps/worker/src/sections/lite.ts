import type { Lite } from '@snapboard/shared';
import { ceilHour, type Numeric, toCount, toNumberOr0 } from './convert.ts';
import { computeFromPart, type HistoryPart } from './history.ts';
import type { SectionComputer } from './types.ts';

const DAY_MS = 24 * 3_600_000;

/**
 * daily_pnl = closes with exit_time >= now - 24 h: whole hours from the closed rollup (finite hours
 * only: the 'infinity' one also holds the closes without exit_time), plus the partial first hour and
 * any exit_time of 'infinity' from paper_trades through snapboard_pt_closed_exit.
 * `cutoff` = now - 24 h, `firstHour` = the first hour boundary at or after it.
 */
const sql = (cutoff: string, firstHour: string) => `
  SELECT a.total_pnl, a.win_rate, o.active_trades, coalesce(h.pnl, 0) + coalesce(p.pnl, 0) AS daily_pnl
  FROM (SELECT coalesce(sum(total_pnl), 0) AS total_pnl, coalesce(avg(win_rate), 0) AS win_rate
        FROM signals_paperaccount) a,
       (SELECT count(*) AS active_trades FROM paper_trades WHERE status = 'OPEN') o,
       (SELECT sum(pnl) AS pnl FROM closed_hours WHERE hour >= ${firstHour}::timestamptz AND isfinite(hour)) h,
       (SELECT sum(profit_loss) AS pnl FROM paper_trades
        WHERE status LIKE 'CLOSED%'
          AND ((exit_time >= ${cutoff}::timestamptz AND exit_time < ${firstHour}::timestamptz) OR exit_time = 'infinity')) p`;

export interface LiteRow {
  total_pnl: Numeric;
  win_rate: Numeric;
  active_trades: Numeric;
  daily_pnl: Numeric;
}

export function build(row: LiteRow | undefined): Lite {
  return {
    total_pnl: toNumberOr0(row?.total_pnl),
    win_rate: toNumberOr0(row?.win_rate),
    active_trades: toCount(row?.active_trades),
    daily_pnl: toNumberOr0(row?.daily_pnl),
  };
}

export const part: HistoryPart<Lite> = {
  reads: ['closed_hours'],
  sql(param, now) {
    const cutoff = now.getTime() - DAY_MS;
    return sql(param(new Date(cutoff).toISOString()), param(new Date(ceilHour(cutoff)).toISOString()));
  },
  // The day's whole hours only.
  closedFrom: (param, now) => `${param(new Date(ceilHour(now.getTime() - DAY_MS)).toISOString())}::timestamptz`,
  build: (row) => build(row as unknown as LiteRow),
};

export const lite: SectionComputer<'lite'> = {
  compute: computeFromPart('lite', part),
};

import type { PnlPoint } from '@snapboard/shared';
import { floorHour, HOUR_MS, type Numeric, toNumberOr0 } from './convert.ts';
import { computeFromPart, type HistoryPart } from './history.ts';
import type { SectionComputer } from './types.ts';

export const PNL_POINTS = 720;

/**
 * The running total at the end of each hour of the window, from the hourly rollup of closes: `base`
 * is everything before the window, then one cumulative row per hour that had closes. Hours without
 * closes are filled in by `build`. The 'infinity' hour (no exit_time) is never inside the window.
 * `first` = the first hour of the window, `last` = the last (the current hour).
 */
const sql = (first: string, last: string) => `
  WITH base AS (
    SELECT coalesce(sum(pnl), 0) AS pnl FROM closed_hours WHERE hour < ${first}::timestamptz
  )
  SELECT h.hour, base.pnl + sum(h.pnl) OVER (ORDER BY h.hour) AS cumulative, base.pnl AS base
  FROM base
  LEFT JOIN closed_hours h ON h.hour >= ${first}::timestamptz AND h.hour <= ${last}::timestamptz
  ORDER BY h.hour`;

export interface PnlHistoryRow {
  hour: Date | null;
  cumulative: Numeric;
  base: Numeric;
}

export function windowStart(now: Date): number {
  return floorHour(now.getTime()) - (PNL_POINTS - 1) * HOUR_MS;
}

export function build(rows: readonly PnlHistoryRow[], now: Date): PnlPoint[] {
  const start = windowStart(now);
  const hours = rows
    .filter((row): row is PnlHistoryRow & { hour: Date } => row.hour instanceof Date)
    .map((row) => ({ at: row.hour.getTime(), pnl: toNumberOr0(row.cumulative) }))
    .sort((a, b) => a.at - b.at);
  let running = toNumberOr0(rows[0]?.base);
  let next = 0;
  const points: PnlPoint[] = [];
  for (let i = 0; i < PNL_POINTS; i++) {
    const t = start + i * HOUR_MS;
    while (next < hours.length && (hours[next]?.at ?? Number.POSITIVE_INFINITY) <= t) {
      running = hours[next]?.pnl ?? running;
      next++;
    }
    points.push({ t: new Date(t).toISOString(), pnl: running });
  }
  return points;
}

/**
 * Its rows as arrays in one row (the statement it shares has one row): the hours as timestamps and
 * the totals as the rows' own text, so they convert exactly as the rows did.
 */
export const part: HistoryPart<PnlPoint[]> = {
  reads: ['closed_hours'],
  sql(param, now) {
    const start = windowStart(now);
    const end = start + (PNL_POINTS - 1) * HOUR_MS;
    return `
    SELECT array_agg(p.hour ORDER BY p.hour) AS ph_hour, array_agg(p.cumulative::text ORDER BY p.hour) AS ph_cumulative,
           min(p.base) AS ph_base
    FROM (${sql(param(new Date(start).toISOString()), param(new Date(end).toISOString()))}) p`;
  },
  build(row, now) {
    const hours = (row.ph_hour as (Date | null)[] | null) ?? [];
    const cumulative = (row.ph_cumulative as Numeric[] | null) ?? [];
    const base = row.ph_base as Numeric;
    // The subquery has a row even without hours in the window (hour NULL), which carries `base`.
    const rows = hours.map((hour, i) => ({ hour, cumulative: cumulative[i], base }));
    return build(rows.length ? rows : [{ hour: null, cumulative: null, base }], now);
  },
};

export const pnlHistory: SectionComputer<'pnl_history'> = {
  compute: computeFromPart('pnl_history', part),
};

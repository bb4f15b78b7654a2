import type { PnlPoint } from '@snapboard/shared';
import { floorHour, HOUR_MS, type Numeric, toNumberOr0 } from './convert.ts';
import type { SectionComputer } from './types.ts';

export const PNL_POINTS = 720;

/**
 * The running total at the end of each hour of the window, from the hourly rollup of closes: `base`
 * is everything before the window, then one cumulative row per hour that had closes. Hours without
 * closes are filled in by `build`. The 'infinity' hour (no exit_time) is never inside the window.
 * $1 = the first hour of the window, $2 = the last (the current hour).
 */
export const SQL = `
  WITH base AS (
    SELECT coalesce(sum(pnl), 0) AS pnl FROM snapboard_closed_hours_current() WHERE hour < $1::timestamptz
  )
  SELECT h.hour, base.pnl + sum(h.pnl) OVER (ORDER BY h.hour) AS cumulative, base.pnl AS base
  FROM base
  LEFT JOIN snapboard_closed_hours_current() h ON h.hour >= $1::timestamptz AND h.hour <= $2::timestamptz
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

export const pnlHistory: SectionComputer<'pnl_history'> = {
  async compute({ db, now }) {
    const start = windowStart(now);
    const end = start + (PNL_POINTS - 1) * HOUR_MS;
    const { rows } = await db.query<PnlHistoryRow>(SQL, [new Date(start).toISOString(), new Date(end).toISOString()]);
    return build(rows, now);
  },
};

import type { PnlPoint } from '@snapboard/shared';
import { floorHour, HOUR_MS, type Numeric, toNumberOr0 } from './convert.ts';
import { AFTER_CHAIN_START, computeFromPart, type HistoryPart } from './history.ts';
import type { SectionComputer } from './types.ts';

export const PNL_POINTS = 720;

/**
 * The running total at the end of each hour of the window that had closes, and `base`, the total
 * before the window; `build` fills in the hours without closes. The 'infinity' hour (no exit_time) is
 * never inside the window. `first` = the first hour of the window, `last` = the last (the current one).
 *
 * Running totals come from the rollup's chain (migration 0009) up to `closed_chain_start` (history.ts,
 * the last hour before any hour changed in this snapshot), and after it from the hours that follow,
 * added up from the start's total: usually one or two. Without a start every hour is added up.
 * The points travel as one JSON array of [epoch seconds, total as text]: the totals convert from the
 * same decimal text as before, and 720 timestamps are not parsed one by one.
 */
const sql = (first: string, last: string) => `
  WITH tail AS (
    SELECT h.hour, coalesce((SELECT pnl FROM closed_chain_start), 0) + sum(h.pnl) OVER (ORDER BY h.hour) AS cumulative
    FROM closed_hours h
    WHERE NOT EXISTS (SELECT 1 FROM closed_chain_start s WHERE s.hour >= h.hour)
  ),
  points AS (
    SELECT c.hour, c.pnl AS cumulative
    FROM snapboard_closed_chain c, closed_chain_start s
    WHERE c.hour >= ${first}::timestamptz AND c.hour <= ${last}::timestamptz AND c.hour <= s.hour
    UNION ALL
    SELECT hour, cumulative FROM tail WHERE hour >= ${first}::timestamptz AND hour <= ${last}::timestamptz
  )
  SELECT coalesce(
           (SELECT cumulative FROM tail WHERE hour < ${first}::timestamptz ORDER BY hour DESC LIMIT 1),
           (SELECT c.pnl FROM snapboard_closed_chain c, closed_chain_start s
            WHERE c.hour < ${first}::timestamptz AND c.hour <= s.hour ORDER BY c.hour DESC LIMIT 1),
           0) AS ph_base,
         (SELECT json_agg(json_build_array(extract(epoch FROM hour)::bigint, cumulative::text) ORDER BY hour)
          FROM points) AS ph_points`;

export interface PnlHistoryRow {
  hour: Date | null;
  cumulative: Numeric;
  base: Numeric;
}

export function windowStart(now: Date): number {
  return floorHour(now.getTime()) - (PNL_POINTS - 1) * HOUR_MS;
}

/** The window's hours as text, kept while the window stays (an hour): 720 Dates less per set. */
let cachedWindow = { start: Number.NaN, times: [] as string[] };

function windowTimes(start: number): string[] {
  if (cachedWindow.start !== start) {
    cachedWindow = {
      start,
      times: Array.from({ length: PNL_POINTS }, (_, i) => new Date(start + i * HOUR_MS).toISOString()),
    };
  }
  return cachedWindow.times;
}

export function build(rows: readonly PnlHistoryRow[], now: Date): PnlPoint[] {
  const start = windowStart(now);
  const times = windowTimes(start);
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
    points.push({ t: times[i] as string, pnl: running });
  }
  return points;
}

export const part: HistoryPart<PnlPoint[]> = {
  reads: ['closed_hours', 'closed_chain_start'],
  // Only the hours after the chain's start: those up to it are in the start's summary.
  closedFrom: () => AFTER_CHAIN_START,
  sql(param, now) {
    const start = windowStart(now);
    const end = start + (PNL_POINTS - 1) * HOUR_MS;
    return sql(param(new Date(start).toISOString()), param(new Date(end).toISOString()));
  },
  build(row, now) {
    const points = (row.ph_points as [number, string][] | null) ?? [];
    const base = row.ph_base as Numeric;
    const rows: PnlHistoryRow[] = points.map(([epoch, cumulative]) => ({
      hour: new Date(epoch * 1000),
      cumulative,
      base,
    }));
    return build(rows.length ? rows : [{ hour: null, cumulative: null, base }], now);
  },
};

export const pnlHistory: SectionComputer<'pnl_history'> = {
  compute: computeFromPart('pnl_history', part),
};

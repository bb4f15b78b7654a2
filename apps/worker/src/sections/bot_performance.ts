import {
  BOT_MAX_DAYS,
  type BotHour,
  type BotPerformanceSection,
  type BotPosition,
  type BotTotals,
  performanceOf,
} from '@snapboard/shared';
import { createRowReader, openSystemPositions, TOTALS_COLUMNS, type TotalsRow, totalsOf, unrealizedOf } from './bot.ts';
import { floorHour, toIso } from './convert.ts';
import type { Queryable, SectionComputer } from './types.ts';

/**
 * System trades by the UTC hour of created_at; a trade without created_at falls in the '-infinity'
 * hour: in the all-time figures, outside every `days` window. A hash aggregate over the system trades
 * (a grand-total grouping set would force a sort of them all); see docs/decisions/0010.
 * One more row, `all_time`, sums the hours in SQL: numeric sums are exact, so it is the very total an
 * aggregate over all of them gives (bot_summary's ALL_TIME_SQL), and a set holding both sections reads
 * it once (bot_read.ts). An hour comes first (the row's identity, bot.ts), as epoch milliseconds: pg parses
 * no timestamp for it.
 */
export const SQL = `
  WITH hours AS (
    SELECT snapboard_hour(created_at, '-infinity') AS hour, ${TOTALS_COLUMNS}
    FROM paper_trades
    WHERE user_id IS NULL
    GROUP BY 1)
  SELECT (extract(epoch FROM hour) * 1000)::float8 AS at_ms, false AS all_time, trades, open, closed, won, lost,
         pnl, best, worst, duration_seconds, duration_trades
  FROM hours
  UNION ALL
  SELECT NULL, true, coalesce(sum(trades), 0), coalesce(sum(open), 0), coalesce(sum(closed), 0),
         coalesce(sum(won), 0), coalesce(sum(lost), 0), coalesce(sum(pnl), 0), max(best), min(worst),
         coalesce(sum(duration_seconds), 0), coalesce(sum(duration_trades), 0)
  FROM hours`;

export interface HourRow extends TotalsRow {
  all_time: boolean;
  /** ±Infinity for the infinite hours; null on the all-time row. */
  at_ms: number | string | null;
}

/** A row of `SQL` as built: the all-time row's totals, or an hour (`hour` when its start is finite). */
export interface HourItem {
  allTime: boolean;
  at: number;
  totals: BotTotals;
  hour: BotHour | undefined;
}

const DAY_MS = 86_400_000;

/** The first hour any `days` window can start at, as of `now`. */
export function oldestWindowStart(now: Date): number {
  return floorHour(now.getTime() - BOT_MAX_DAYS * DAY_MS);
}

function hourItem(row: HourRow): HourItem {
  const allTime = row.all_time === true;
  const at = allTime || row.at_ms === null ? Number.NaN : Number(row.at_ms);
  const t = totalsOf(row);
  const hour: BotHour | undefined = Number.isFinite(at)
    ? {
        t: toIso(at) as string,
        trades: t.trades,
        open: t.open,
        closed: t.closed,
        won: t.won,
        lost: t.lost,
        pnl: t.pnl,
        best: t.best,
        worst: t.worst,
        duration_seconds: t.durationSeconds,
        duration_trades: t.durationTrades,
      }
    : undefined;
  return { allTime, at, totals: t, hour };
}

/** `SQL`'s rows as items. A close moves one or two of a thousand hours: the others' are reused (bot.ts). */
export const hourItems: (db: Queryable) => Promise<HourItem[]> = createRowReader(SQL, (row) =>
  hourItem(row as unknown as HourRow),
);

/** The hours a `days` window as of `now` can reach, oldest first. */
export function hoursOf(items: readonly HourItem[], now: Date): BotHour[] {
  const from = oldestWindowStart(now);
  const inside = items.filter((item) => item.hour !== undefined && item.at >= from);
  return inside.sort((a, b) => a.at - b.at).map((item) => item.hour as BotHour);
}

/** The all-time totals of `SQL`'s answer (all zero when it has none). */
export function allTimeTotals(items: readonly HourItem[]): BotTotals {
  return items.find((item) => item.allTime)?.totals ?? totalsOf(undefined);
}

/** The section from `SQL`'s items and the bot's open positions (bot_read.ts reads them with others). */
export function performanceData(
  items: readonly HourItem[],
  positions: readonly BotPosition[],
  now: Date,
): BotPerformanceSection {
  return { ...performanceOf(allTimeTotals(items), unrealizedOf(positions)), hours: hoursOf(items, now) };
}

export const botPerformance: SectionComputer<'bot_performance'> = {
  systemTradesOnly: true,
  async compute(ctx) {
    // One after the other: they share one connection (pg deprecates queueing on a busy client, and
    // one connection runs them in turn anyway).
    const items = await hourItems(ctx.db);
    const positions = await openSystemPositions(ctx);
    return performanceData(items, positions, ctx.now);
  },
};

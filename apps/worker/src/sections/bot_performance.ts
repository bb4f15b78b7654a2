import { addTotals, BOT_MAX_DAYS, type BotHour, performanceOf } from '@snapboard/shared';
import { openSystemPositions, TOTALS_COLUMNS, type TotalsRow, totalsOf, unrealizedOf } from './bot.ts';
import { floorHour, toIso } from './convert.ts';
import type { SectionComputer } from './types.ts';

/**
 * System trades by the UTC hour of created_at; a trade without created_at falls in the '-infinity'
 * hour: in the all-time figures, outside every `days` window. A hash aggregate over the system trades
 * (a grand-total grouping set would force a sort of them all); the all-time figures are the sum of
 * the hours. See docs/decisions/0010.
 */
export const SQL = `
  SELECT snapboard_hour(created_at, '-infinity') AS hour, ${TOTALS_COLUMNS}
  FROM paper_trades
  WHERE user_id IS NULL
  GROUP BY 1`;

export interface HourRow extends TotalsRow {
  hour: Date | number | null;
}

const DAY_MS = 86_400_000;

/** The first hour any `days` window can start at, as of `now`. */
export function oldestWindowStart(now: Date): number {
  return floorHour(now.getTime() - BOT_MAX_DAYS * DAY_MS);
}

export function hoursOf(rows: readonly HourRow[], now: Date): BotHour[] {
  const from = oldestWindowStart(now);
  const hours: { at: number; hour: BotHour }[] = [];
  for (const row of rows) {
    const at = row.hour instanceof Date ? row.hour.getTime() : Number.NaN;
    if (!Number.isFinite(at) || at < from) continue;
    const t = totalsOf(row);
    hours.push({
      at,
      hour: {
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
      },
    });
  }
  return hours.sort((a, b) => a.at - b.at).map((h) => h.hour);
}

export const botPerformance: SectionComputer<'bot_performance'> = {
  systemTradesOnly: true,
  async compute(ctx) {
    // One after the other: they share one connection (pg deprecates queueing on a busy client, and
    // one connection runs them in turn anyway).
    const { rows } = await ctx.db.query<HourRow>(SQL);
    const positions = await openSystemPositions(ctx);
    const total = addTotals(rows.map(totalsOf));
    return { ...performanceOf(total, unrealizedOf(positions)), hours: hoursOf(rows, ctx.now) };
  },
};

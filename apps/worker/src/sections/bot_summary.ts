import {
  BOT_RECENT_CLOSED,
  type BotPosition,
  type BotSummary,
  type BotTotals,
  type BotTrade,
  performanceOf,
} from '@snapboard/shared';
import {
  ALL_TIME_SQL,
  type BotTradeRow,
  buildTrade,
  createRowReader,
  openSystemPositions,
  type TotalsRow,
  TRADE_COLUMNS,
  totalsOf,
  unrealizedOf,
} from './bot.ts';
import type { Queryable, SectionComputer } from './types.ts';

// Newest closes first (partial index snapboard_pt_system_closed_exit, migration 0006).
export const RECENT_CLOSED_SQL = `
  SELECT ${TRADE_COLUMNS}
  WHERE t.user_id IS NULL AND t.status LIKE 'CLOSED%'
  ORDER BY t.exit_time DESC NULLS LAST, t.id DESC
  LIMIT ${BOT_RECENT_CLOSED}`;

/** The bot's newest closes as items (rows built once, bot.ts). */
export const recentClosed: (db: Queryable) => Promise<BotTrade[]> = createRowReader(RECENT_CLOSED_SQL, (row) =>
  buildTrade(row as unknown as BotTradeRow),
);

/** The section from its all-time totals, recent closes and the bot's open positions (bot_read.ts). */
export function summaryData(totals: BotTotals, recent: BotTrade[], positions: readonly BotPosition[]): BotSummary {
  const performance = performanceOf(totals, unrealizedOf(positions));
  return {
    performance,
    open_trades_count: positions.length,
    recent_closed_trades: recent,
    bot_total_pnl: performance.total_pnl,
    bot_win_rate: performance.win_rate,
    bot_total_trades: performance.total_trades,
    bot_realized_pnl: performance.total_profit_loss,
    bot_unrealized_pnl: performance.unrealized_pnl,
  };
}

export const botSummary: SectionComputer<'bot_summary'> = {
  systemTradesOnly: true,
  async compute(ctx) {
    // One after the other on the set's one connection (see bot_performance.ts).
    const totals = await ctx.db.query<TotalsRow>(ALL_TIME_SQL);
    const recent = await recentClosed(ctx.db);
    const positions = await openSystemPositions(ctx);
    return summaryData(totalsOf(totals.rows[0]), recent, positions);
  },
};

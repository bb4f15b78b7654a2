import { z } from 'zod';

/**
 * Shapes of the bot's own public paper-trading API (SPEC §11): the four `bot_*` sections. Field names
 * and types are the origin's (a Django REST Framework serializer), so the bot's frontend reads them
 * unchanged: numeric columns of a trade are strings carrying the column's scale, as DRF renders them.
 */

const num = z.number();
const iso = z.string().describe('ISO-8601 UTC timestamp');
/** A numeric column as DRF renders it: a decimal string with the column's scale (`"0.25740000"`). */
const decimal = z.string().describe("Decimal string with the column's scale");

/** Newest system trades the bot_trades section keeps; the list's filters apply within them. */
export const BOT_TRADES_WINDOW = 500;
/** What the list answers at most (the origin's page size). */
export const BOT_TRADES_PAGE = 100;
/** How many closed trades the summary lists. */
export const BOT_RECENT_CLOSED = 10;
/** `days` of the performance endpoint: 1..BOT_MAX_DAYS. */
export const BOT_MAX_DAYS = 365;

export const BOT_TRADE_STATUSES = ['PENDING', 'OPEN', 'CLOSED_TP', 'CLOSED_SL', 'CLOSED_MANUAL', 'CANCELLED'] as const;
export const BOT_MARKET_TYPES = ['SPOT', 'FUTURES'] as const;
export const BOT_DIRECTIONS = ['LONG', 'SHORT'] as const;

export const botTradeSchema = z.object({
  id: num,
  signal_id: num.nullable(),
  signal_direction: z.string().nullable(),
  signal_timeframe: z.string().nullable(),
  signal_confidence: num.nullable(),
  symbol: z.string(),
  direction: z.string(),
  market_type: z.string(),
  entry_price: decimal.nullable(),
  entry_price_formatted: z.string().nullable().describe('"$1,234.5678"'),
  entry_time: iso.nullable(),
  position_size: decimal.nullable(),
  quantity: decimal.nullable(),
  stop_loss: decimal.nullable(),
  take_profit: decimal.nullable(),
  exit_price: decimal.nullable(),
  exit_price_formatted: z.string().nullable(),
  exit_time: iso.nullable(),
  profit_loss: decimal.nullable(),
  profit_loss_formatted: z.string().nullable().describe('"+$1,234.56", "+$0.00", "-$12.30"'),
  profit_loss_percentage: decimal.nullable(),
  leverage: num.nullable(),
  status: z.string(),
  created_at: z.string().nullable().describe('"YYYY-MM-DD HH:MM:SS" (UTC)'),
  updated_at: z.string().nullable().describe('"YYYY-MM-DD HH:MM:SS" (UTC)'),
  duration_hours: num.nullable(),
  risk_reward_ratio: num,
  is_open: z.boolean(),
  is_closed: z.boolean(),
  is_profitable: z.boolean(),
  realized_pnl: decimal.nullable().describe('Copy of profit_loss'),
  profit_loss_pct: decimal.nullable().describe('Copy of profit_loss_percentage'),
});

export const botPerformanceSchema = z.object({
  total_trades: num,
  open_trades: num,
  win_rate: num,
  total_profit_loss: num,
  avg_profit_loss: num,
  best_trade: num,
  worst_trade: num,
  avg_duration_hours: num,
  profitable_trades: num,
  losing_trades: num,
  unrealized_pnl: num,
  total_pnl: num,
});

/**
 * System trades created in one UTC hour (`t`), the unit the `days` windows are summed from.
 * best/worst are null when no trade of the hour is closed with a profit_loss.
 */
export const botHourSchema = z.object({
  t: iso,
  trades: num,
  open: num,
  closed: num,
  won: num,
  lost: num,
  pnl: num,
  best: num.nullable(),
  worst: num.nullable(),
  duration_seconds: num,
  duration_trades: num,
});

/**
 * The section: the all-time answer, plus the hourly figures of the last BOT_MAX_DAYS days from which
 * the API answers `days` without a query. The socket carries the all-time object only (socketData).
 */
export const botPerformanceSectionSchema = botPerformanceSchema.extend({ hours: z.array(botHourSchema) });

export const botPositionSchema = z.object({
  trade_id: num,
  user: z.string(),
  symbol: z.string(),
  direction: z.string(),
  market_type: z.string(),
  entry_price: num.nullable(),
  entry_time: iso.nullable(),
  position_size: num.nullable(),
  stop_loss: num.nullable(),
  take_profit: num.nullable(),
  leverage: num.nullable(),
  risk_reward_ratio: num,
  current_price: num.nullable(),
  current_value: num.nullable(),
  unrealized_pnl: num,
  unrealized_pnl_pct: num,
  price_change: num,
  price_change_pct: num,
  has_real_time_price: z.boolean(),
});

export const botOpenPositionsSchema = z.object({
  total_investment: num,
  total_current_value: num,
  total_unrealized_pnl: num,
  total_unrealized_pnl_pct: num,
  total_open_trades: num,
  positions: z.array(botPositionSchema),
});

export const botSummarySchema = z.object({
  performance: botPerformanceSchema,
  open_trades_count: num,
  recent_closed_trades: z.array(botTradeSchema),
  bot_total_pnl: num,
  bot_win_rate: num,
  bot_total_trades: num,
  bot_realized_pnl: num,
  bot_unrealized_pnl: num,
});

export const botTradeListSchema = z.object({ count: num, trades: z.array(botTradeSchema) });

export type BotTrade = z.infer<typeof botTradeSchema>;
export type BotPerformance = z.infer<typeof botPerformanceSchema>;
export type BotHour = z.infer<typeof botHourSchema>;
export type BotPerformanceSection = z.infer<typeof botPerformanceSectionSchema>;
export type BotPosition = z.infer<typeof botPositionSchema>;
export type BotOpenPositions = z.infer<typeof botOpenPositionsSchema>;
export type BotSummary = z.infer<typeof botSummarySchema>;

/** The all-time performance object of a bot_performance section, without its hourly figures. */
export function allTimePerformance(section: BotPerformanceSection): BotPerformance {
  const { hours: _hours, ...performance } = section;
  return performance;
}

/**
 * Sums of amounts that have 8 decimal places (the bot's numeric(20,8) columns) are exact at 8 places:
 * rounding there drops only the doubles' noise (0.1 + 0.2), never a digit of the data.
 */
export function amount8(value: number): number {
  const rounded = Number(value.toFixed(8));
  return Number.isFinite(rounded) && rounded !== 0 ? rounded : 0;
}

/**
 * Performance over the system trades created from `fromMs` on (the start of an hour), summed from the
 * hourly figures; `unrealized` is over all open system trades whatever the window (SPEC §11).
 */
export function performanceFromHours(hours: readonly BotHour[], fromMs: number, unrealized: number): BotPerformance {
  const inside = hours.filter((hour) => Date.parse(hour.t) >= fromMs);
  return performanceOf(
    addTotals(
      inside.map((h) => ({
        trades: h.trades,
        open: h.open,
        closed: h.closed,
        won: h.won,
        lost: h.lost,
        pnl: h.pnl,
        best: h.best,
        worst: h.worst,
        durationSeconds: h.duration_seconds,
        durationTrades: h.duration_trades,
      })),
    ),
    unrealized,
  );
}

export interface BotTotals {
  trades: number;
  open: number;
  closed: number;
  won: number;
  lost: number;
  pnl: number;
  best: number | null;
  worst: number | null;
  durationSeconds: number;
  durationTrades: number;
}

/** The origin's performance object from counts and sums; every field a number (0 when nothing is closed). */
export function performanceOf(t: BotTotals, unrealized: number): BotPerformance {
  return {
    total_trades: t.trades,
    open_trades: t.open,
    win_rate: t.closed ? (t.won / t.closed) * 100 : 0,
    total_profit_loss: t.pnl,
    avg_profit_loss: t.closed ? t.pnl / t.closed : 0,
    best_trade: t.best ?? 0,
    worst_trade: t.worst ?? 0,
    avg_duration_hours: t.durationTrades ? t.durationSeconds / t.durationTrades / 3600 : 0,
    profitable_trades: t.won,
    losing_trades: t.lost,
    unrealized_pnl: unrealized,
    total_pnl: amount8(t.pnl + unrealized),
  };
}

/** Totals of several groups as one: counts and sums add (money exact at 8 places), best/worst by max/min. */
export function addTotals(parts: readonly BotTotals[]): BotTotals {
  const total: BotTotals = {
    trades: 0,
    open: 0,
    closed: 0,
    won: 0,
    lost: 0,
    pnl: 0,
    best: null,
    worst: null,
    durationSeconds: 0,
    durationTrades: 0,
  };
  for (const t of parts) {
    total.trades += t.trades;
    total.open += t.open;
    total.closed += t.closed;
    total.won += t.won;
    total.lost += t.lost;
    total.pnl += t.pnl;
    if (t.best !== null && (total.best === null || t.best > total.best)) total.best = t.best;
    if (t.worst !== null && (total.worst === null || t.worst < total.worst)) total.worst = t.worst;
    total.durationSeconds += t.durationSeconds;
    total.durationTrades += t.durationTrades;
  }
  total.pnl = amount8(total.pnl);
  return total;
}

import { z } from 'zod';
import { botOpenPositionsSchema, botPerformanceSectionSchema, botSummarySchema, botTradeSchema } from './bot.ts';
import type { SectionName } from './sections.ts';

/**
 * Each section's data schema (SPEC §3), keyed by the name it is declared under in sections.ts: the
 * compiler checks that every declared section has exactly one (`satisfies` below). Kept apart from the
 * declarations only because those are zod-free for the page's bundle; catalog.ts joins the two.
 * The worker checks its output against these; the API's v2 schema and OpenAPI document derive from them.
 */

const num = z.number();
const iso = z.string().describe('ISO-8601 UTC timestamp');
const isoOrNull = iso.nullable();

export const overviewSchema = z.object({
  total_accounts: num,
  active_accounts: num,
  total_balance: num,
  total_equity: num,
  total_pnl: num,
  total_trades: num,
  avg_win_rate: num,
  win_rate: num,
});

export const directionSchema = z.enum(['LONG', 'SHORT']);

export const openPositionSchema = z.object({
  trade_id: num,
  user_id: num.nullable(),
  username: z.string().nullable(),
  symbol: z.string(),
  direction: z.string(),
  market_type: z.string(),
  entry_price: num.nullable(),
  entry_time: isoOrNull,
  position_size: num.nullable(),
  quantity: num.nullable(),
  stop_loss: num.nullable(),
  take_profit: num.nullable(),
  leverage: num.nullable(),
  current_price: num.nullable(),
  unrealized_pnl: num,
  unrealized_pnl_pct: num,
  price_change: num.nullable(),
  price_change_pct: num.nullable(),
  has_real_time_price: z.boolean(),
});

export const recentTradeSchema = z.object({
  trade_id: num,
  user_id: num.nullable(),
  symbol: z.string(),
  direction: z.string(),
  market_type: z.string(),
  entry_price: num.nullable(),
  exit_price: num.nullable(),
  profit_loss: num.nullable(),
  profit_loss_percentage: num.nullable(),
  status: z.string(),
  entry_time: isoOrNull,
  exit_time: isoOrNull,
});

export const performanceMetricsSchema = z.object({
  total_closed_trades: num,
  profitable_trades: num,
  losing_trades: num,
  total_profit: num,
  total_loss: num,
  avg_profit: num,
  avg_loss: num,
  win_rate: num,
  best_trade: num.nullable(),
  worst_trade: num.nullable(),
  avg_duration_hours: num.nullable(),
  profit_factor: num.nullable(),
  max_drawdown: num,
});

export const topPerformerSchema = z.object({
  user_id: num,
  username: z.string(),
  balance: num,
  equity: num,
  total_pnl: num,
  win_rate: num,
  total_trades: num,
});

const windowStatsSchema = z.object({ total_trades: num, open_trades: num, closed_trades: num });

export const tradingStatsSchema = z.object({
  today: windowStatsSchema,
  this_week: windowStatsSchema,
  all_time: windowStatsSchema,
});

export const liteSchema = z.object({
  total_pnl: num,
  win_rate: num,
  active_trades: num,
  daily_pnl: num,
});

export const pnlPointSchema = z.object({ t: iso, pnl: num });

export const sectionDataSchemas = {
  overview: overviewSchema,
  open_positions: z.array(openPositionSchema),
  recent_trades: z.array(recentTradeSchema),
  performance_metrics: performanceMetricsSchema,
  top_performers: z.array(topPerformerSchema),
  trading_stats: tradingStatsSchema,
  lite: liteSchema,
  pnl_history: z.array(pnlPointSchema),
  bot_trades: z.array(botTradeSchema),
  bot_performance: botPerformanceSectionSchema,
  bot_open_positions: botOpenPositionsSchema,
  bot_summary: botSummarySchema,
} as const satisfies Record<SectionName, z.ZodType>;

export type SectionData = { [K in SectionName]: z.infer<(typeof sectionDataSchemas)[K]> };
export type Overview = SectionData['overview'];
export type OpenPosition = z.infer<typeof openPositionSchema>;
export type RecentTrade = z.infer<typeof recentTradeSchema>;
export type PerformanceMetrics = SectionData['performance_metrics'];
export type TopPerformer = z.infer<typeof topPerformerSchema>;
export type TradingStats = SectionData['trading_stats'];
export type Lite = SectionData['lite'];
export type PnlPoint = z.infer<typeof pnlPointSchema>;

import type { SectionData, SectionName } from '@snapboard/shared';
import { botOpenPositions } from './bot_open_positions.ts';
import { botPerformance } from './bot_performance.ts';
import { botSummary } from './bot_summary.ts';
import { botTrades } from './bot_trades.ts';
import { lite } from './lite.ts';
import { openPositions } from './open_positions.ts';
import { overview } from './overview.ts';
import { performanceMetrics } from './performance_metrics.ts';
import { pnlHistory } from './pnl_history.ts';
import { recentTrades } from './recent_trades.ts';
import { topPerformers } from './top_performers.ts';
import { tradingStats } from './trading_stats.ts';
import type { SectionComputer, SectionContext } from './types.ts';

export type { SectionComputer, SectionContext } from './types.ts';

/** The worker's half of the section catalog: shared's SECTIONS says what, this says how. */
export const SECTION_COMPUTERS: { readonly [K in SectionName]: SectionComputer<K> } = {
  overview,
  open_positions: openPositions,
  recent_trades: recentTrades,
  performance_metrics: performanceMetrics,
  top_performers: topPerformers,
  trading_stats: tradingStats,
  lite,
  pnl_history: pnlHistory,
  bot_trades: botTrades,
  bot_performance: botPerformance,
  bot_open_positions: botOpenPositions,
  bot_summary: botSummary,
};

export function computeSection<K extends SectionName>(section: K, ctx: SectionContext): Promise<SectionData[K]> {
  return SECTION_COMPUTERS[section].compute(ctx);
}

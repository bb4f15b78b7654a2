import type { Catalog, SectionData, SectionName } from '@snapboard/shared';
import { botOpenPositions } from './bot_open_positions.ts';
import { botPerformance } from './bot_performance.ts';
import { botRead } from './bot_read.ts';
import { botSummary } from './bot_summary.ts';
import { botTrades } from './bot_trades.ts';
import { sharedHistory } from './history.ts';
import { lite, part as litePart } from './lite.ts';
import { openPositions } from './open_positions.ts';
import { overview } from './overview.ts';
import { performanceMetrics, part as performancePart } from './performance_metrics.ts';
import { pnlHistory, part as pnlPart } from './pnl_history.ts';
import { recentTrades } from './recent_trades.ts';
import { topPerformers } from './top_performers.ts';
import { tradingStats } from './trading_stats.ts';
import type { SectionComputer, SectionContext, SharedRead } from './types.ts';

export type { SectionComputer, SectionContext, SharedRead } from './types.ts';

/**
 * The worker's half of the section catalog: shared's declarations say what, this says how. The
 * mapped type makes a declared section without a computation (or a computation of the wrong data
 * type) a compile error.
 */
export type SectionComputations = { readonly [K in SectionName]: SectionComputer<K> };

/**
 * A section's computation as the set computer runs it: whatever it returns is checked against the
 * section's schema before it is published (changeset.ts), which is what types a section the product's
 * `SectionName` does not know (a test's).
 */
export interface Computation {
  compute(ctx: SectionContext): Promise<unknown>;
  reprice?(last: never, ctx: Pick<SectionContext, 'prices' | 'now'>): Promise<unknown>;
  /** See SectionComputer.systemTradesOnly. */
  systemTradesOnly?: true;
  /** See SectionComputer.shared. */
  shared?: SharedRead;
  /** See SectionComputer.reusesItems. */
  reusesItems?: true;
}

/** A registry for a catalog that may hold sections beyond the product's (tests): checked at start. */
export type ComputationRegistry = Readonly<Record<string, Computation>>;

/**
 * The sections over the closed-trades rollup: one pass over it when a set holds several of them.
 * trading_stats reads the other rollup alone, so it stays a query of its own, on another lane.
 */
const closedHistory = sharedHistory({
  performance_metrics: performancePart,
  lite: litePart,
  pnl_history: pnlPart,
});

export const SECTION_COMPUTERS: SectionComputations = {
  overview,
  open_positions: openPositions,
  recent_trades: recentTrades,
  performance_metrics: { ...performanceMetrics, shared: closedHistory },
  top_performers: topPerformers,
  trading_stats: tradingStats,
  lite: { ...lite, shared: closedHistory },
  pnl_history: { ...pnlHistory, shared: closedHistory },
  bot_trades: { ...botTrades, reusesItems: true },
  bot_performance: { ...botPerformance, shared: botRead, reusesItems: true },
  bot_open_positions: { ...botOpenPositions, shared: botRead },
  bot_summary: { ...botSummary, shared: botRead },
};

/** `computations` for every section of `catalog`, or an error naming those without one. */
export function computationsFor(
  catalog: Pick<Catalog, 'names'>,
  computations: ComputationRegistry,
): (section: SectionName) => Computation {
  const missing = catalog.names.filter((name) => !Object.hasOwn(computations, name));
  if (missing.length)
    throw new TypeError(`no computation for section${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`);
  return (section) => computations[section] as Computation;
}

export function computeSection<K extends SectionName>(section: K, ctx: SectionContext): Promise<SectionData[K]> {
  return SECTION_COMPUTERS[section].compute(ctx);
}

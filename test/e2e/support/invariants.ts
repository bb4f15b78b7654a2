/**
 * Change-set consistency (SPEC §10): invariants that hold in every consistent dashboard state and
 * break in one mixed from two sets. Used by test/e2e/consistency.test.ts and the bench's consistency
 * row. They need the dataset's open trades under open_positions' cap (100), so the list is exact.
 */

export const WATCHED = ['open_positions', 'trading_stats', 'lite', 'performance_metrics', 'pnl_history'] as const;

export type State = Partial<Record<(typeof WATCHED)[number], unknown>>;

interface Stats {
  all_time: { open_trades: number; closed_trades: number };
}
interface Perf {
  total_closed_trades: number;
  total_profit: number;
  total_loss: number;
}

/**
 * Why a state is mixed, or undefined when every invariant it can check holds: open trades counted by
 * trading_stats, lite and open_positions; closed trades by trading_stats and performance_metrics;
 * performance_metrics' total P&L and the last point of pnl_history.
 */
export function mixed(state: State): string | undefined {
  const stats = state.trading_stats as Stats | undefined;
  const positions = state.open_positions as unknown[] | undefined;
  const lite = state.lite as { active_trades: number } | undefined;
  const perf = state.performance_metrics as Perf | undefined;
  const pnl = state.pnl_history as Array<{ pnl: number }> | undefined;
  if (stats && positions && positions.length !== stats.all_time.open_trades) {
    return `open_positions ${positions.length} vs trading_stats ${stats.all_time.open_trades}`;
  }
  if (stats && lite && lite.active_trades !== stats.all_time.open_trades) {
    return `lite ${lite.active_trades} vs trading_stats ${stats.all_time.open_trades}`;
  }
  if (stats && perf && perf.total_closed_trades !== stats.all_time.closed_trades) {
    return `performance_metrics ${perf.total_closed_trades} vs trading_stats ${stats.all_time.closed_trades}`;
  }
  const last = pnl?.at(-1)?.pnl;
  if (perf && last !== undefined && Math.abs(perf.total_profit + perf.total_loss - last) > 1e-6) {
    return `performance_metrics P&L ${perf.total_profit + perf.total_loss} vs pnl_history ${last}`;
  }
  return undefined;
}

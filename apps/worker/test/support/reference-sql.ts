/**
 * The SQL of the four sections over all history as it was before they were read together
 * (docs/decisions/0018-one-pass-over-the-rollups.md), each read on its own: the reference the shared
 * read must equal byte for byte (history.test.ts). Kept verbatim; never used by the worker.
 */

export const PERFORMANCE_METRICS_SQL = `
  WITH chained AS (
    SELECT *,
           coalesce(sum(pnl) OVER prior, 0) AS before,
           greatest(0, coalesce(max(pnl_at_peak) OVER prior, 0)) AS peak_before
    FROM (
      SELECT *, coalesce(sum(pnl) OVER upto, 0) - pnl + peak AS pnl_at_peak
      FROM snapboard_closed_hours_current()
      WINDOW upto AS (ORDER BY hour ROWS UNBOUNDED PRECEDING)
    ) h
    WINDOW prior AS (ORDER BY hour ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
  )
  SELECT coalesce(sum(trades), 0) AS total_closed_trades,
         coalesce(sum(wins), 0) AS profitable_trades,
         coalesce(sum(losses), 0) AS losing_trades,
         coalesce(sum(profit), 0) AS total_profit,
         coalesce(sum(loss), 0) AS total_loss,
         max(best) AS best_trade,
         min(worst) AS worst_trade,
         coalesce(sum(duration_seconds), 0) AS duration_seconds,
         coalesce(sum(duration_trades), 0) AS duration_trades,
         coalesce(max(greatest(drawdown, peak_before - (before + trough))), 0) AS max_drawdown
  FROM chained`;

export const PNL_HISTORY_SQL = `
  WITH base AS (
    SELECT coalesce(sum(pnl), 0) AS pnl FROM snapboard_closed_hours_current() WHERE hour < $1::timestamptz
  )
  SELECT h.hour, base.pnl + sum(h.pnl) OVER (ORDER BY h.hour) AS cumulative, base.pnl AS base
  FROM base
  LEFT JOIN snapboard_closed_hours_current() h ON h.hour >= $1::timestamptz AND h.hour <= $2::timestamptz
  ORDER BY h.hour`;

export const TRADING_STATS_SQL = `
  SELECT 'all_time' AS window, sum(trades) AS total, sum(open_trades) AS open, sum(closed_trades) AS closed
  FROM snapboard_created_hours_current()
  UNION ALL
  SELECT 'today', sum(trades), sum(open_trades), sum(closed_trades)
  FROM snapboard_created_hours_current() WHERE hour >= $2::timestamptz
  UNION ALL
  SELECT 'today', count(*), count(*) FILTER (WHERE status = 'OPEN'), count(*) FILTER (WHERE status LIKE 'CLOSED%')
  FROM paper_trades WHERE created_at >= $1::timestamptz AND created_at < $2::timestamptz
  UNION ALL
  SELECT 'this_week', sum(trades), sum(open_trades), sum(closed_trades)
  FROM snapboard_created_hours_current() WHERE hour >= $4::timestamptz
  UNION ALL
  SELECT 'this_week', count(*), count(*) FILTER (WHERE status = 'OPEN'), count(*) FILTER (WHERE status LIKE 'CLOSED%')
  FROM paper_trades WHERE created_at >= $3::timestamptz AND created_at < $4::timestamptz`;

export const LITE_SQL = `
  SELECT a.total_pnl, a.win_rate, o.active_trades, coalesce(h.pnl, 0) + coalesce(p.pnl, 0) AS daily_pnl
  FROM (SELECT coalesce(sum(total_pnl), 0) AS total_pnl, coalesce(avg(win_rate), 0) AS win_rate
        FROM signals_paperaccount) a,
       (SELECT count(*) AS active_trades FROM paper_trades WHERE status = 'OPEN') o,
       (SELECT sum(pnl) AS pnl FROM snapboard_closed_hours_current() WHERE hour >= $2::timestamptz AND isfinite(hour)) h,
       (SELECT sum(profit_loss) AS pnl FROM paper_trades
        WHERE status LIKE 'CLOSED%'
          AND ((exit_time >= $1::timestamptz AND exit_time < $2::timestamptz) OR exit_time = 'infinity')) p`;

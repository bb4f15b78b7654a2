import type { BotOpenPositions, BotPerformance, BotTrade } from '@snapboard/shared';
import type pg from 'pg';

/**
 * SPEC §11 written out in plain SQL, field by field, straight over the bot's tables: what the four
 * bot_* sections and the `days` windows must say. It shares no code and no query with the worker:
 * formatting is to_char, rounding is numeric round(), and every figure is its own aggregate.
 */

const ISO = `'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'`;
const PLAIN = `'YYYY-MM-DD HH24:MI:SS'`;
/** to_char's pattern for a grouped amount at `dp` places (',' and '.' are literal here, not locale). */
const grouped = (dp: number) => `'FM999,999,999,999,999,990.${'0'.repeat(dp)}'`;

const money = (column: string, dp: number) =>
  `CASE WHEN ${column} IS NULL THEN NULL
        ELSE CASE WHEN ${column} < 0 THEN '-' ELSE '' END || '$' || to_char(abs(round(${column}, ${dp})), ${grouped(dp)}) END`;

const ratio = (t: string) => `
  CASE WHEN ${t}direction = 'LONG' AND ${t}entry_price - ${t}stop_loss > 0
         THEN round((${t}take_profit - ${t}entry_price) / (${t}entry_price - ${t}stop_loss), 2)
       WHEN ${t}direction = 'SHORT' AND ${t}stop_loss - ${t}entry_price > 0
         THEN round((${t}entry_price - ${t}take_profit) / (${t}stop_loss - ${t}entry_price), 2)
       ELSE 0 END::float8`;

const TRADE = `
  SELECT t.id::float8 AS id, t.signal_id::float8 AS signal_id, s.direction AS signal_direction,
         s.timeframe AS signal_timeframe, s.confidence AS signal_confidence, t.symbol, t.direction, t.market_type,
         t.entry_price::text AS entry_price, ${money('t.entry_price', 4)} AS entry_price_formatted,
         to_char(t.entry_time AT TIME ZONE 'UTC', ${ISO}) AS entry_time,
         t.position_size::text AS position_size, t.quantity::text AS quantity, t.stop_loss::text AS stop_loss,
         t.take_profit::text AS take_profit, t.exit_price::text AS exit_price,
         ${money('t.exit_price', 4)} AS exit_price_formatted,
         to_char(t.exit_time AT TIME ZONE 'UTC', ${ISO}) AS exit_time,
         t.profit_loss::text AS profit_loss,
         CASE WHEN t.profit_loss IS NULL THEN NULL
              ELSE CASE WHEN t.profit_loss < 0 THEN '-' ELSE '+' END || '$' ||
                   to_char(abs(round(t.profit_loss, 2)), ${grouped(2)}) END AS profit_loss_formatted,
         t.profit_loss_percentage::text AS profit_loss_percentage, t.leverage, t.status,
         to_char(t.created_at AT TIME ZONE 'UTC', ${PLAIN}) AS created_at,
         to_char(t.updated_at AT TIME ZONE 'UTC', ${PLAIN}) AS updated_at,
         (extract(epoch FROM t.exit_time - t.entry_time) / 3600)::float8 AS duration_hours,
         ${ratio('t.')} AS risk_reward_ratio,
         t.status IN ('OPEN', 'PENDING') AS is_open, t.status LIKE 'CLOSED%' AS is_closed,
         coalesce(t.profit_loss > 0, false) AS is_profitable,
         t.profit_loss::text AS realized_pnl, t.profit_loss_percentage::text AS profit_loss_pct
  FROM paper_trades t LEFT JOIN signals s ON s.id = t.signal_id`;

export async function oracleBotTrades(db: pg.Pool): Promise<BotTrade[]> {
  const { rows } = await db.query<BotTrade>(
    `${TRADE} WHERE t.user_id IS NULL ORDER BY t.created_at DESC NULLS LAST, t.id DESC LIMIT 500`,
  );
  return rows;
}

export async function oracleRecentClosed(db: pg.Pool): Promise<BotTrade[]> {
  const { rows } = await db.query<BotTrade>(
    `${TRADE} WHERE t.user_id IS NULL AND t.status LIKE 'CLOSED%'
     ORDER BY t.exit_time DESC NULLS LAST, t.id DESC LIMIT 10`,
  );
  return rows;
}

/** Prices as a VALUES list: symbols missing from it have no price. */
function pricesTable(prices: Record<string, number>): string {
  const entries = Object.entries(prices);
  if (!entries.length) return `(SELECT NULL::text AS symbol, NULL::numeric AS price WHERE false)`;
  return `(VALUES ${entries.map(([s, p]) => `('${s}', ${p}::numeric)`).join(', ')}) AS q(symbol, price)`;
}

export async function oracleBotOpenPositions(db: pg.Pool, prices: Record<string, number>): Promise<BotOpenPositions> {
  const { rows } = await db.query(
    `WITH priced AS (
       SELECT t.*, CASE WHEN q.price > 0 THEN q.price END AS p,
              CASE t.direction WHEN 'LONG' THEN 1 WHEN 'SHORT' THEN -1 ELSE 0 END AS side,
              CASE WHEN t.market_type = 'FUTURES' AND t.leverage > 0 THEN t.leverage ELSE 1 END AS lev
       FROM paper_trades t LEFT JOIN ${pricesTable(prices)} ON q.symbol = t.symbol
       WHERE t.status = 'OPEN' AND t.user_id IS NULL
     ), pnl AS (
       SELECT *, coalesce(round((p - entry_price) * coalesce(quantity, 0) * side * lev, 8), 0) AS u
       FROM priced
     ), pct AS (
       SELECT *, CASE WHEN p IS NULL OR coalesce(position_size, 0) = 0 THEN 0 ELSE round(u / position_size * 100, 4) END AS u_pct
       FROM pnl
     )
     SELECT id::float8 AS trade_id, 'System' AS "user", symbol, direction, market_type,
            entry_price::float8 AS entry_price, to_char(entry_time AT TIME ZONE 'UTC', ${ISO}) AS entry_time,
            position_size::float8 AS position_size, stop_loss::float8 AS stop_loss,
            take_profit::float8 AS take_profit, leverage, ${ratio('')} AS risk_reward_ratio,
            p::float8 AS current_price,
            CASE WHEN p IS NULL THEN position_size ELSE round(position_size * (1 + u_pct / 100), 2) END::float8 AS current_value,
            u::float8 AS unrealized_pnl, u_pct::float8 AS unrealized_pnl_pct,
            coalesce(round(p - entry_price, 8), 0)::float8 AS price_change,
            coalesce(CASE WHEN entry_price <> 0 THEN round(round(p - entry_price, 8) / entry_price * 100, 2) END, 0)::float8
              AS price_change_pct,
            p IS NOT NULL AS has_real_time_price
     FROM pct
     ORDER BY created_at DESC NULLS LAST, id DESC`,
  );
  const positions = rows as BotOpenPositions['positions'];
  const totals = await db.query(
    `SELECT coalesce(sum(position_size), 0)::float8 AS investment, count(*)::float8 AS n
     FROM paper_trades WHERE status = 'OPEN' AND user_id IS NULL`,
  );
  const investment = Number(totals.rows[0].investment);
  const unrealized = positions.reduce((a, p) => a + p.unrealized_pnl, 0);
  return {
    total_investment: investment,
    total_current_value: positions.reduce((a, p) => a + (p.current_value ?? 0), 0),
    total_unrealized_pnl: unrealized,
    total_unrealized_pnl_pct: investment ? (unrealized / investment) * 100 : 0,
    total_open_trades: Number(totals.rows[0].n),
    positions,
  };
}

/**
 * Performance over system trades created from `$1` (null: all, trades without created_at too), and
 * the unrealized P&L of every open system trade whatever the window.
 */
export async function oracleBotPerformance(
  db: pg.Pool,
  prices: Record<string, number>,
  from: Date | null,
): Promise<BotPerformance> {
  const { rows } = await db.query(
    `WITH w AS (
       SELECT * FROM paper_trades
       WHERE user_id IS NULL AND ($1::timestamptz IS NULL OR created_at >= $1::timestamptz)
     ), c AS (SELECT * FROM w WHERE status LIKE 'CLOSED%')
     SELECT (SELECT count(*) FROM w)::float8 AS total_trades,
            (SELECT count(*) FROM w WHERE status = 'OPEN')::float8 AS open_trades,
            (SELECT count(*) FROM c)::float8 AS closed,
            (SELECT count(*) FROM c WHERE profit_loss > 0)::float8 AS won,
            (SELECT count(*) FROM c WHERE profit_loss < 0)::float8 AS lost,
            (SELECT coalesce(sum(profit_loss), 0) FROM c)::float8 AS pnl,
            (SELECT coalesce(max(profit_loss), 0) FROM c)::float8 AS best,
            (SELECT coalesce(min(profit_loss), 0) FROM c)::float8 AS worst,
            (SELECT coalesce(avg(extract(epoch FROM exit_time - entry_time) / 3600), 0) FROM c
              WHERE exit_time IS NOT NULL AND entry_time IS NOT NULL)::float8 AS avg_hours`,
    [from?.toISOString() ?? null],
  );
  const r = rows[0] as Record<string, number>;
  const unrealized = (await oracleBotOpenPositions(db, prices)).total_unrealized_pnl;
  const closed = r.closed as number;
  return {
    total_trades: r.total_trades as number,
    open_trades: r.open_trades as number,
    win_rate: closed ? ((r.won as number) / closed) * 100 : 0,
    total_profit_loss: r.pnl as number,
    avg_profit_loss: closed ? (r.pnl as number) / closed : 0,
    best_trade: r.best as number,
    worst_trade: r.worst as number,
    avg_duration_hours: r.avg_hours as number,
    profitable_trades: r.won as number,
    losing_trades: r.lost as number,
    unrealized_pnl: unrealized,
    total_pnl: (r.pnl as number) + unrealized,
  };
}

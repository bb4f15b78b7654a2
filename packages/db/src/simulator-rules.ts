import { simulatedPrice } from '@snapboard/shared';
import type pg from 'pg';

/**
 * How the trading bot trades (SPEC §2), shared by the demo seed (which replays it over past days) and
 * the live trade simulator. Money is kept as integer units of 1e-8 (numeric(20,8)) in BigInt, so every
 * figure written agrees to the last digit with the same formula evaluated by PostgreSQL's numeric.
 */

export type Direction = 'LONG' | 'SHORT';
export type MarketType = 'SPOT' | 'FUTURES';
export type TradeStatus = 'PENDING' | 'OPEN' | 'CLOSED_TP' | 'CLOSED_SL' | 'CLOSED_MANUAL' | 'CANCELLED';

export const TRADE_STATUSES: readonly TradeStatus[] = [
  'PENDING',
  'OPEN',
  'CLOSED_TP',
  'CLOSED_SL',
  'CLOSED_MANUAL',
  'CANCELLED',
];

/** The market each demo symbol is listed on when snapboard creates the symbols table's rows. */
export const DEMO_FUTURES = new Set([
  'BTCUSDT',
  'ETHUSDT',
  'SOLUSDT',
  'BNBUSDT',
  'DOGEUSDT',
  'AVAXUSDT',
  'LINKUSDT',
  'ARBUSDT',
  'OPUSDT',
  'INJUSDT',
]);

export const LEVERAGES = [2, 3, 5, 10, 20] as const;

const UNIT = 100_000_000n;

/** Half away from zero, as PostgreSQL's round(numeric) does. */
export function divRound(numerator: bigint, denominator: bigint): bigint {
  const negative = numerator < 0n !== denominator < 0n;
  const n = numerator < 0n ? -numerator : numerator;
  const d = denominator < 0n ? -denominator : denominator;
  let q = n / d;
  if ((n % d) * 2n >= d) q += 1n;
  return negative ? -q : q;
}

/** The demo market's price as integer units of 1e-8 (simulatedPrice is already rounded to 8 dp). */
export function priceUnits(symbol: string, atMs: number): bigint {
  return BigInt(Math.round(simulatedPrice(symbol, atMs) * 1e8));
}

/** "123.45" / "-0.5" / "42" → units of 1e-8 (more than 8 decimals are cut, never produced by numeric(20,8)). */
export function parseUnits(value: string): bigint {
  const trimmed = value.trim();
  const negative = trimmed.startsWith('-');
  const [int = '0', frac = ''] = (negative ? trimmed.slice(1) : trimmed).split('.');
  const units = BigInt(int || '0') * UNIT + BigInt((frac + '00000000').slice(0, 8));
  return negative ? -units : units;
}

/** Units of 10^-scale → a decimal string PostgreSQL reads exactly. */
export function formatUnits(units: bigint, scale = 8): string {
  const negative = units < 0n;
  const digits = (negative ? -units : units).toString().padStart(scale + 1, '0');
  const text = `${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
  return negative ? `-${text}` : text;
}

/** quantity = position_size ÷ entry_price, 8 dp. */
export function quantityFor(positionSize: bigint, entryPrice: bigint): bigint {
  return divRound(positionSize * UNIT, entryPrice);
}

/** Leverage multiplies P&L only for FUTURES trades that have one. */
export function effectiveLeverage(marketType: string, leverage: number | null): bigint {
  return marketType === 'FUTURES' && leverage !== null ? BigInt(leverage) : 1n;
}

export interface PnlInput {
  direction: Direction;
  marketType: string;
  leverage: number | null;
  entryPrice: bigint;
  quantity: bigint;
  positionSize: bigint;
}

/** profit_loss (8 dp units) and profit_loss_percentage (4 dp units) of a close at `exitPrice`. */
export function tradePnl(trade: PnlInput, exitPrice: bigint): { profitLoss: bigint; percentage: bigint } {
  const move = trade.direction === 'LONG' ? exitPrice - trade.entryPrice : trade.entryPrice - exitPrice;
  const profitLoss = divRound(move * trade.quantity * effectiveLeverage(trade.marketType, trade.leverage), UNIT);
  const percentage = trade.positionSize === 0n ? 0n : divRound(profitLoss * 1_000_000n, trade.positionSize);
  return { profitLoss, percentage };
}

export interface Levels {
  direction: Direction;
  stopLoss: bigint | null;
  takeProfit: bigint | null;
}

/** One price check: the stop-loss is tested before the take-profit, as the bot does. */
export function exitFor(trade: Levels, price: bigint): 'CLOSED_SL' | 'CLOSED_TP' | null {
  const { direction, stopLoss, takeProfit } = trade;
  if (stopLoss !== null && (direction === 'LONG' ? price <= stopLoss : price >= stopLoss)) return 'CLOSED_SL';
  if (takeProfit !== null && (direction === 'LONG' ? price >= takeProfit : price <= takeProfit)) return 'CLOSED_TP';
  return null;
}

/** Stop-loss and take-profit at relative distances from the entry, on the sides the direction needs. */
export function levelsFor(
  direction: Direction,
  entryPrice: bigint,
  stopDistance: number,
  targetDistance: number,
): { stopLoss: bigint; takeProfit: bigint } {
  const scale = 1_000_000;
  const away = (fraction: number) => divRound(entryPrice * BigInt(Math.round(fraction * scale)), BigInt(scale));
  const sign = direction === 'LONG' ? 1n : -1n;
  return {
    stopLoss: entryPrice - sign * away(stopDistance),
    takeProfit: entryPrice + sign * away(targetDistance),
  };
}

/**
 * The bot's update_metrics for many users in one statement: figures over each user's closed trades,
 * unrealized P&L of their OPEN trades at the given prices (each trade rounded to 8 dp like the
 * open_positions section, the sum to the column's 2 dp). Users without an account are ignored.
 */
const UPDATE_METRICS_SQL = `
WITH affected AS (SELECT DISTINCT unnest($1::bigint[]) AS user_id),
prices AS (SELECT * FROM unnest($2::text[], $3::numeric[]) AS p (symbol, price)),
closed AS (
  SELECT t.user_id,
         count(*) AS total,
         count(*) FILTER (WHERE t.profit_loss > 0) AS wins,
         count(*) FILTER (WHERE t.profit_loss < 0) AS losses,
         round(coalesce(sum(t.profit_loss), 0), 2) AS realized
  FROM paper_trades t JOIN affected a USING (user_id)
  WHERE t.status LIKE 'CLOSED%'
  GROUP BY t.user_id),
open AS (
  SELECT t.user_id,
         round(coalesce(sum(round(
           (CASE WHEN t.direction = 'SHORT' THEN t.entry_price - p.price ELSE p.price - t.entry_price END)
           * t.quantity
           * CASE WHEN t.market_type = 'FUTURES' AND t.leverage IS NOT NULL THEN t.leverage ELSE 1 END, 8)), 0), 2)
           AS unrealized
  FROM paper_trades t JOIN affected a USING (user_id) JOIN prices p USING (symbol)
  WHERE t.status = 'OPEN'
  GROUP BY t.user_id),
figures AS (
  SELECT a.user_id,
         coalesce(c.total, 0) AS total,
         coalesce(c.wins, 0) AS wins,
         coalesce(c.losses, 0) AS losses,
         coalesce(c.realized, 0) AS realized,
         coalesce(o.unrealized, 0) AS unrealized
  FROM affected a LEFT JOIN closed c USING (user_id) LEFT JOIN open o USING (user_id))
UPDATE signals_paperaccount acc SET
  total_trades = f.total,
  winning_trades = f.wins,
  losing_trades = f.losses,
  win_rate = CASE WHEN f.total > 0 THEN round(f.wins * 100.0 / f.total, 2) ELSE 0 END,
  realized_pnl = f.realized,
  unrealized_pnl = f.unrealized,
  balance = coalesce(acc.initial_balance, 0) + f.realized,
  total_pnl = f.realized + f.unrealized,
  equity = coalesce(acc.initial_balance, 0) + f.realized + f.unrealized,
  updated_at = $4
FROM figures f
WHERE acc.user_id = f.user_id`;

export async function updateMetrics(
  client: pg.ClientBase,
  userIds: readonly (number | string)[],
  prices: ReadonlyMap<string, bigint>,
  atMs: number,
): Promise<number> {
  if (userIds.length === 0) return 0;
  const symbols = [...prices.keys()];
  const result = await client.query(UPDATE_METRICS_SQL, [
    userIds.map(String),
    symbols,
    symbols.map((s) => formatUnits(prices.get(s) as bigint)),
    new Date(atMs),
  ]);
  return result.rowCount ?? 0;
}

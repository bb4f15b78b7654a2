import { amount8, type BotPosition, type BotTotals, type BotTrade } from '@snapboard/shared';
import pg from 'pg';
import { type Numeric, round, toCount, toIso, toNumber, toNumberOr0 } from './convert.ts';
import { type OpenPositionRow, build as priceOpenPositions } from './open_positions.ts';
import type { Queryable, SectionContext } from './types.ts';

/**
 * What the four bot_* sections (SPEC §11) share: the origin's trade serializer, the pricing of the
 * bot's open trades, and its performance totals. Only system trades (user_id IS NULL) count.
 */

// ---- Trade items: the origin's serializer ------------------------------------------------------

/** Columns of a trade item; numeric columns come back as pg's text, which keeps the column's scale. */
export const TRADE_COLUMNS = `
  t.id, t.signal_id, s.direction AS signal_direction, s.timeframe AS signal_timeframe,
  s.confidence AS signal_confidence, t.symbol, t.direction, t.market_type, t.entry_price, t.entry_time,
  t.position_size, t.quantity, t.stop_loss, t.take_profit, t.exit_price, t.exit_time, t.profit_loss,
  t.profit_loss_percentage, t.leverage, t.status, t.created_at, t.updated_at
  FROM paper_trades t
  LEFT JOIN signals s ON s.id = t.signal_id`;

type Time = Date | string | number | null;

export interface BotTradeRow {
  id: Numeric;
  signal_id: Numeric;
  signal_direction: string | null;
  signal_timeframe: string | null;
  signal_confidence: Numeric;
  symbol: string | null;
  direction: string | null;
  market_type: string | null;
  entry_price: Numeric;
  entry_time: Time;
  position_size: Numeric;
  quantity: Numeric;
  stop_loss: Numeric;
  take_profit: Numeric;
  exit_price: Numeric;
  exit_time: Time;
  profit_loss: Numeric;
  profit_loss_percentage: Numeric;
  leverage: Numeric;
  status: string | null;
  created_at: Time;
  updated_at: Time;
}

/** A numeric column as DRF renders it: its decimal text, untouched. */
function decimalText(value: Numeric): string | null {
  if (value === null || value === undefined) return null;
  return typeof value === 'number' ? String(value) : value;
}

const DECIMAL = /^(-?)(\d+)(?:\.(\d*))?$/;

/**
 * `"$1,234.57"` from a decimal text at `dp` places, rounded half away from zero on the exact decimal
 * (no float on the way); the sign as `"-"` or, with `plus`, `"+"` for zero and up. Null for what is
 * not a finite decimal (pg's NaN or Infinity).
 */
export function formatMoney(text: string | null, dp: number, plus = false): string | null {
  const match = text === null ? null : DECIMAL.exec(text.trim());
  if (!match) return null;
  const [, sign = '', whole = '0', fraction = ''] = match;
  let scaled = BigInt(whole + fraction.padEnd(dp, '0').slice(0, dp));
  if ((fraction[dp] ?? '0') >= '5') scaled += 1n;
  const digits = scaled.toString().padStart(dp + 1, '0');
  const integer = digits.slice(0, digits.length - dp).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  const decimals = dp > 0 ? `.${digits.slice(digits.length - dp)}` : '';
  const prefix = sign === '-' ? '-' : plus ? '+' : '';
  return `${prefix}$${integer}${decimals}`;
}

/** `"YYYY-MM-DD HH:MM:SS"` in UTC, as the origin renders created_at and updated_at. */
export function plainTimestamp(value: Time): string | null {
  const iso = toIso(value);
  return iso === null || iso.length !== 24 ? null : `${iso.slice(0, 10)} ${iso.slice(11, 19)}`;
}

function timeMs(value: Time): number | null {
  if (value === null) return null;
  const ms = value instanceof Date ? value.getTime() : new Date(value).getTime();
  return Number.isFinite(ms) ? ms : null;
}

/** LONG (tp − entry) ÷ (entry − sl), SHORT (entry − tp) ÷ (sl − entry), 2 dp; 0 when the risk is not positive. */
export function riskReward(direction: string | null, entry: Numeric, stopLoss: Numeric, takeProfit: Numeric): number {
  const e = toNumber(entry);
  const sl = toNumber(stopLoss);
  const tp = toNumber(takeProfit);
  if (e === null || sl === null || tp === null) return 0;
  let reward: number;
  let risk: number;
  if (direction === 'LONG') {
    reward = tp - e;
    risk = e - sl;
  } else if (direction === 'SHORT') {
    reward = e - tp;
    risk = sl - e;
  } else {
    return 0;
  }
  return risk > 0 ? round(reward / risk, 2) : 0;
}

export function buildTrade(row: BotTradeRow): BotTrade {
  const status = row.status ?? '';
  const entryPrice = decimalText(row.entry_price);
  const exitPrice = decimalText(row.exit_price);
  const profitLoss = decimalText(row.profit_loss);
  const percentage = decimalText(row.profit_loss_percentage);
  const entryMs = timeMs(row.entry_time);
  const exitMs = timeMs(row.exit_time);
  const pl = toNumber(row.profit_loss);
  return {
    id: toNumber(row.id) ?? 0,
    signal_id: toNumber(row.signal_id),
    signal_direction: row.signal_direction ?? null,
    signal_timeframe: row.signal_timeframe ?? null,
    signal_confidence: toNumber(row.signal_confidence),
    symbol: row.symbol ?? '',
    direction: row.direction ?? '',
    market_type: row.market_type ?? '',
    entry_price: entryPrice,
    entry_price_formatted: formatMoney(entryPrice, 4),
    entry_time: toIso(row.entry_time),
    position_size: decimalText(row.position_size),
    quantity: decimalText(row.quantity),
    stop_loss: decimalText(row.stop_loss),
    take_profit: decimalText(row.take_profit),
    exit_price: exitPrice,
    exit_price_formatted: formatMoney(exitPrice, 4),
    exit_time: toIso(row.exit_time),
    profit_loss: profitLoss,
    profit_loss_formatted: formatMoney(profitLoss, 2, true),
    profit_loss_percentage: percentage,
    leverage: toNumber(row.leverage),
    status,
    created_at: plainTimestamp(row.created_at),
    updated_at: plainTimestamp(row.updated_at),
    duration_hours: entryMs !== null && exitMs !== null ? (exitMs - entryMs) / 3_600_000 : null,
    risk_reward_ratio: riskReward(row.direction, row.entry_price, row.stop_loss, row.take_profit),
    is_open: status === 'PENDING' || status === 'OPEN',
    is_closed: status.startsWith('CLOSED'),
    is_profitable: pl !== null && pl > 0,
    realized_pnl: profitLoss,
    profit_loss_pct: percentage,
  };
}

// ---- Rows built once --------------------------------------------------------------------------

// Every column as pg's text: what a row is compared by, before anything is parsed.
const AS_TEXT = { getTypeParser: () => (value: string) => value };

/**
 * Reads `sql`'s rows and builds each into an item, reusing the item built for the same row by the
 * previous read. A bot_* section is hundreds of rows of which a close changes one or two, and
 * building a row (pg's Date parsing, toISOString, money formatting: ~8 ms of a bot-trade set's JS on
 * one thread) costs far more than reading it as text. A row's first column identifies it (a trade's id,
 * an hour); its item is reused when every column's text equals the one it was built from, so an item is
 * a function of its row's text alone, and a row not seen before is parsed by the very parsers pg would
 * have used for its columns' types: a reused item is exactly what building the row again gives. Only
 * the previous read's rows are kept: the cache never outgrows one answer.
 */
export function createRowReader<T>(sql: string, build: (row: Record<string, unknown>) => T) {
  type Seen = { text: (string | null)[]; item: T };
  let previous = new Map<string | null, Seen>();
  return async function read(db: Queryable): Promise<T[]> {
    const result = await db.query<(string | null)[]>({ text: sql, rowMode: 'array', types: AS_TEXT });
    const names = result.fields.map((field) => field.name);
    const parsers = result.fields.map((field) => pg.types.getTypeParser(field.dataTypeID, 'text'));
    const next = new Map<string | null, Seen>();
    const items = result.rows.map((text) => {
      const id = text[0] ?? null;
      const seen = previous.get(id);
      if (seen !== undefined && sameText(seen.text, text)) {
        // The entry kept is the old one: this read's copy of an unchanged row dies young, and the
        // garbage collector's young generation does not copy a thousand surviving rows per read.
        next.set(id, seen);
        return seen.item;
      }
      const parsed: Record<string, unknown> = {};
      text.forEach((value, i) => {
        parsed[names[i] as string] = value === null ? null : (parsers[i] as (text: string) => unknown)(value);
      });
      const item = build(parsed);
      next.set(id, { text, item });
      return item;
    });
    previous = next;
    return items;
  };
}

function sameText(a: readonly (string | null)[], b: readonly (string | null)[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

// ---- Open positions at the worker's current prices ----------------------------------------------

// The partial index snapboard_pt_open_created holds open trades in this order; system ones are few.
export const OPEN_SQL = `
  SELECT id, user_id, NULL::text AS username, symbol, direction, market_type, entry_price, entry_time,
         position_size, quantity, stop_loss, take_profit, leverage
  FROM paper_trades
  WHERE status = 'OPEN' AND user_id IS NULL
  ORDER BY created_at DESC NULLS LAST, id DESC`;

export async function openSystemPositions({ db, prices }: SectionContext): Promise<BotPosition[]> {
  const { rows } = await db.query<OpenPositionRow>(OPEN_SQL);
  const symbols = [...new Set(rows.map((row) => row.symbol).filter((s): s is string => !!s))];
  // As in open_positions: a price that cannot be had leaves the position unpriced, never unpublished.
  const quotes = symbols.length
    ? await prices.getPrices(symbols).catch(() => new Map<string, number>())
    : new Map<string, number>();
  // The bot's P&L formula (SPEC §2) is open_positions' own; only the item's shape differs.
  const priced = priceOpenPositions(rows, quotes);
  return priced.map((p, i) => {
    const row = rows[i] as OpenPositionRow;
    const size = p.position_size;
    const live = p.has_real_time_price;
    return {
      trade_id: p.trade_id,
      user: 'System',
      symbol: p.symbol,
      direction: p.direction,
      market_type: p.market_type,
      entry_price: p.entry_price,
      entry_time: p.entry_time,
      position_size: size,
      stop_loss: p.stop_loss,
      take_profit: p.take_profit,
      leverage: p.leverage,
      risk_reward_ratio: riskReward(row.direction, row.entry_price, row.stop_loss, row.take_profit),
      current_price: p.current_price,
      current_value: size === null ? null : live ? round(size * (1 + p.unrealized_pnl_pct / 100), 2) : size,
      unrealized_pnl: p.unrealized_pnl,
      unrealized_pnl_pct: p.unrealized_pnl_pct,
      price_change: p.price_change ?? 0,
      price_change_pct: p.price_change_pct ?? 0,
      has_real_time_price: live,
    };
  });
}

export function unrealizedOf(positions: readonly BotPosition[]): number {
  return amount8(positions.reduce((total, p) => total + p.unrealized_pnl, 0));
}

// ---- Performance totals ------------------------------------------------------------------------

/** Counts and sums of system trades, per created hour or in all (SPEC §11: closed = status CLOSED*). */
export const TOTALS_COLUMNS = `
  count(*) AS trades,
  count(*) FILTER (WHERE status = 'OPEN') AS open,
  count(*) FILTER (WHERE status LIKE 'CLOSED%') AS closed,
  count(*) FILTER (WHERE status LIKE 'CLOSED%' AND profit_loss > 0) AS won,
  count(*) FILTER (WHERE status LIKE 'CLOSED%' AND profit_loss < 0) AS lost,
  coalesce(sum(profit_loss) FILTER (WHERE status LIKE 'CLOSED%'), 0) AS pnl,
  max(profit_loss) FILTER (WHERE status LIKE 'CLOSED%') AS best,
  min(profit_loss) FILTER (WHERE status LIKE 'CLOSED%') AS worst,
  coalesce(sum(extract(epoch FROM exit_time - entry_time))
    FILTER (WHERE status LIKE 'CLOSED%' AND isfinite(exit_time) AND isfinite(entry_time)), 0) AS duration_seconds,
  count(*) FILTER (WHERE status LIKE 'CLOSED%' AND isfinite(exit_time) AND isfinite(entry_time)) AS duration_trades`;

export const ALL_TIME_SQL = `SELECT ${TOTALS_COLUMNS} FROM paper_trades WHERE user_id IS NULL`;

export interface TotalsRow {
  trades: Numeric;
  open: Numeric;
  closed: Numeric;
  won: Numeric;
  lost: Numeric;
  pnl: Numeric;
  best: Numeric;
  worst: Numeric;
  duration_seconds: Numeric;
  duration_trades: Numeric;
}

export function totalsOf(row: TotalsRow | undefined): BotTotals {
  return {
    trades: toCount(row?.trades),
    open: toCount(row?.open),
    closed: toCount(row?.closed),
    won: toCount(row?.won),
    lost: toCount(row?.lost),
    pnl: toNumberOr0(row?.pnl),
    best: toNumber(row?.best),
    worst: toNumber(row?.worst),
    durationSeconds: toNumberOr0(row?.duration_seconds),
    durationTrades: toCount(row?.duration_trades),
  };
}

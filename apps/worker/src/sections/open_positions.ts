import { MAX_LIMIT, type OpenPosition } from '@snapboard/shared';
import type { PriceSource } from '../prices/index.ts';
import { type Numeric, round, toIso, toNumber } from './convert.ts';
import type { SectionComputer } from './types.ts';

// Reads the partial index snapboard_pt_open_created: open trades only, already in output order.
export const SQL = `
  SELECT t.id, t.user_id, u.username, t.symbol, t.direction, t.market_type, t.entry_price, t.entry_time,
         t.position_size, t.quantity, t.stop_loss, t.take_profit, t.leverage
  FROM paper_trades t
  LEFT JOIN users u ON u.id = t.user_id
  WHERE t.status = 'OPEN'
  ORDER BY t.created_at DESC NULLS LAST, t.id DESC
  LIMIT ${MAX_LIMIT}`;

export interface OpenPositionRow {
  id: Numeric;
  user_id: Numeric;
  username: string | null;
  symbol: string | null;
  direction: string | null;
  market_type: string | null;
  entry_price: Numeric;
  entry_time: Date | string | number | null;
  position_size: Numeric;
  quantity: Numeric;
  stop_loss: Numeric;
  take_profit: Numeric;
  leverage: Numeric;
}

/** +1 for LONG, -1 for SHORT; an unknown direction has no defined P&L. */
function sideOf(direction: string | null): 1 | -1 | 0 {
  if (direction === 'LONG') return 1;
  if (direction === 'SHORT') return -1;
  return 0;
}

export function build(rows: readonly OpenPositionRow[], prices: ReadonlyMap<string, number>): OpenPosition[] {
  return rows.map((row) => {
    const symbol = row.symbol ?? '';
    const entry = toNumber(row.entry_price);
    const quantity = toNumber(row.quantity);
    const positionSize = toNumber(row.position_size);
    const leverage = toNumber(row.leverage);
    const quoted = prices.get(symbol);
    const price = quoted !== undefined && Number.isFinite(quoted) && quoted > 0 ? quoted : null;

    let unrealizedPnl = 0;
    let unrealizedPnlPct = 0;
    let priceChange: number | null = null;
    let priceChangePct: number | null = null;
    if (price !== null && entry !== null) {
      priceChange = round(price - entry, 8);
      priceChangePct = entry !== 0 ? round((priceChange / entry) * 100, 2) : null;
      // Leverage multiplies FUTURES P&L only when the bot recorded one (SPEC §3); 0 or less is no leverage.
      const multiplier = row.market_type === 'FUTURES' && leverage !== null && leverage > 0 ? leverage : 1;
      const raw = (price - entry) * (quantity ?? 0) * sideOf(row.direction) * multiplier;
      unrealizedPnl = round(raw, 8);
      unrealizedPnlPct = positionSize ? round((unrealizedPnl / positionSize) * 100, 4) : 0;
    }

    return {
      trade_id: toNumber(row.id) ?? 0,
      user_id: toNumber(row.user_id),
      username: row.username ?? null,
      symbol,
      direction: row.direction ?? '',
      market_type: row.market_type ?? '',
      entry_price: entry,
      entry_time: toIso(row.entry_time),
      position_size: positionSize,
      quantity,
      stop_loss: toNumber(row.stop_loss),
      take_profit: toNumber(row.take_profit),
      leverage,
      current_price: price,
      unrealized_pnl: unrealizedPnl,
      unrealized_pnl_pct: unrealizedPnlPct,
      price_change: priceChange,
      price_change_pct: priceChangePct,
      has_real_time_price: price !== null,
    };
  });
}

/** A published position back as the row it was built from: what a price tick re-prices. */
export function rowOf(position: OpenPosition): OpenPositionRow {
  return {
    id: position.trade_id,
    user_id: position.user_id,
    username: position.username,
    symbol: position.symbol,
    direction: position.direction,
    market_type: position.market_type,
    entry_price: position.entry_price,
    entry_time: position.entry_time,
    position_size: position.position_size,
    quantity: position.quantity,
    stop_loss: position.stop_loss,
    take_profit: position.take_profit,
    leverage: position.leverage,
  };
}

async function priced(rows: readonly OpenPositionRow[], prices: PriceSource): Promise<OpenPosition[]> {
  const symbols = [...new Set(rows.map((row) => row.symbol).filter((s): s is string => !!s))];
  // Prices are a nicety: whatever happens to them, the positions are still published.
  const quotes = symbols.length
    ? await prices.getPrices(symbols).catch(() => new Map<string, number>())
    : new Map<string, number>();
  return build(rows, quotes);
}

export const openPositions: SectionComputer<'open_positions'> = {
  async compute({ db, prices }) {
    const { rows } = await db.query<OpenPositionRow>(SQL);
    return priced(rows, prices);
  },
  reprice(last, { prices }) {
    return priced(last.map(rowOf), prices);
  },
};

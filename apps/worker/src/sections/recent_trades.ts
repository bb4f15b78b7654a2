import { MAX_LIMIT, type RecentTrade } from '@snapboard/shared';
import { type Numeric, toIso, toNumber } from './convert.ts';
import type { SectionComputer } from './types.ts';

// Exactly the order and predicate of the partial index snapboard_pt_closed_exit: reads 100 entries.
export const SQL = `
  SELECT id, user_id, symbol, direction, market_type, entry_price, exit_price, profit_loss,
         profit_loss_percentage, status, entry_time, exit_time
  FROM paper_trades
  WHERE status LIKE 'CLOSED%'
  ORDER BY exit_time DESC NULLS LAST, id DESC
  LIMIT ${MAX_LIMIT}`;

export interface RecentTradeRow {
  id: Numeric;
  user_id: Numeric;
  symbol: string | null;
  direction: string | null;
  market_type: string | null;
  entry_price: Numeric;
  exit_price: Numeric;
  profit_loss: Numeric;
  profit_loss_percentage: Numeric;
  status: string | null;
  entry_time: Date | string | number | null;
  exit_time: Date | string | number | null;
}

export function build(rows: readonly RecentTradeRow[]): RecentTrade[] {
  return rows.map((row) => ({
    trade_id: toNumber(row.id) ?? 0,
    user_id: toNumber(row.user_id),
    symbol: row.symbol ?? '',
    direction: row.direction ?? '',
    market_type: row.market_type ?? '',
    entry_price: toNumber(row.entry_price),
    exit_price: toNumber(row.exit_price),
    profit_loss: toNumber(row.profit_loss),
    profit_loss_percentage: toNumber(row.profit_loss_percentage),
    status: row.status ?? '',
    entry_time: toIso(row.entry_time),
    exit_time: toIso(row.exit_time),
  }));
}

export const recentTrades: SectionComputer<'recent_trades'> = {
  async compute({ db }) {
    const { rows } = await db.query<RecentTradeRow>(SQL);
    return build(rows);
  },
};

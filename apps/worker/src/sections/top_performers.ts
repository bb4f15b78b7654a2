import type { TopPerformer } from '@snapboard/shared';
import { type Numeric, toCount, toNumber, toNumberOr0 } from './convert.ts';
import type { SectionComputer } from './types.ts';

export const TOP_PERFORMERS = 5;

// The first five entries of snapboard_pa_total_pnl, joined to users by primary key.
export const SQL = `
  SELECT a.user_id, u.username, a.balance, a.equity, a.total_pnl, a.win_rate, a.total_trades
  FROM signals_paperaccount a
  LEFT JOIN users u ON u.id = a.user_id
  ORDER BY a.total_pnl DESC NULLS LAST, a.user_id ASC
  LIMIT ${TOP_PERFORMERS}`;

export interface TopPerformerRow {
  user_id: Numeric;
  username: string | null;
  balance: Numeric;
  equity: Numeric;
  total_pnl: Numeric;
  win_rate: Numeric;
  total_trades: Numeric;
}

export function build(rows: readonly TopPerformerRow[]): TopPerformer[] {
  return rows.map((row) => ({
    user_id: toNumber(row.user_id) ?? 0,
    username: row.username ?? '',
    balance: toNumberOr0(row.balance),
    equity: toNumberOr0(row.equity),
    total_pnl: toNumberOr0(row.total_pnl),
    win_rate: toNumberOr0(row.win_rate),
    total_trades: toCount(row.total_trades),
  }));
}

export const topPerformers: SectionComputer<'top_performers'> = {
  async compute({ db }) {
    const { rows } = await db.query<TopPerformerRow>(SQL);
    return build(rows);
  },
};

import type { Overview } from '@snapboard/shared';
import { type Numeric, toCount, toNumberOr0 } from './convert.ts';
import type { SectionComputer } from './types.ts';

// One row per user: an aggregate over the whole (small) accounts table is a single sequential pass.
export const SQL = `
  SELECT count(*) AS total_accounts,
         count(*) FILTER (WHERE auto_trading_enabled) AS active_accounts,
         coalesce(sum(balance), 0) AS total_balance,
         coalesce(sum(equity), 0) AS total_equity,
         coalesce(sum(total_pnl), 0) AS total_pnl,
         coalesce(sum(total_trades), 0) AS total_trades,
         coalesce(avg(win_rate), 0) AS avg_win_rate
  FROM signals_paperaccount`;

export interface OverviewRow {
  total_accounts: Numeric;
  active_accounts: Numeric;
  total_balance: Numeric;
  total_equity: Numeric;
  total_pnl: Numeric;
  total_trades: Numeric;
  avg_win_rate: Numeric;
}

export function build(row: OverviewRow | undefined): Overview {
  const avgWinRate = toNumberOr0(row?.avg_win_rate);
  return {
    total_accounts: toCount(row?.total_accounts),
    active_accounts: toCount(row?.active_accounts),
    total_balance: toNumberOr0(row?.total_balance),
    total_equity: toNumberOr0(row?.total_equity),
    total_pnl: toNumberOr0(row?.total_pnl),
    total_trades: toCount(row?.total_trades),
    avg_win_rate: avgWinRate,
    win_rate: avgWinRate,
  };
}

export const overview: SectionComputer<'overview'> = {
  async compute({ db }) {
    const { rows } = await db.query<OverviewRow>(SQL);
    return build(rows[0]);
  },
};

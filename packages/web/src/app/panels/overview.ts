import type { Overview } from '@snapboard/shared';
import { moveOf } from '../dom.ts';
import { count, money, percent } from '../format.ts';
import { figures, kpi } from '../markup.ts';
import { definePanel } from '../panel.ts';
import { tile } from './figures.ts';

/** The headline's account totals (overview). */
export const overviewPanel = definePanel({
  section: 'overview',
  region: 'headline',
  markup: () =>
    figures('overview', [
      kpi('equity', 'Total equity', 'overview'),
      kpi('balance', 'Total balance', 'overview'),
      kpi('accounts', 'Accounts', 'overview'),
      kpi('trades', 'Closed trades', 'overview'),
    ]),
  mount() {
    let previous: Overview | undefined;
    return ({ data: overview }) => {
      tile('equity', money(overview.total_equity), {
        move: moveOf(previous?.total_equity, overview.total_equity),
        sub: `P&L ${money(overview.total_pnl, { signed: true })}`,
      });
      tile('balance', money(overview.total_balance), {
        move: moveOf(previous?.total_balance, overview.total_balance),
        sub: 'excl. open P&L',
      });
      tile('accounts', `${count(overview.active_accounts)} / ${count(overview.total_accounts)}`, {
        sub: 'auto-trading / all',
      });
      tile('trades', count(overview.total_trades), {
        move: moveOf(previous?.total_trades, overview.total_trades),
        sub: `avg win rate ${percent(overview.avg_win_rate, { digits: 1 })}`,
      });
      previous = overview;
    };
  },
});

import type { Lite, Overview } from '@snapboard/shared';
import { byId, moveOf, setFigure } from '../dom.ts';
import { count, money, percent, signOf } from '../format.ts';

/** The headline strip: lite's live figures and overview's account totals. */

function tile(id: string, value: string, options: { sign?: string; move?: 'up' | 'down'; sub?: string } = {}): void {
  const node = byId(`kpi-${id}`);
  node.dataset.sign = options.sign ?? '';
  setFigure(node.querySelector('.kpi-value')!, value, options.move);
  if (options.sub !== undefined) node.querySelector('.kpi-sub')!.textContent = options.sub;
}

export function renderLite(lite: Lite, previous: Lite | undefined): void {
  tile('total-pnl', money(lite.total_pnl, { signed: true }), {
    sign: signOf(lite.total_pnl),
    move: moveOf(previous?.total_pnl, lite.total_pnl),
    sub: 'all accounts',
  });
  tile('daily-pnl', money(lite.daily_pnl, { signed: true }), {
    sign: signOf(lite.daily_pnl),
    move: moveOf(previous?.daily_pnl, lite.daily_pnl),
    sub: 'closed in the last 24 h',
  });
  tile('win-rate', percent(lite.win_rate, { digits: 1 }), {
    move: moveOf(previous?.win_rate, lite.win_rate),
    sub: 'mean of accounts',
  });
  tile('active-trades', count(lite.active_trades), {
    move: moveOf(previous?.active_trades, lite.active_trades),
    sub: 'positions',
  });
}

export function renderOverview(overview: Overview, previous: Overview | undefined): void {
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
}

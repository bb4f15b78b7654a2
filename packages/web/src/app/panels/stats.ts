import type { TradingStats } from '@snapboard/shared';
import { byId, el } from '../dom.ts';
import { count } from '../format.ts';
import { card, table } from '../markup.ts';
import { definePanel } from '../panel.ts';

/** Trades opened in each rolling window, by status. */
function renderStats(table: HTMLTableElement, stats: TradingStats): void {
  const windows = [stats.today, stats.this_week, stats.all_time];
  const rows: Array<[label: string, pick: (w: TradingStats['today']) => number]> = [
    ['Opened', (w) => w.total_trades],
    ['Still open', (w) => w.open_trades],
    ['Closed', (w) => w.closed_trades],
  ];
  table.tBodies[0]!.replaceChildren(
    ...rows.map(([label, pick]) =>
      el(
        'tr',
        {},
        el('th', { scope: 'row' }, label),
        ...windows.map((w) => el('td', { class: 'num' }, count(pick(w)))),
      ),
    ),
  );
}

export const statsPanel = definePanel({
  section: 'trading_stats',
  region: 'board',
  markup: () =>
    card(
      'trading_stats',
      table('stats', 'trading_stats', [['Trades'], ['24h', 'num'], ['7d', 'num'], ['All time', 'num']]),
      {
        area: 'stats',
      },
    ),
  mount() {
    const table = byId<HTMLTableElement>('stats');
    return ({ data }) => renderStats(table, data);
  },
});

import type { TradingStats } from '@snapboard/shared';
import { el } from '../dom.ts';
import { count } from '../format.ts';

/** Trades opened in each rolling window, by status. */
export function renderStats(table: HTMLTableElement, stats: TradingStats): void {
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

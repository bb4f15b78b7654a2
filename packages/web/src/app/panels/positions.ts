import type { OpenPosition } from '@snapboard/shared';
import { byId, el, moveOf } from '../dom.ts';
import { count, money, percent, price, signOf } from '../format.ts';
import { card, table } from '../markup.ts';
import { definePanel } from '../panel.ts';
import { cell, keyedTable, sidePill, sinceCell, symbolCell } from './tables.ts';

function positionsTable(table: HTMLTableElement) {
  return keyedTable<OpenPosition>(table, {
    key: (p) => String(p.trade_id),
    empty: 'No open positions.',
    row(p, before) {
      const mark = p.has_real_time_price
        ? cell(
            'num',
            el('span', { class: 'mark' }, price(p.current_price)),
            el(
              'small',
              { class: `chg sign-${signOf(p.price_change_pct)}` },
              percent(p.price_change_pct, { signed: true }),
            ),
          )
        : cell('num muted', el('span', { title: 'No live price for this symbol' }, 'no price'));
      const move = moveOf(before?.current_price, p.current_price);
      if (move) mark.classList.add(move === 'up' ? 'flash-up' : 'flash-down');
      return [
        symbolCell(p.symbol, p.market_type, p.leverage),
        cell(undefined, sidePill(p.direction)),
        cell('num opt-3', price(p.entry_price)),
        mark,
        cell('num opt-1', money(p.position_size)),
        cell(
          `num pnl sign-${signOf(p.unrealized_pnl)}`,
          el('span', {}, money(p.unrealized_pnl, { signed: true })),
          el('small', {}, percent(p.unrealized_pnl_pct, { signed: true })),
        ),
        cell('opt-1 trader', p.username ?? el('span', { class: 'muted' }, 'system')),
        sinceCell('num opt-2 since', p.entry_time),
      ];
    },
  });
}

/** Open positions with live marks; the count says how many of lite's open trades are listed. */
export const positionsPanel = definePanel({
  section: 'open_positions',
  region: 'board',
  markup: () =>
    card(
      'open_positions',
      table('positions', 'open_positions', [
        ['Symbol'],
        ['Side'],
        ['Entry', 'num opt-3'],
        ['Mark', 'num'],
        ['Size', 'num opt-1'],
        ['Unrealized', 'num'],
        ['Trader', 'opt-1'],
        ['Opened', 'num opt-2'],
      ]),
      { area: 'pos', note: '<span class="count" id="positions-count"></span>' },
    ),
  mount(client) {
    const positions = positionsTable(byId<HTMLTableElement>('positions'));
    const positionsCount = byId('positions-count');
    function showCount(): void {
      const shown = client.get('open_positions')?.data.length;
      const open = client.get('lite')?.data.active_trades;
      if (shown === undefined) return;
      positionsCount.textContent =
        open !== undefined && open > shown ? `${count(shown)} of ${count(open)}` : `${count(shown)} open`;
    }
    client.on('lite', showCount);
    return ({ data }) => {
      positions.render(data);
      showCount();
    };
  },
});

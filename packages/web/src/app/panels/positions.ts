import type { OpenPosition } from '@snapboard/shared';
import { el, moveOf } from '../dom.ts';
import { money, percent, price, signOf } from '../format.ts';
import { cell, keyedTable, sidePill, sinceCell, symbolCell } from './tables.ts';

export function positionsTable(table: HTMLTableElement) {
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

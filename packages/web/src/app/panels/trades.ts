import type { RecentTrade } from '@snapboard/shared';
import { byId, el } from '../dom.ts';
import { duration, money, percent, price, signOf } from '../format.ts';
import { card, table } from '../markup.ts';
import { definePanel } from '../panel.ts';
import { cell, keyedTable, sidePill, sinceCell, symbolCell } from './tables.ts';

const RESULTS: Record<string, [label: string, className: string]> = {
  CLOSED_TP: ['Take profit', 'res-tp'],
  CLOSED_SL: ['Stop loss', 'res-sl'],
  CLOSED_MANUAL: ['Manual', 'res-manual'],
};

function held(trade: RecentTrade): string {
  if (!trade.entry_time || !trade.exit_time) return '—';
  return duration(Date.parse(trade.exit_time) - Date.parse(trade.entry_time));
}

function tradesTable(table: HTMLTableElement) {
  return keyedTable<RecentTrade>(table, {
    key: (t) => String(t.trade_id),
    empty: 'No closed trades yet.',
    row(t) {
      const [label, className] = RESULTS[t.status] ?? [t.status.replace(/^CLOSED_/, '').toLowerCase(), 'res-other'];
      return [
        symbolCell(t.symbol, t.market_type, null),
        cell(undefined, sidePill(t.direction)),
        cell('num opt-1', price(t.entry_price)),
        cell('num', price(t.exit_price)),
        cell(
          `num pnl sign-${signOf(t.profit_loss)}`,
          el('span', {}, money(t.profit_loss, { signed: true })),
          el('small', {}, percent(t.profit_loss_percentage, { signed: true })),
        ),
        cell('opt-2', el('span', { class: `result ${className}` }, label)),
        cell('num opt-1', held(t)),
        sinceCell('num since', t.exit_time, ' ago'),
      ];
    },
  });
}

/** The latest closed trades, newest first; a trade that just closed is highlighted as it arrives. */
export const tradesPanel = definePanel({
  section: 'recent_trades',
  region: 'board',
  markup: () =>
    card(
      'recent_trades',
      table('trades', 'recent_trades', [
        ['Symbol'],
        ['Side'],
        ['Entry', 'num opt-1'],
        ['Exit', 'num'],
        ['P&amp;L', 'num'],
        ['Result', 'opt-2'],
        ['Held', 'num opt-1'],
        ['Closed', 'num'],
      ]),
      { area: 'trades' },
    ),
  mount() {
    const trades = tradesTable(byId<HTMLTableElement>('trades'));
    return ({ data }) => trades.render(data);
  },
});

import type { PerformanceMetrics } from '@snapboard/shared';
import { el } from '../dom.ts';
import { count, hours, money, percent, ratio, type Sign, signOf } from '../format.ts';

/** Performance over every closed trade, as a grid of labelled figures. */

interface Item {
  label: string;
  value: string;
  sign?: Sign;
  sub?: string;
  wide?: boolean;
  bar?: number;
}

export function renderMetrics(list: HTMLElement, m: PerformanceMetrics): void {
  const net = m.total_profit + m.total_loss;
  const items: Item[] = [
    {
      label: 'Win rate',
      value: percent(m.win_rate, { digits: 1 }),
      sub: `${count(m.profitable_trades)} won · ${count(m.losing_trades)} lost · ${count(m.total_closed_trades)} closed`,
      wide: true,
      bar: m.win_rate,
    },
    { label: 'Net realized', value: money(net, { signed: true }), sign: signOf(net) },
    { label: 'Profit factor', value: m.profit_factor === null ? '—' : ratio(m.profit_factor) },
    { label: 'Gross profit', value: money(m.total_profit), sign: signOf(m.total_profit) },
    { label: 'Gross loss', value: money(m.total_loss), sign: signOf(m.total_loss) },
    { label: 'Avg win', value: money(m.avg_profit, { signed: true }), sign: signOf(m.avg_profit) },
    { label: 'Avg loss', value: money(m.avg_loss, { signed: true }), sign: signOf(m.avg_loss) },
    { label: 'Best trade', value: money(m.best_trade, { signed: true }), sign: signOf(m.best_trade) },
    { label: 'Worst trade', value: money(m.worst_trade, { signed: true }), sign: signOf(m.worst_trade) },
    { label: 'Max drawdown', value: money(-m.max_drawdown), sign: signOf(-m.max_drawdown) },
    { label: 'Avg hold', value: hours(m.avg_duration_hours) },
  ];
  list.replaceChildren(
    ...items.map((item) => {
      const value = el('dd', { class: `sign-${item.sign ?? 'flat'}` }, item.value);
      const wrap = el('div', { class: item.wide ? 'metric wide' : 'metric' }, el('dt', {}, item.label), value);
      if (item.bar !== undefined) {
        const fill = el('span', { class: 'bar-fill' });
        fill.style.width = `${Math.max(0, Math.min(100, item.bar))}%`;
        wrap.append(el('div', { class: 'bar' }, fill));
      }
      if (item.sub) wrap.append(el('small', {}, item.sub));
      return wrap;
    }),
  );
}

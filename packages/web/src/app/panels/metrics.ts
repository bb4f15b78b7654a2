import type { PerformanceMetrics } from '@snapboard/shared';
import { byId, el } from '../dom.ts';
import { count, hours, money, percent, ratio, type Sign, signOf } from '../format.ts';
import { card } from '../markup.ts';
import { definePanel } from '../panel.ts';

/** Performance over every closed trade, as a grid of labelled figures. */

interface Item {
  label: string;
  value: string;
  sign?: Sign;
  sub?: string;
  wide?: boolean;
  bar?: number;
}

function renderMetrics(list: HTMLElement, m: PerformanceMetrics): void {
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
      // A list's groups hold only dt and dd: the bar and the line below are a second dd of the term.
      const more = el('dd', { class: 'metric-more' });
      if (item.bar !== undefined) {
        const fill = el('span', { class: 'bar-fill' });
        fill.style.width = `${Math.max(0, Math.min(100, item.bar))}%`;
        more.append(el('div', { class: 'bar', 'aria-hidden': 'true' }, fill));
      }
      if (item.sub) more.append(el('small', {}, item.sub));
      if (more.childNodes.length > 0) wrap.append(more);
      return wrap;
    }),
  );
}

export const metricsPanel = definePanel({
  section: 'performance_metrics',
  region: 'board',
  markup: () => card('performance_metrics', '<dl class="metrics" id="metrics"></dl>', { area: 'perf' }),
  mount() {
    const list = byId('metrics');
    return ({ data }) => renderMetrics(list, data);
  },
});

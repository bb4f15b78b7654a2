import type { PnlPoint } from '@snapboard/shared';
import uPlot from 'uplot';
import { byId, el } from '../dom.ts';
import { dateTime, money, moneyCompact, signOf } from '../format.ts';
import { card } from '../markup.ts';
import { definePanel } from '../panel.ts';

/**
 * Cumulative realized P&L, 720 hourly points (pnl_history). One line, green above zero and red
 * below (a gradient split at the zero line), filled towards zero. Hovering reads out one hour.
 */

const UP = '#16c784';
const DOWN = '#ea3943';
const AXIS = '#6b7588';
const GRID = 'rgba(148, 163, 184, 0.07)';

/** A vertical gradient that switches colour exactly where y = 0 is drawn. */
function splitAtZero(u: uPlot, up: string, down: string): CanvasGradient | string {
  const { top, height } = u.bbox;
  if (!(height > 0)) return up;
  const zero = u.valToPos(0, 'y', true);
  const at = Math.min(1, Math.max(0, (zero - top) / height));
  const gradient = u.ctx.createLinearGradient(0, top, 0, top + height);
  gradient.addColorStop(0, up);
  gradient.addColorStop(at, up);
  gradient.addColorStop(at, down);
  gradient.addColorStop(1, down);
  return gradient;
}

interface PnlChart {
  render(points: readonly PnlPoint[]): void;
}

function createPnlChart(container: HTMLElement, summary: HTMLElement): PnlChart {
  let plot: uPlot | undefined;
  let points: readonly PnlPoint[] = [];
  const readout = el('div', { class: 'chart-readout', 'aria-hidden': 'true' });
  container.append(readout);

  const height = () => Math.max(160, container.clientHeight);

  function describe(index: number | null | undefined): void {
    const point = index === null || index === undefined ? undefined : points[index];
    if (!point) {
      readout.hidden = true;
      return;
    }
    readout.hidden = false;
    readout.replaceChildren(
      el('span', {}, dateTime(point.t)),
      el('b', { class: `sign-${signOf(point.pnl)}` }, money(point.pnl, { signed: true })),
    );
  }

  function create(data: uPlot.AlignedData): uPlot {
    return new uPlot(
      {
        width: Math.max(200, container.clientWidth),
        height: height(),
        padding: [10, 10, 0, 0],
        legend: { show: false },
        cursor: { drag: { x: false, y: false }, points: { size: 7, fill: '#0b0e14' } },
        scales: {
          x: { time: true },
          y: {
            range: (_u, min, max) => {
              // Always show the zero line, with a little air above and below the data.
              const lo = Math.min(0, min);
              const hi = Math.max(0, max);
              const pad = (hi - lo) * 0.08 || 1;
              return [lo - (lo < 0 ? pad : 0), hi + pad];
            },
          },
        },
        axes: [
          {
            stroke: AXIS,
            font: '11px system-ui, sans-serif',
            grid: { stroke: GRID, width: 1 },
            ticks: { stroke: GRID, width: 1, size: 4 },
          },
          {
            stroke: AXIS,
            font: '11px system-ui, sans-serif',
            size: 62,
            grid: { stroke: GRID, width: 1 },
            ticks: { show: false },
            values: (_u, values) => values.map((v) => moneyCompact(v)),
          },
        ],
        series: [
          {},
          {
            label: 'Cumulative P&L',
            width: 2,
            stroke: (u) => splitAtZero(u, UP, DOWN),
            fill: (u) => splitAtZero(u, 'rgba(22, 199, 132, 0.14)', 'rgba(234, 57, 67, 0.14)'),
            fillTo: 0,
            points: { show: false },
          },
        ],
        hooks: { setCursor: [(u) => describe(u.cursor.idx)] },
      },
      data,
      container,
    );
  }

  new ResizeObserver(() => {
    if (plot && container.clientWidth > 0) plot.setSize({ width: container.clientWidth, height: height() });
  }).observe(container);

  return {
    render(next) {
      points = next;
      const xs = next.map((p) => Date.parse(p.t) / 1000);
      const ys = next.map((p) => p.pnl);
      const data: uPlot.AlignedData = [xs, ys];
      if (plot) plot.setData(data);
      else plot = create(data);
      // Keep the readout on the hovered hour as new data arrives.
      describe(plot.cursor.idx);

      const last = ys.at(-1) ?? 0;
      const first = ys[0] ?? 0;
      const change = last - first;
      summary.replaceChildren(
        el('span', { class: `sign-${signOf(last)}` }, money(last, { signed: true })),
        el('span', { class: 'muted' }, ' · 30d '),
        el('span', { class: `sign-${signOf(change)}` }, money(change, { signed: true })),
      );
    },
  };
}

export const chartPanel = definePanel({
  section: 'pnl_history',
  region: 'board',
  markup: () =>
    card('pnl_history', '<div class="chart" id="chart"></div>', {
      area: 'chart',
      note: '<span class="chart-summary" id="chart-summary"></span>',
    }),
  mount() {
    const chart = createPnlChart(byId('chart'), byId('chart-summary'));
    return ({ data }) => chart.render(data);
  },
});

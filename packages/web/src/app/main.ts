import { createDashboardClient } from '@snapboard/client';
import { DEFAULT_LIMIT, MAX_LIMIT, PAGE_SECTIONS, type SectionName } from '@snapboard/shared/sections';
import { byId } from './dom.ts';
import { count, money } from './format.ts';
import { createPnlChart } from './panels/chart.ts';
import { renderLite, renderOverview } from './panels/kpis.ts';
import { renderLeaders } from './panels/leaders.ts';
import { renderMetrics } from './panels/metrics.ts';
import { positionsTable } from './panels/positions.ts';
import { renderStats } from './panels/stats.ts';
import { createStatus } from './panels/status.ts';
import { tradesTable } from './panels/trades.ts';

/**
 * The dashboard page: every section of the catalog, subscribed through the SDK, rendered as it
 * arrives. `?limit=N` (1–100) sets how many positions and trades are listed.
 */

function limitFromUrl(): number {
  const raw = new URLSearchParams(location.search).get('limit');
  const value = raw === null ? Number.NaN : Number(raw);
  return Number.isInteger(value) && value >= 1 && value <= MAX_LIMIT ? value : DEFAULT_LIMIT;
}

const limit = limitFromUrl();
const client = createDashboardClient({ baseUrl: location.origin, sections: PAGE_SECTIONS, limit });
const status = createStatus(client);
const positions = positionsTable(byId<HTMLTableElement>('positions'));
const trades = tradesTable(byId<HTMLTableElement>('trades'));
const chart = createPnlChart(byId('chart'), byId('chart-summary'));
const positionsCount = byId('positions-count');

function loaded(section: SectionName): void {
  document.querySelector(`.card[data-section="${section}"]`)?.setAttribute('aria-busy', 'false');
  status.renderAge(section);
}

function showPositionCount(): void {
  const shown = client.get('open_positions')?.data.length;
  const open = client.get('lite')?.data.active_trades;
  if (shown === undefined) return;
  positionsCount.textContent =
    open !== undefined && open > shown ? `${count(shown)} of ${count(open)}` : `${count(shown)} open`;
}

/** The tab's title carries the headline figure, and says when it cannot be trusted. */
function updateTitle(): void {
  const lite = client.get('lite')?.data;
  const trusted = client.state === 'live' || client.state === 'polling';
  const figure = lite ? `${money(lite.total_pnl, { signed: true })} · ` : '';
  document.title = `${trusted ? '' : `(${client.state}) `}${figure}snapboard`;
}

let previousLite = client.get('lite')?.data;
client.on('lite', ({ data }) => {
  renderLite(data, previousLite);
  updateTitle();
  previousLite = data;
  showPositionCount();
  loaded('lite');
});
let previousOverview = client.get('overview')?.data;
client.on('overview', ({ data }) => {
  renderOverview(data, previousOverview);
  previousOverview = data;
  loaded('overview');
});
client.on('open_positions', ({ data }) => {
  positions.render(data);
  showPositionCount();
  loaded('open_positions');
});
client.on('recent_trades', ({ data }) => {
  trades.render(data);
  loaded('recent_trades');
});
client.on('performance_metrics', ({ data }) => {
  renderMetrics(byId('metrics'), data);
  loaded('performance_metrics');
});
client.on('top_performers', ({ data }) => {
  renderLeaders(byId('leaders'), data);
  loaded('top_performers');
});
client.on('trading_stats', ({ data }) => {
  renderStats(byId<HTMLTableElement>('stats'), data);
  loaded('trading_stats');
});
client.on('pnl_history', ({ data }) => {
  chart.render(data);
  loaded('pnl_history');
});

status.render();
client.onState(() => {
  status.render();
  updateTitle();
});
status.tick();
setInterval(status.tick, 1000);
addEventListener('pagehide', () => client.close());
// A page restored from the back/forward cache had its client closed on the way out: start afresh.
addEventListener('pageshow', (event) => {
  if (event.persisted) location.reload();
});

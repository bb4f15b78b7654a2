import { createDashboardClient } from '@snapboard/client';
import { DEFAULT_LIMIT, MAX_LIMIT, PAGE_SECTIONS } from '@snapboard/shared/sections';
import { readFirstPaint } from '../first-paint.ts';
import { pagePanels } from './panels/index.ts';
import { createStatus } from './panels/status.ts';

/**
 * The dashboard page: the panel of every section the catalog puts on the page, fed by the SDK. The
 * snapshots the HTML carries are rendered before any request (decision 0017); the socket then resumes
 * from their versions. `?limit=N` (1–100) sets how many positions and trades are listed.
 */

function limitFromUrl(): number {
  const raw = new URLSearchParams(location.search).get('limit');
  const value = raw === null ? Number.NaN : Number(raw);
  return Number.isInteger(value) && value >= 1 && value <= MAX_LIMIT ? value : DEFAULT_LIMIT;
}

const limit = limitFromUrl();
const client = createDashboardClient({
  baseUrl: location.origin,
  sections: PAGE_SECTIONS,
  limit,
  snapshots: readFirstPaint(document, limit),
});
const status = createStatus(client);

for (const panel of pagePanels()) {
  const render = panel.mount(client);
  const root = document.querySelector(`[data-section="${panel.section}"]`);
  client.on(panel.section, (snapshot) => {
    render(snapshot);
    root?.setAttribute('aria-busy', 'false');
    status.renderAge(panel.section);
  });
}

status.render();
client.onState(() => status.render());
status.tick();
setInterval(status.tick, 1000);
addEventListener('pagehide', () => client.close());
// A page restored from the back/forward cache had its client closed on the way out: start afresh.
addEventListener('pageshow', (event) => {
  if (event.persisted) location.reload();
});

import type { ConnectionState, DashboardClient } from '@snapboard/client';
import { SECTION_NAMES, type SectionName } from '@snapboard/shared/sections';
import { byId } from '../dom.ts';
import { clockTime, duration } from '../format.ts';

/**
 * What tells a reader whether to trust the screen: the connection pill, a banner when not live,
 * each section's age (ticking), and the "since" cells of the tables.
 */

const LABELS: Record<ConnectionState, [label: string, detail: string]> = {
  connecting: ['Connecting', 'Opening the live connection…'],
  live: ['Live', 'Updates are pushed over WebSocket as soon as the worker publishes them.'],
  reconnecting: ['Reconnecting', 'The live connection dropped; reconnecting.'],
  polling: ['Polling', 'The live connection is unavailable; refreshing over HTTP every few seconds.'],
  stale: ['Stale', 'The server cannot be reached; the figures shown may be out of date.'],
  closed: ['Closed', 'Updates stopped.'],
};

export function createStatus(client: DashboardClient) {
  const pill = byId('conn');
  const label = pill.querySelector('.conn-label')!;
  const banner = byId('banner');
  const clock = byId('clock');
  // When updates last flowed (live or polling), for the banner shown once they stop.
  let lastLiveAt: number | undefined;

  function renderState(state: ConnectionState): void {
    const [text, detail] = LABELS[state];
    pill.dataset.state = state;
    pill.title = detail;
    label.textContent = text;
    document.body.dataset.conn = state;
    if (state === 'live' || state === 'polling') lastLiveAt = Date.now();
    renderBanner(state);
  }

  function renderBanner(state: ConnectionState): void {
    if (state === 'live' || state === 'connecting') {
      banner.hidden = true;
      return;
    }
    banner.hidden = false;
    banner.dataset.state = state;
    const since = lastLiveAt ? ` Last contact ${duration(Date.now() - lastLiveAt)} ago.` : '';
    banner.textContent =
      state === 'reconnecting'
        ? 'Connection lost — reconnecting…'
        : state === 'polling'
          ? 'Live updates unavailable — refreshing over HTTP every few seconds.'
          : `Server unreachable — showing the last figures received.${since} Retrying…`;
  }

  function renderAge(section: SectionName): void {
    const status = client.status(section);
    for (const node of document.querySelectorAll<HTMLElement>(`[data-age-for="${section}"]`)) {
      if (!status) continue;
      node.textContent = status.stale ? `stale · ${duration(status.ageMs)} old` : `${duration(status.ageMs)} ago`;
      node.classList.toggle('is-stale', status.stale);
      node.title = `Computed ${clockTime(status.computed_at)}${status.version ? ` · version ${status.version}` : ''} · refreshed every ${status.ttl}s`;
    }
    const card = document.querySelector<HTMLElement>(`.card[data-section="${section}"]`);
    card?.classList.toggle('is-stale', Boolean(status?.stale));
  }

  function tick(): void {
    const now = Date.now();
    if (client.state === 'live' || client.state === 'polling') lastLiveAt = now;
    clock.textContent = `${new Date(now).toISOString().slice(11, 19)} UTC`;
    for (const section of SECTION_NAMES) renderAge(section);
    for (const node of document.querySelectorAll<HTMLElement>('[data-since]')) {
      const since = Date.parse(node.dataset.since ?? '');
      node.textContent = Number.isFinite(since) ? `${duration(now - since)}${node.dataset.suffix ?? ''}` : '—';
    }
    if (client.state === 'stale') renderBanner('stale');
  }

  return { renderState, renderAge, tick };
}

import type { ConnectionState, DashboardClient } from '@snapboard/client';
import { PAGE_SECTIONS, SECTIONS, type SectionName } from '@snapboard/shared/sections';
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

  const setText = (node: Element, text: string) => {
    // Rewriting an unchanged live region would make screen readers announce it again.
    if (node.textContent !== text) node.textContent = text;
  };

  /** The pill and banner, from the connection state and whether the worker keeps the data fresh. */
  function render(): void {
    const state = client.state;
    const connected = state === 'live' || state === 'polling';
    if (connected) lastLiveAt = Date.now();
    const stale = connected ? PAGE_SECTIONS.filter((name) => client.status(name)?.stale) : [];
    const staleTitles = stale.map((name) => SECTIONS[name].title).join(', ');
    const [text, detail] = LABELS[state];

    pill.dataset.state = state;
    pill.dataset.freshness = stale.length > 0 ? 'stale' : 'fresh';
    document.body.dataset.conn = state;
    setText(label, stale.length > 0 ? `${text} · stale data` : text);
    pill.title = stale.length > 0 ? `${detail} Not refreshed for over three cadences: ${staleTitles}.` : detail;

    let message = '';
    if (state === 'reconnecting') message = 'Connection lost — reconnecting…';
    else if (state === 'polling') message = 'Live updates unavailable — refreshing over HTTP every few seconds.';
    else if (state === 'stale') {
      const since = lastLiveAt ? ` Last contact ${duration(Date.now() - lastLiveAt)} ago.` : '';
      message = `Server unreachable — showing the last figures received.${since} Retrying…`;
    }
    if (stale.length > 0) {
      message += `${message ? ' ' : ''}The worker has not refreshed ${staleTitles} for a while: those figures may be out of date.`;
    }
    banner.hidden = message === '';
    banner.dataset.state = state === 'live' ? 'data-stale' : state;
    setText(banner, message);
  }

  function renderAge(section: SectionName): void {
    const status = client.status(section);
    for (const node of document.querySelectorAll<HTMLElement>(`[data-age-for="${section}"]`)) {
      if (!status) continue;
      setText(node, status.stale ? `stale · ${duration(status.ageMs)} old` : `${duration(status.ageMs)} ago`);
      node.classList.toggle('is-stale', status.stale);
      node.title = `Computed ${clockTime(status.computed_at)}${status.version ? ` · version ${status.version}` : ''} · refreshed every ${status.ttl}s`;
    }
    const card = document.querySelector<HTMLElement>(`.card[data-section="${section}"]`);
    card?.classList.toggle('is-stale', Boolean(status?.stale));
  }

  function tick(): void {
    const now = Date.now();
    clock.textContent = `${new Date(now).toISOString().slice(11, 19)} UTC`;
    for (const section of PAGE_SECTIONS) renderAge(section);
    for (const node of document.querySelectorAll<HTMLElement>('[data-since]')) {
      const since = Date.parse(node.dataset.since ?? '');
      node.textContent = Number.isFinite(since) ? `${duration(now - since)}${node.dataset.suffix ?? ''}` : '—';
    }
    render();
  }

  return { render, renderAge, tick };
}

import { SECTIONS, type SectionName } from '@snapboard/shared/sections';

/**
 * Helpers for the panels' static markup. Only constants of the page's own go in here: data is put in
 * by the script through textContent, never parsed as HTML.
 */

export const escapeAttr = (value: string) => value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');

const escapeText = (value: string) => value.replace(/&/g, '&amp;').replace(/</g, '&lt;');

export const age = (section: SectionName) => `<span class="age" data-age-for="${section}" title="">—</span>`;

export function card(section: SectionName, body: string, options: { area: string; note?: string }): string {
  return `<section class="card area-${options.area}" data-section="${section}" aria-busy="true">
  <header class="card-head"><h2>${escapeText(SECTIONS[section].title)}</h2>${options.note ?? ''}${age(section)}</header>
  <div class="card-body">${body}</div>
</section>`;
}

/** A group of headline figures from one section. */
export function figures(section: SectionName, tiles: string[]): string {
  return `<div class="kpi-group area-${section}" data-section="${section}" aria-busy="true">${tiles.join('')}</div>`;
}

export function kpi(id: string, label: string, section: SectionName): string {
  return `<div class="kpi" id="kpi-${id}" data-from="${section}"><div class="kpi-label">${label}</div><div class="kpi-value">—</div><div class="kpi-sub"></div></div>`;
}

/** A table in a wrapper that scrolls sideways on a narrow screen, reachable by keyboard to do so. */
export const table = (id: string, section: SectionName, columns: Array<[label: string, className?: string]>) =>
  `<div class="table-wrap" tabindex="0" role="region" aria-label="${escapeAttr(SECTIONS[section].title)}"><table id="${id}"><thead><tr>${columns
    .map(([label, className]) => `<th${className ? ` class="${className}"` : ''}>${label}</th>`)
    .join('')}</tr></thead><tbody></tbody></table><p class="empty" hidden></p></div>`;

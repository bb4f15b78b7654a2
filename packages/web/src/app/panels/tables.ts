import { el } from '../dom.ts';
import { duration } from '../format.ts';

/**
 * Keyed table bodies: rows are rebuilt from data each time (a few dozen at most), and rows whose key
 * was not there before are marked new so they can be highlighted as they arrive.
 */
export interface KeyedTable<T> {
  render(items: readonly T[]): void;
}

export function keyedTable<T>(
  table: HTMLTableElement,
  options: {
    key(item: T): string;
    row(item: T, previous: T | undefined): HTMLTableCellElement[];
    empty: string;
  },
): KeyedTable<T> {
  const body = table.tBodies[0]!;
  const emptyNote = table.parentElement?.querySelector<HTMLElement>('.empty') ?? null;
  let previous = new Map<string, T>();
  let first = true;
  return {
    render(items) {
      const next = new Map<string, T>();
      const rows = items.map((item) => {
        const key = options.key(item);
        next.set(key, item);
        const before = previous.get(key);
        const tr = el('tr', { 'data-key': key });
        tr.append(...options.row(item, before));
        if (!first && !before) tr.classList.add('row-new');
        return tr;
      });
      body.replaceChildren(...rows);
      if (emptyNote) {
        emptyNote.textContent = options.empty;
        emptyNote.hidden = items.length > 0;
      }
      previous = next;
      first = false;
    },
  };
}

export function cell(
  className: string | undefined,
  ...children: Array<Node | string | null | false>
): HTMLTableCellElement {
  return el('td', { class: className }, ...children);
}

/** A cell whose text the page's ticker keeps current: "3m 12s" since `iso`. */
export function sinceCell(className: string, iso: string | null, suffix = ''): HTMLTableCellElement {
  const td = el('td', { class: className });
  if (iso) {
    td.dataset.since = iso;
    if (suffix) td.dataset.suffix = suffix;
    td.title = new Date(iso).toLocaleString();
    td.textContent = `${duration(Date.now() - Date.parse(iso))}${suffix}`;
  } else td.textContent = '—';
  return td;
}

export function sidePill(direction: string): HTMLSpanElement {
  const side = direction.toUpperCase();
  return el('span', { class: `pill side-${side === 'SHORT' ? 'short' : 'long'}` }, side === 'SHORT' ? 'Short' : 'Long');
}

export function symbolCell(symbol: string, marketType: string, leverage: number | null): HTMLTableCellElement {
  const base = symbol.replace(/USDT$/, '');
  const quote = symbol.slice(base.length);
  const futures = marketType.toUpperCase() === 'FUTURES';
  return cell(
    'sym',
    el('span', { class: 'sym-base' }, base),
    quote ? el('span', { class: 'sym-quote' }, `/${quote}`) : null,
    el(
      'span',
      { class: `badge ${futures ? 'badge-fut' : 'badge-spot'}` },
      futures ? (leverage ? `${leverage}×` : 'fut') : 'spot',
    ),
  );
}

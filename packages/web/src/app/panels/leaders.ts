import type { TopPerformer } from '@snapboard/shared';
import { byId, el } from '../dom.ts';
import { count, money, percent, signOf } from '../format.ts';
import { card } from '../markup.ts';
import { definePanel } from '../panel.ts';

/** The top five accounts by total P&L, with a bar scaled to the leader. */
function renderLeaders(list: HTMLElement, leaders: readonly TopPerformer[]): void {
  const empty = list.parentElement?.querySelector<HTMLElement>('.empty');
  if (empty) {
    empty.textContent = 'No accounts yet.';
    empty.hidden = leaders.length > 0;
  }
  const scale = Math.max(1e-9, ...leaders.map((p) => Math.abs(p.total_pnl)));
  list.replaceChildren(
    ...leaders.map((p, i) => {
      const bar = el('span', { class: `leader-bar sign-${signOf(p.total_pnl)}` });
      bar.style.width = `${(Math.abs(p.total_pnl) / scale) * 100}%`;
      return el(
        'li',
        { 'data-user-id': String(p.user_id) },
        el('span', { class: 'rank' }, String(i + 1)),
        el(
          'div',
          { class: 'leader' },
          el(
            'div',
            { class: 'leader-top' },
            el('span', { class: 'who' }, p.username),
            el('span', { class: `pnl sign-${signOf(p.total_pnl)}` }, money(p.total_pnl, { signed: true })),
          ),
          el('div', { class: 'leader-track' }, bar),
          el(
            'small',
            {},
            `win ${percent(p.win_rate, { digits: 1 })} · ${count(p.total_trades)} trades · equity ${money(p.equity)}`,
          ),
        ),
      );
    }),
  );
}

export const leadersPanel = definePanel({
  section: 'top_performers',
  region: 'board',
  markup: () =>
    card('top_performers', '<ol class="leaders" id="leaders"></ol><p class="empty" hidden></p>', { area: 'top' }),
  mount() {
    const list = byId('leaders');
    return ({ data }) => renderLeaders(list, data);
  },
});

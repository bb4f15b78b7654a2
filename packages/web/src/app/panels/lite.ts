import type { Lite } from '@snapboard/shared';
import { moveOf } from '../dom.ts';
import { count, money, percent, signOf } from '../format.ts';
import { figures, kpi } from '../markup.ts';
import { definePanel } from '../panel.ts';
import { tile } from './figures.ts';

/** The headline's live figures (lite), which the tab's title carries too. */
export const litePanel = definePanel({
  section: 'lite',
  region: 'headline',
  markup: () =>
    figures('lite', [
      kpi('total-pnl', 'Total P&amp;L', 'lite'),
      kpi('daily-pnl', '24h realized P&amp;L', 'lite'),
      kpi('win-rate', 'Win rate', 'lite'),
      kpi('active-trades', 'Open trades', 'lite'),
    ]),
  mount(client) {
    let previous: Lite | undefined;

    /** The tab's title carries the headline figure, and says when it cannot be trusted. */
    function updateTitle(): void {
      const lite = client.get('lite')?.data;
      const trusted = client.state === 'live' || client.state === 'polling';
      const figure = lite ? `${money(lite.total_pnl, { signed: true })} · ` : '';
      document.title = `${trusted ? '' : `(${client.state}) `}${figure}snapboard`;
    }
    client.onState(updateTitle);

    return ({ data: lite }) => {
      tile('total-pnl', money(lite.total_pnl, { signed: true }), {
        sign: signOf(lite.total_pnl),
        move: moveOf(previous?.total_pnl, lite.total_pnl),
        sub: 'all accounts',
      });
      tile('daily-pnl', money(lite.daily_pnl, { signed: true }), {
        sign: signOf(lite.daily_pnl),
        move: moveOf(previous?.daily_pnl, lite.daily_pnl),
        sub: 'closed in the last 24 h',
      });
      tile('win-rate', percent(lite.win_rate, { digits: 1 }), {
        move: moveOf(previous?.win_rate, lite.win_rate),
        sub: 'mean of accounts',
      });
      tile('active-trades', count(lite.active_trades), {
        move: moveOf(previous?.active_trades, lite.active_trades),
        sub: 'positions',
      });
      previous = lite;
      updateTitle();
    };
  },
});

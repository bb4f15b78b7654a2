import { PAGE_SECTIONS, type SectionName } from '@snapboard/shared/sections';
import type { Panel } from '../panel.ts';
import { chartPanel } from './chart.ts';
import { leadersPanel } from './leaders.ts';
import { litePanel } from './lite.ts';
import { metricsPanel } from './metrics.ts';
import { overviewPanel } from './overview.ts';
import { positionsPanel } from './positions.ts';
import { statsPanel } from './stats.ts';
import { tradesPanel } from './trades.ts';

/** Every panel module, by the section it shows. */
export const PANELS: { readonly [K in SectionName]?: Panel<K> } = {
  overview: overviewPanel,
  open_positions: positionsPanel,
  recent_trades: tradesPanel,
  performance_metrics: metricsPanel,
  top_performers: leadersPanel,
  trading_stats: statsPanel,
  lite: litePanel,
  pnl_history: chartPanel,
};

/**
 * The page's panels: one for each section the catalog puts on the page (PAGE_SECTIONS), in its order.
 * A section on the page without a panel module, or a panel for a section the catalog keeps off it,
 * stops the page from being built (and fails packages/web/test/panels.test.ts).
 */
export function pagePanels(sections: readonly SectionName[] = PAGE_SECTIONS): Panel[] {
  const extra = (Object.keys(PANELS) as SectionName[]).filter((name) => !sections.includes(name));
  if (extra.length > 0) throw new Error(`panels for sections the catalog keeps off the page: ${extra.join(', ')}`);
  return sections.map((name) => {
    const panel = PANELS[name] as Panel | undefined;
    if (!panel)
      throw new Error(
        `the catalog puts ${name} on the page, but no panel module shows it (packages/web/src/app/panels)`,
      );
    return panel;
  });
}

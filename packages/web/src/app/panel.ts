import type { DashboardClient, SectionSnapshot } from '@snapboard/client';
import type { SectionName } from '@snapboard/shared/sections';

/**
 * A section's panel on the page, in one module: its static markup (served in the HTML, so the layout
 * is in place before the script runs) and what renders its snapshots. Which panels the page has, and in
 * what order, is the catalog's (`onPage`, PAGE_SECTIONS); where each sits is its `region` and the CSS
 * grid area its markup names.
 */
export interface Panel<K extends SectionName = SectionName> {
  section: K;
  /** The headline strip of figures, or the board of cards. */
  region: 'headline' | 'board';
  markup(): string;
  /** Called once in the browser; returns what renders each new snapshot of the section. */
  mount(client: DashboardClient): (snapshot: SectionSnapshot<K>) => void;
}

/** Declared with its section's name so a panel cannot render another section's data. */
export const definePanel = <K extends SectionName>(panel: Panel<K>): Panel<K> => panel;

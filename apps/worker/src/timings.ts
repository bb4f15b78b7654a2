import { performance } from 'node:perf_hooks';
import { SECTION_NAMES, type SectionName } from '@snapboard/shared';
import type { PriceSource } from './prices/index.ts';
import { createNoPrices } from './prices/none.ts';
import { computeSection } from './sections/index.ts';
import { refreshRollups } from './sections/rollups.ts';
import type { Queryable } from './sections/types.ts';

export interface SectionTiming {
  section: SectionName;
  ms: number;
}

export interface Timings {
  /** Folding pending rollup markers first, so that no section's figure includes it by accident. */
  refreshMs: number;
  sections: SectionTiming[];
  totalMs: number;
}

/**
 * Time each section's compute once, one after another, against `db` (no Redis, no publish): what
 * a full recompute round costs the database. Prices default to none so only SQL is measured.
 */
export async function timeSections(
  db: Queryable,
  options: { sections?: readonly SectionName[]; prices?: PriceSource; now?: Date } = {},
): Promise<Timings> {
  const prices = options.prices ?? createNoPrices();
  const refreshStart = performance.now();
  await refreshRollups(db);
  const refreshMs = performance.now() - refreshStart;
  const sections: SectionTiming[] = [];
  for (const section of options.sections ?? SECTION_NAMES) {
    const start = performance.now();
    await computeSection(section, { db, now: options.now ?? new Date(), prices });
    sections.push({ section, ms: performance.now() - start });
  }
  return { refreshMs, sections, totalMs: sections.reduce((sum, s) => sum + s.ms, 0) };
}

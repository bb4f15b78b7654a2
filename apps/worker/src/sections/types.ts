import type { SectionData, SectionName } from '@snapboard/shared';
import type pg from 'pg';
import type { PriceSource } from '../prices/index.ts';

/** What a section's compute may use: the database, the compute's start time, and prices. */
export interface SectionContext {
  db: Queryable;
  /** "now" of SPEC §3: the time the compute started, also the snapshot's computed_at. */
  now: Date;
  prices: PriceSource;
}

export type Queryable = Pick<pg.Pool, 'query'>;

export interface SectionComputer<K extends SectionName> {
  compute(ctx: SectionContext): Promise<SectionData[K]>;
}

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
  /**
   * A cadence refresh that needs no query: the last published data brought up to date from another
   * source (prices). Only used when the set's snapshot shows no change to the section's tables, so
   * the result is never from a newer database state than its neighbours (SPEC §10).
   */
  reprice?(last: SectionData[K], ctx: Pick<SectionContext, 'prices' | 'now'>): Promise<SectionData[K]>;
  /**
   * Computed from system trades (paper_trades.user_id IS NULL) alone: a change to users' trades cannot
   * move it, so a set leaves it out when the change log (migration 0008) shows only such changes.
   */
  systemTradesOnly?: true;
  /** Read together with the other sections of the same read when a set holds several of them. */
  shared?: SharedRead;
  /**
   * Its list items (the data, or the object's last field) are objects kept from one compute to the
   * next and never changed (a row reader's, bot.ts): their checked JSON is kept with them (decision 0021).
   */
  reusesItems?: true;
}

/**
 * One statement answering several sections that read the same rows (docs/decisions/0018): a set
 * that holds more than one of them asks it once instead of each section on its own.
 */
export interface SharedRead {
  /** The data of each of `sections`, exactly as each one's own compute would give it. */
  read(ctx: SectionContext, sections: readonly SectionName[]): Promise<Map<SectionName, unknown>>;
}

import { createHash } from 'node:crypto';
import type { SectionName } from '@snapboard/shared';
import type { SectionContext, SharedRead } from './types.ts';

/**
 * The sections over all history (performance_metrics, pnl_history, trading_stats, lite) read the
 * hourly rollups as of the reader's snapshot (decision 0002). Each read of
 * `snapboard_*_hours_current()` recomputes the hours the fold has not absorbed yet (a trade close
 * leaves two): read separately, the four cost seven such recomputes per change set. Here each
 * section is a part (its SQL over the rollups by name, and its `build`); parts read together are one
 * statement that reads each rollup once (docs/decisions/0018). A set asks `sharedHistory`'s read for
 * the sections it holds, a section computed alone asks for itself: the same SQL for each section,
 * only joined differently.
 */

/** What a part reads of the rollups, by the name the statement gives it. */
export type Rollup = 'closed_hours' | 'created_hours' | 'closed_chain_start';

const ROLLUPS: Record<Rollup, (closedFrom: string) => string> = {
  // The chain (migration 0009) at the last hour before the first one a marker in this snapshot says
  // changed: the summary of every hour up to it, in an hour's shape. None when a marker says rebuild
  // all (or nothing is folded yet): readers then chain every hour.
  closed_chain_start: () => `
    SELECT c.* FROM snapboard_closed_chain c,
      (SELECT coalesce(bool_or(hour IS NULL), false) AS all_hours, min(hour) AS first_hour
       FROM snapboard_dirty_hours WHERE rollup = 'closed') d
    WHERE NOT d.all_hours AND (d.first_hour IS NULL OR c.hour < d.first_hour)
    ORDER BY c.hour DESC
    LIMIT 1`,
  // The hours as of the snapshot (the folded ones, and those a marker says changed recomputed), from
  // the earliest hour a part reads on (migration 0010).
  closed_hours: (closedFrom) => `SELECT * FROM snapboard_closed_hours_current(${closedFrom})`,
  created_hours: () => 'SELECT * FROM snapboard_created_hours_current()',
};

/**
 * A part's `closedFrom` when it reads only the closed hours after the chain's start: the start's hour
 * (none: every hour). Hours up to it are in the start's summary.
 */
export const AFTER_CHAIN_START = `coalesce((SELECT hour FROM closed_chain_start), '-infinity'::timestamptz)`;

/** Binds a value and returns its placeholder (`$n`). */
export type Param = (value: string) => string;

export interface HistoryPart<T = unknown> {
  reads: readonly Rollup[];
  /**
   * A subquery returning exactly one row, over the rollups by their names in `Rollup`. Its column
   * names must differ from every other part's (they share the statement's one row).
   */
  sql(param: Param, now: Date): string;
  /**
   * For a part reading `closed_hours`: an SQL expression for the earliest hour it reads (it may use
   * `closed_chain_start` when the part reads that too). Without one the part is given every hour.
   */
  closedFrom?(param: Param, now: Date): string;
  build(row: Record<string, unknown>, now: Date): T;
}

export type HistoryParts = Readonly<Partial<Record<SectionName, HistoryPart>>>;

/**
 * The statement answering `parts`, and its parameters. Named after its text: each pooled connection
 * plans it once (planning this statement cost 1–2 ms, as much as most of its parts).
 */
export function historyStatement(parts: HistoryParts, now: Date): { name: string; text: string; values: string[] } {
  const values: string[] = [];
  const param: Param = (value) => {
    values.push(value);
    return `$${values.length}`;
  };
  const entries = Object.values(parts).filter((part): part is HistoryPart => part !== undefined);
  const reads = new Set(entries.flatMap((part) => part.reads));
  // The closed hours every part needs: from the earliest of their bounds (NULL, every hour, if one
  // part has none). A bound may read the chain's start, so that comes first (ROLLUPS' order).
  const closedReaders = entries.filter((part) => part.reads.includes('closed_hours'));
  const bounds = closedReaders.map((part) => part.closedFrom?.(param, now));
  const closedFrom = bounds.every((bound) => bound !== undefined)
    ? `least(${[...new Set(bounds)].join(', ')})`
    : 'NULL::timestamptz';
  const ctes = (Object.keys(ROLLUPS) as Rollup[])
    .filter((rollup) => reads.has(rollup))
    .map((rollup) => `${rollup} AS (${ROLLUPS[rollup](closedFrom)})`);
  // A rollup read by several parts is materialized once, in the statement's snapshot; one read by a
  // single part is inlined, exactly as the part's query alone would read it.
  const from = entries.map((part, i) => `(${part.sql(param, now)}) AS part${i}`).join('\n  CROSS JOIN ');
  const text = `${ctes.length ? `WITH ${ctes.join(',\n     ')}\n` : ''}SELECT * FROM ${from}`;
  const name = `snapboard_history_${createHash('sha1').update(text).digest('hex').slice(0, 16)}`;
  return { name, text, values };
}

/** Every section of `parts` from one statement. */
export async function readHistory(
  { db, now }: Pick<SectionContext, 'db' | 'now'>,
  parts: HistoryParts,
): Promise<Map<SectionName, unknown>> {
  const { rows } = await db.query<Record<string, unknown>>(historyStatement(parts, now));
  const row = rows[0] ?? {};
  const data = new Map<SectionName, unknown>();
  for (const [section, part] of Object.entries(parts) as [SectionName, HistoryPart | undefined][]) {
    if (part) data.set(section, part.build(row, now));
  }
  return data;
}

/** A section's computation from its part alone. */
export function computeFromPart<T>(section: SectionName, part: HistoryPart<T>) {
  return async (ctx: SectionContext): Promise<T> => (await readHistory(ctx, { [section]: part })).get(section) as T;
}

/** The shared read of `parts`: a set holding several of them reads them in one statement. */
export function sharedHistory(parts: HistoryParts): SharedRead {
  return {
    read(ctx, sections) {
      const unknown = sections.filter((section) => !parts[section]);
      if (unknown.length) throw new TypeError(`not read with the history: ${unknown.join(', ')}`);
      return readHistory(ctx, Object.fromEntries(sections.map((section) => [section, parts[section]])));
    },
  };
}

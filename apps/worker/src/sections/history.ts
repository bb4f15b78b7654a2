import type { SectionName } from '@snapboard/shared';
import type { SectionContext, SharedRead } from './types.ts';

/**
 * The sections over all history (performance_metrics, pnl_history, trading_stats, lite) read the
 * hourly rollups as of the reader's snapshot (decision 0002). Each read of
 * `snapboard_*_hours_current()` recomputes the hours the fold has not absorbed yet (a trade close
 * leaves two), so those four read separately cost seven such recomputes per change set. Read
 * together they are one statement that reads each rollup once (docs/decisions/0018): a set asks
 * `readHistory` for all of them, a section computed alone asks for itself, and both run the same SQL
 * for each section, only joined differently.
 */

/** The rollups a part reads, by the name the statement gives them. */
export type Rollup = 'closed_hours' | 'created_hours';

const ROLLUP_SOURCES: Record<Rollup, string> = {
  closed_hours: 'snapboard_closed_hours_current()',
  created_hours: 'snapboard_created_hours_current()',
};

/** Binds a value and returns its placeholder (`$n`). */
export type Param = (value: string) => string;

export interface HistoryPart<T = unknown> {
  reads: readonly Rollup[];
  /**
   * A subquery returning exactly one row, over the rollups by their names in `Rollup`. Its column
   * names must differ from every other part's (they share the statement's one row).
   */
  sql(param: Param, now: Date): string;
  build(row: Record<string, unknown>, now: Date): T;
}

export type HistoryParts = Readonly<Partial<Record<SectionName, HistoryPart>>>;

/** The statement answering `parts`, and its parameters. */
export function historyStatement(parts: HistoryParts, now: Date): { text: string; values: string[] } {
  const values: string[] = [];
  const param: Param = (value) => {
    values.push(value);
    return `$${values.length}`;
  };
  const entries = Object.values(parts).filter((part): part is HistoryPart => part !== undefined);
  const reads = new Set(entries.flatMap((part) => part.reads));
  const ctes = [...reads].map((rollup) => `${rollup} AS (SELECT * FROM ${ROLLUP_SOURCES[rollup]})`);
  // A rollup read by several parts is materialized once, in the statement's snapshot; one read by a
  // single part is inlined, exactly as the part's query alone would read it.
  const from = entries.map((part, i) => `(${part.sql(param, now)}) AS part${i}`).join('\n  CROSS JOIN ');
  const text = `${ctes.length ? `WITH ${ctes.join(',\n     ')}\n` : ''}SELECT * FROM ${from}`;
  return { text, values };
}

/** Every section of `parts` from one statement. */
export async function readHistory(
  { db, now }: Pick<SectionContext, 'db' | 'now'>,
  parts: HistoryParts,
): Promise<Map<SectionName, unknown>> {
  const { text, values } = historyStatement(parts, now);
  const { rows } = await db.query<Record<string, unknown>>(text, values);
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

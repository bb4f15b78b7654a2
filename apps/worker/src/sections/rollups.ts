import type pg from 'pg';
import type { Queryable } from './types.ts';

/**
 * The deadline of a fold that rebuilds a rollup from every trade (the first refresh after the
 * migration, a bulk load, a TRUNCATE): 3 s at 1,000,000 trades here, tens of seconds on a slow
 * disk — far past the worker's deadline for ordinary queries, which is kept short so that a silent
 * connection is given up within seconds. The client waits a little longer than the server would.
 */
export const LONG_FOLD_MS = { statement: 120_000, client: 125_000 } as const;

/** SQLSTATE query_canceled: the server's own statement_timeout, i.e. the server is alive and busy. */
const STATEMENT_TIMEOUT = '57014';

/**
 * Fold the pending "hour changed" markers into the hourly rollups (migration 0004) before a section
 * reads them. Usually there is nothing to do and it costs one empty-table probe; refreshes from
 * several sections or workers take turns inside the function.
 */
export async function refreshRollups(db: Queryable): Promise<number> {
  try {
    const { rows } = await db.query<{ markers: number }>('SELECT snapboard_refresh_rollups() AS markers');
    return rows[0]?.markers ?? 0;
  } catch (error) {
    // Only a server that answered "timed out" proves the fold is large rather than the connection
    // lost; a client-side deadline (no answer at all) is not retried here.
    if ((error as { code?: unknown }).code !== STATEMENT_TIMEOUT) throw error;
    return refreshRollupsLong(db);
  }
}

async function refreshRollupsLong(db: Queryable): Promise<number> {
  // One simple-query message runs as one implicit transaction: SET LOCAL lifts the server's limit
  // for the fold alone and is gone afterwards, whether the fold succeeds or fails.
  const query: pg.QueryConfig & { query_timeout: number } = {
    text: `SET LOCAL statement_timeout = ${LONG_FOLD_MS.statement}; SELECT snapboard_refresh_rollups() AS markers`,
    query_timeout: LONG_FOLD_MS.client,
  };
  const results = (await db.query(query)) as unknown as pg.QueryResult<{ markers: number }>[];
  return results[1]?.rows[0]?.markers ?? 0;
}

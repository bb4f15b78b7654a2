import type { Queryable } from './types.ts';

/**
 * Fold the pending "hour changed" markers into the hourly rollups (migration 0004) before a section
 * reads them. Usually there is nothing to do and it costs one empty-table probe; refreshes from
 * several sections or workers take turns inside the function.
 */
export async function refreshRollups(db: Queryable): Promise<number> {
  const { rows } = await db.query<{ markers: number }>('SELECT snapboard_refresh_rollups() AS markers');
  return rows[0]?.markers ?? 0;
}

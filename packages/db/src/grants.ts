/**
 * What the worker needs of the bot's database, for a role of its own (README, "Pointing it at the bot's
 * database"): it reads the bot's tables and never writes them; of snapboard's own tables it reads the
 * rollups and the change log, and the fold after each set (`snapboard_refresh_rollups()`, run with the
 * caller's rights) rewrites the rolled-up hours and deletes the markers it folded, as the change log's
 * trim deletes old entries. Everything else of snapboard's is written by the triggers, which run as their
 * owner (decision 0024). Run by the role that owns the tables (`npm run db:grant-worker`).
 */

const BOT_TABLES = ['paper_trades', 'signals_paperaccount', 'users', 'signals'];
/** Emptied as they are used: the change log by the trim, the dirty hours by the fold. */
const SNAPBOARD_EMPTIED = ['snapboard_change_log', 'snapboard_dirty_hours'];
/** Rewritten by the fold, hour by hour (DELETE then INSERT). */
const ROLLUPS = ['snapboard_closed_hours', 'snapboard_created_hours', 'snapboard_closed_chain'];

const IDENTIFIER = /^[a-z_][a-z0-9_$]{0,62}$/;

/** The GRANT statements that let `role` run the worker, and nothing more. */
export function workerGrants(role: string): string[] {
  if (!IDENTIFIER.test(role)) {
    throw new RangeError(
      `a role name here is lower case letters, digits, _ and $ (at most 63, not starting with a digit), got ${JSON.stringify(role)}`,
    );
  }
  return [
    `GRANT SELECT ON ${BOT_TABLES.join(', ')} TO ${role}`,
    `GRANT SELECT, DELETE ON ${SNAPBOARD_EMPTIED.join(', ')} TO ${role}`,
    `GRANT SELECT, INSERT, DELETE ON ${ROLLUPS.join(', ')} TO ${role}`,
  ];
}

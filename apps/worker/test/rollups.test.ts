import { type ClosablePool, createClosablePool } from '@snapboard/db';
import { useTestEnv } from '@snapboard/devenv/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { refreshRollups } from '../src/sections/rollups.ts';

/** The key snapboard_refresh_rollups() takes turns on (migration 0004). */
const FOLD_LOCK = 7231004119;

const env = useTestEnv();
let admin: ClosablePool;
beforeAll(() => {
  admin = createClosablePool({ connectionString: env.databaseUrl, max: 2 });
});
afterAll(() => admin.close());

/** A fold that cannot finish yet: a marker is pending and another session holds the fold's lock. */
async function holdFold(): Promise<pg.PoolClient> {
  await admin.query(`INSERT INTO snapboard_dirty_hours (rollup, hour) VALUES ('closed', NULL)`);
  const holder = await admin.connect();
  await holder.query('SELECT pg_advisory_lock($1)', [FOLD_LOCK]);
  return holder;
}

/** Backends in this database running a fold, other than the caller's. */
const FOLDS = `FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()
  AND query LIKE '%snapboard_refresh_rollups%' AND query NOT LIKE '%pg_stat_activity%'`;

async function release(holder: pg.PoolClient): Promise<void> {
  await holder.query('SELECT pg_advisory_unlock($1)', [FOLD_LOCK]);
  holder.release();
}

describe('rollup fold deadlines', () => {
  it('happy: a fold that outlasts the ordinary statement timeout is run again with the long one and completes', async () => {
    const pool = new pg.Pool({ connectionString: env.databaseUrl, max: 1, statement_timeout: 200, query_timeout: 400 });
    const holder = await holdFold();
    try {
      const folding = refreshRollups(pool);
      // Past the ordinary deadline and the client's: only the long one keeps it waiting.
      await new Promise((resolve) => setTimeout(resolve, 800));
      await release(holder);
      expect(await folding).toBeGreaterThanOrEqual(1);
      const { rows } = await pool.query<{ statement_timeout: string }>('SHOW statement_timeout');
      expect(rows[0]?.statement_timeout, 'the long limit is gone after the fold').toBe('200ms');
      const pending = await admin.query<{ n: number }>('SELECT count(*)::int AS n FROM snapboard_dirty_hours');
      expect(pending.rows[0]?.n).toBe(0);
    } finally {
      await pool.end();
    }
  });

  it('error: no answer at all (the client deadline) is not retried: the caller gets the error', async () => {
    const pool = new pg.Pool({ connectionString: env.databaseUrl, max: 1, query_timeout: 300 });
    pool.on('error', () => {});
    const holder = await holdFold();
    try {
      await expect(refreshRollups(pool)).rejects.toThrow(/timeout/i);
    } finally {
      // The fold whose client gave up still waits on the server for the lock: end it, or it would
      // fold the next test's markers.
      await admin.query(`SELECT pg_terminate_backend(pid) ${FOLDS}`);
      await release(holder);
      await pool.end();
    }
  });

  it('error: a long fold that fails leaves no transaction open on the pooled connection', async () => {
    const pool = new pg.Pool({ connectionString: env.databaseUrl, max: 1, statement_timeout: 200 });
    const holder = await holdFold();
    try {
      // Caught at once: the cancel's error may arrive before the assertion below is reached, and a
      // rejection nobody handles yet counts as unhandled.
      const failed = refreshRollups(pool).then(
        () => undefined,
        (error: unknown) => error,
      );
      const retried = `${FOLDS} AND query LIKE '%SET LOCAL%' AND wait_event_type = 'Lock'`;
      await expect
        .poll(async () => (await admin.query<{ n: number }>(`SELECT count(*)::int AS n ${retried}`)).rows[0]?.n)
        .toBe(1);
      // Cancel the retried fold from outside: it fails, and the connection must come back clean.
      await admin.query(`SELECT pg_cancel_backend(pid) ${retried}`);
      expect(await failed).toMatchObject({ message: expect.stringMatching(/cancel/i) });
      const { rows } = await pool.query<{ statement_timeout: string; xact: string | null }>(
        'SELECT current_setting($1) AS statement_timeout, txid_current_if_assigned()::text AS xact',
        ['statement_timeout'],
      );
      expect(rows[0]).toEqual({ statement_timeout: '200ms', xact: null });
    } finally {
      await release(holder);
      await pool.end();
    }
  });
});

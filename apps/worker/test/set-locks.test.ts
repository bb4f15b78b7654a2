import { setTimeout as sleep } from 'node:timers/promises';
import { type ClosablePool, createClosablePool } from '@snapboard/db';
import { useTestEnv } from '@snapboard/devenv/testing';
import { SECTION_NAMES } from '@snapboard/shared';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SET_TABLES } from '../src/changeset.ts';
import { createNoPrices } from '../src/prices/none.ts';
import { computeSection } from '../src/sections/index.ts';
import { insertFixture, trade } from './support/fixtures.ts';
import { LONG_TTLS, type RunningWorker, startWorker } from './support/harness.ts';

/**
 * A set holds its tables on several connections at once. A TRUNCATE (or the bot's ALTER TABLE) that
 * queues between them must not leave a helper waiting behind it while it waits for the set: the
 * statement timeout would end that cycle 10 s later with every member failed (seen in CI, in
 * test/e2e/hostile-rows.test.ts, which truncates the bot's tables while sets run).
 */

const env = useTestEnv();
let admin: ClosablePool;

beforeAll(async () => {
  admin = createClosablePool({ connectionString: env.databaseUrl, max: 3 });
  await insertFixture(admin, {
    users: [{ id: 1, username: 'alice' }],
    accounts: [],
    trades: [
      trade({ id: 1, user_id: 1, status: 'OPEN' }),
      trade({ id: 2, user_id: 1, status: 'CLOSED_TP', profit_loss: 5, exit_time: new Date().toISOString() }),
    ],
  });
});
afterAll(() => admin.close());

/** A started worker on `pool` that runs only the sets a test asks for (no cadence, no listener). */
async function startSetsOnly(pool: pg.Pool, name: string): Promise<RunningWorker> {
  const r = startWorker(env.config({ ...LONG_TTLS, KEY_PREFIX: `${env.keyPrefix}:${name}` }), {
    pool,
    schedule: false,
    listen: false,
  });
  try {
    await r.worker.start();
    // The start's own set, and the fold that follows it a moment later (decision 0022), are over before
    // a test's set begins: each takes pooled connections the test's set counts on.
    await expect.poll(() => r.logs.some((l) => l.msg === 'change set'), { timeout: 10_000 }).toBe(true);
    await sleep(FOLD_SETTLED_MS);
  } catch (error) {
    await r.worker.close();
    throw error;
  }
  return r;
}
/** Longer than the worker's delay from a set's publish to its fold (1 s), with the fold's own time. */
const FOLD_SETTLED_MS = 1500;

const everySection = () => new Map(SECTION_NAMES.map((s) => [s, 'manual'] as const));

/** Tables (not views, not catalogs) this backend holds a lock on. */
async function lockedTables(client: pg.PoolClient): Promise<string[]> {
  const { rows } = await client.query<{ relname: string }>(
    `SELECT DISTINCT c.relname FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
      WHERE l.pid = pg_backend_pid() AND c.relkind IN ('r', 'p') AND c.relnamespace <> 'pg_catalog'::regnamespace
      ORDER BY 1`,
  );
  return rows.map((r) => r.relname);
}

describe('the tables a set locks', () => {
  it('happy: SET_TABLES holds every table any section query reads', async () => {
    const client = await admin.connect();
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      for (const section of SECTION_NAMES) {
        await computeSection(section, { db: client, now: new Date(), prices: createNoPrices() });
      }
      const read = await lockedTables(client);
      expect(read.length, 'the sections read some tables').toBeGreaterThan(2);
      expect(read.filter((table) => !(SET_TABLES as readonly string[]).includes(table))).toEqual([]);
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
  });

  it('error: a TRUNCATE queued while the set opens its helper connections waits for the set; the set completes', async () => {
    // The worker's pool, but a connection checked out while a set's first connection has opened its
    // snapshot (a helper) is handed out only once a TRUNCATE is queued behind that set's locks.
    const pool = new pg.Pool({ connectionString: env.databaseUrl, max: 4, statement_timeout: 3000 });
    const connect = pool.connect.bind(pool) as (callback?: unknown) => Promise<pg.PoolClient> | undefined;
    // Armed once the worker has started (its first set is not the one under test).
    let armed = false;
    /** Helper lanes whose NOWAIT lock met the queued TRUNCATE, seen at the connection: the worker's
     * own queue may run a set beside the one runSet starts, and either may be the one that meets it. */
    let stoodAside = 0;
    let opened: pg.PoolClient | undefined;
    let truncating: Promise<unknown> | undefined;
    let queued: Promise<void> | undefined;
    // The first connection's section queries wait until a helper has its connection: else it could
    // run every query of the set before any helper joins, and no helper would meet the TRUNCATE.
    let helperHasConnection!: () => void;
    const helperReady = new Promise<void>((resolve) => {
      helperHasConnection = resolve;
    });
    // Each pooled client's query is wrapped once, whichever checkout first hands it out.
    const wrapped = new WeakSet<pg.PoolClient>();
    const wrap = (client: pg.PoolClient) => {
      wrapped.add(client);
      const query = client.query.bind(client) as (...args: unknown[]) => unknown;
      (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
        const text = typeof args[0] === 'string' ? args[0] : '';
        if (!armed) return query(...args);
        if (text.includes('pg_export_snapshot')) opened = client;
        else if (opened === client && /^(COMMIT|ROLLBACK)$/.test(text)) opened = undefined;
        else if (opened === client && !truncating) return helperReady.then(() => query(...args));
        if (text.includes('NOWAIT')) {
          return (query(...args) as Promise<unknown>).catch((error: { code?: string }) => {
            if (error.code === '55P03') stoodAside++;
            throw error;
          });
        }
        return query(...args);
      };
    };
    const checkout = async () => {
      const client = (await connect()) as pg.PoolClient;
      if (!wrapped.has(client)) wrap(client);
      // Every helper of the set under test waits until the TRUNCATE is queued behind the set's locks
      // (a helper handed out earlier could take them first and run every query).
      if (armed && opened) {
        queued ??= (async () => {
          truncating = admin.query('TRUNCATE signals_paperaccount');
          for (let waited = 0; ; waited += 20) {
            const { rows } = await admin.query<{ waiting: number }>(
              `SELECT count(*)::int AS waiting FROM pg_locks
                WHERE relation = 'signals_paperaccount'::regclass AND mode = 'AccessExclusiveLock' AND NOT granted`,
            );
            if (rows[0]!.waiting > 0) break;
            if (waited > 5000) throw new Error('the TRUNCATE never queued behind the set');
            await new Promise((resolve) => setTimeout(resolve, 20));
          }
          helperHasConnection();
        })();
        await queued;
      }
      return client;
    };
    // pool.query checks out with a callback; a set's connections are the promise checkouts.
    (pool as unknown as { connect: (callback?: unknown) => unknown }).connect = (callback?: unknown) =>
      callback ? connect(callback) : checkout();
    let r: RunningWorker | undefined;
    try {
      r = await startSetsOnly(pool, 'locks');
      armed = true;
      const set = await r.worker.runSet(everySection());
      expect(set.members.map((m) => m.section).sort()).toEqual([...SECTION_NAMES].sort());
      expect(stoodAside).toBeGreaterThanOrEqual(1);
      expect(set.lanesStoodAside).toBeLessThanOrEqual(stoodAside);
      await truncating;
      const { rows } = await admin.query<{ n: number }>('SELECT count(*)::int AS n FROM signals_paperaccount');
      expect(rows[0]!.n).toBe(0);
    } finally {
      await r?.worker.close();
      await pool.end();
    }
  });
});

describe("a set's prepared statements", () => {
  it('happy: the history reads are planned once per connection, never again at each execution', async () => {
    const pool = new pg.Pool({ connectionString: env.databaseUrl, max: 4 });
    let r: RunningWorker | undefined;
    try {
      r = await startSetsOnly(pool, 'plans');
      // Six executions per statement and connection at most: PostgreSQL's own choice would have
      // planned each of them afresh (a custom plan) before even considering a generic one.
      for (let i = 0; i < 6; i++) await r.worker.runSet(everySection());
      const clients = await Promise.all(Array.from({ length: pool.totalCount }, () => pool.connect()));
      const plans: { name: string; generic_plans: number; custom_plans: number }[] = [];
      for (const client of clients) {
        const { rows } = await client.query<(typeof plans)[number]>(
          `SELECT name, generic_plans::int, custom_plans::int FROM pg_prepared_statements
            WHERE name LIKE 'snapboard_history_%'`,
        );
        plans.push(...rows);
        client.release();
      }
      expect(plans.length, 'the sets ran prepared history reads').toBeGreaterThan(0);
      expect(plans.filter((p) => p.custom_plans > 0)).toEqual([]);
      expect(plans.every((p) => p.generic_plans > 0)).toBe(true);
    } finally {
      await r?.worker.close();
      await pool.end();
    }
  });
});

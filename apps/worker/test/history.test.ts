import { type ClosablePool, createClosablePool } from '@snapboard/db';
import { useTestEnv } from '@snapboard/devenv/testing';
import type { SectionName } from '@snapboard/shared';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNoPrices } from '../src/prices/none.ts';
import { ceilHour, HOUR_MS } from '../src/sections/convert.ts';
import { SECTION_COMPUTERS } from '../src/sections/index.ts';
import { build as buildLite } from '../src/sections/lite.ts';
import { build as buildPerformance } from '../src/sections/performance_metrics.ts';
import { build as buildPnl, PNL_POINTS, windowStart } from '../src/sections/pnl_history.ts';
import { build as buildStats, windowParams } from '../src/sections/trading_stats.ts';
import type { SectionContext } from '../src/sections/types.ts';
import { HOUR, insertFixture, randomTrades, resetTables } from './support/fixtures.ts';
import { LITE_SQL, PERFORMANCE_METRICS_SQL, PNL_HISTORY_SQL, TRADING_STATS_SQL } from './support/reference-sql.ts';

/**
 * Decision 0018: the four sections over all history read the rollups in one statement when a set
 * holds several of them. Whatever way they are read — each alone, all four together, two of them —
 * each one's data must be byte for byte what its own query gave before, in the same snapshot: the
 * reference is that SQL, kept verbatim in support/reference-sql.ts, built by the same `build`.
 */

const env = useTestEnv();
let db: ClosablePool;

beforeAll(() => {
  db = createClosablePool({ connectionString: env.databaseUrl, max: 2 });
});
afterAll(async () => {
  // Closed for real (every socket) before the database is dropped under it: pg's end() resolves first.
  await db.close();
});

const HISTORY: SectionName[] = ['performance_metrics', 'pnl_history', 'trading_stats', 'lite'];
const TOGETHER: SectionName[][] = [
  ['performance_metrics', 'pnl_history', 'lite'],
  ['lite', 'performance_metrics'],
  ['pnl_history', 'lite'],
];

async function reference(client: pg.PoolClient, now: Date): Promise<Record<string, string>> {
  const cutoff = now.getTime() - 24 * HOUR_MS;
  const start = windowStart(now);
  const performance = await client.query(PERFORMANCE_METRICS_SQL);
  const pnl = await client.query(PNL_HISTORY_SQL, [
    new Date(start).toISOString(),
    new Date(start + (PNL_POINTS - 1) * HOUR_MS).toISOString(),
  ]);
  const stats = await client.query(TRADING_STATS_SQL, windowParams(now));
  const lite = await client.query(LITE_SQL, [new Date(cutoff).toISOString(), new Date(ceilHour(cutoff)).toISOString()]);
  return {
    performance_metrics: JSON.stringify(buildPerformance(performance.rows[0])),
    pnl_history: JSON.stringify(buildPnl(pnl.rows, now)),
    trading_stats: JSON.stringify(buildStats(stats.rows)),
    lite: JSON.stringify(buildLite(lite.rows[0])),
  };
}

/** Every way of reading the four in one REPEATABLE READ snapshot, against the reference in it. */
async function expectSameEveryWay(label: string, now: Date): Promise<void> {
  const client = await db.connect();
  let failed = false;
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const expected = await reference(client, now);
    const ctx: SectionContext = { db: client, now, prices: createNoPrices() };
    for (const section of HISTORY) {
      const alone = await SECTION_COMPUTERS[section].compute(ctx);
      expect(JSON.stringify(alone), `${label}: ${section} alone`).toBe(expected[section]);
    }
    for (const sections of TOGETHER) {
      const shared = SECTION_COMPUTERS[sections[0] as SectionName].shared;
      expect(shared).toBeDefined();
      const data = await shared?.read(ctx, sections);
      for (const section of sections) {
        expect(JSON.stringify(data?.get(section)), `${label}: ${section} with ${sections.join(', ')}`).toBe(
          expected[section],
        );
      }
    }
    await client.query('COMMIT');
  } catch (error) {
    failed = true;
    throw error;
  } finally {
    // A failed check leaves its transaction open: that connection is not for the next test.
    client.release(failed);
  }
}

// Mid-hour, and exactly on an hour (the windows' partial first hours are then empty).
const MID_HOUR = new Date('2026-01-15T12:34:56.789Z');
const ON_HOUR = new Date('2026-01-15T12:00:00.000Z');

describe('the sections over all history, read together', () => {
  it('happy: byte for byte the same as each section read alone, folded or not, as the bot writes', async () => {
    await resetTables(db);
    const trades = randomTrades(20260118, 600, MID_HOUR.getTime());
    await insertFixture(db, {
      users: [
        { id: 1, username: 'alice' },
        { id: 2, username: 'bob' },
        { id: 3, username: 'carol' },
      ],
      accounts: [1, 2, 3].map((user_id) => ({
        user_id,
        balance: 1000 + user_id * 10.25,
        equity: 1000 + user_id * 11.5,
        total_pnl: user_id * 3.33,
        total_trades: user_id,
        win_rate: user_id * 12.5,
        auto_trading_enabled: user_id !== 2,
      })),
      trades,
    });
    // P&L with all 8 decimals, as the bot's closes have: their sums convert from long decimal texts.
    await db.query(
      `UPDATE paper_trades SET profit_loss = profit_loss + (id % 97) * 0.00000013 WHERE status LIKE 'CLOSED%'`,
    );
    const check = async (label: string) => {
      await expectSameEveryWay(`${label}, mid-hour`, MID_HOUR);
      await expectSameEveryWay(`${label}, on the hour`, ON_HOUR);
      // The chain the trigger keeps (migration 0009) is the one built from scratch, row for row.
      const { rows } = await db.query<{ kept: number; differ: number }>(
        `SELECT (SELECT count(*)::int FROM snapboard_closed_chain) AS kept,
                (SELECT count(*)::int FROM ((TABLE snapboard_closed_chain
                   EXCEPT ALL SELECT * FROM snapboard_closed_chain_from('-infinity'))
                 UNION ALL (SELECT * FROM snapboard_closed_chain_from('-infinity')
                   EXCEPT ALL TABLE snapboard_closed_chain)) d) AS differ`,
      );
      expect(rows[0]?.differ, `${label}: chain`).toBe(0);
      // The rollup from an hour on (migration 0010) is the whole one's hours from it on, recomputed
      // ones included: from before all history, mid-history, the last day, after the last hour, and NULL.
      const since = [null, '-infinity', '2026-01-10T07:00:00Z', '2026-01-14T13:00:00Z', '2026-02-01T00:00:00Z'];
      for (const from of since) {
        const { rows: diff } = await db.query<{ n: number; differ: number }>(
          `WITH part AS (SELECT * FROM snapboard_closed_hours_current($1::timestamptz)),
                whole AS (SELECT * FROM snapboard_closed_hours_current() WHERE hour >= coalesce($1::timestamptz, '-infinity'))
           SELECT (SELECT count(*)::int FROM part) AS n,
                  (SELECT count(*)::int FROM ((TABLE part EXCEPT ALL TABLE whole) UNION ALL (TABLE whole EXCEPT ALL TABLE part)) d) AS differ`,
          [from],
        );
        expect(diff[0]?.differ, `${label}: closed hours from ${from}`).toBe(0);
      }
      return rows[0]?.kept ?? 0;
    };

    await check('nothing folded');
    await db.query('SELECT snapboard_refresh_rollups()');
    expect(await check('folded')).toBeGreaterThan(100);

    // A close and an open now, unfolded: what a set reads after a trade of the bot.
    await db.query(
      `UPDATE paper_trades SET status = 'CLOSED_TP', exit_time = $1, profit_loss = 12.34567891
        WHERE id = (SELECT min(id) FROM paper_trades WHERE status = 'OPEN')`,
      [new Date(MID_HOUR.getTime() - 60_000).toISOString()],
    );
    await db.query(
      `INSERT INTO paper_trades (id, user_id, symbol, direction, market_type, status, created_at)
       VALUES (100000, 1, 'BTCUSDT', 'LONG', 'SPOT', 'OPEN', $1)`,
      [new Date(MID_HOUR.getTime() - 30_000).toISOString()],
    );
    await check('a close and an open unfolded');

    // Old hours changed (a moved exit, a P&L corrected, a delete) on top, still unfolded.
    await db.query(`UPDATE paper_trades SET exit_time = exit_time - interval '5 hours' WHERE id % 17 = 0`);
    await db.query(`UPDATE paper_trades SET profit_loss = -profit_loss WHERE id % 23 = 0 AND status LIKE 'CLOSED%'`);
    await db.query('DELETE FROM paper_trades WHERE id % 29 = 0');
    await check('old hours changed');
    await db.query('SELECT snapboard_refresh_rollups()');
    await check('folded again');

    await db.query('TRUNCATE paper_trades');
    await check('truncated, unfolded');
    await db.query('SELECT snapboard_refresh_rollups()');
    await check('empty');
  });

  it('happy: windows with no hours at all (every trade older than the week)', async () => {
    await resetTables(db);
    const old = MID_HOUR.getTime() - 60 * 24 * HOUR;
    await insertFixture(db, {
      users: [1, 2, 3].map((id) => ({ id, username: `user${id}` })),
      accounts: [],
      trades: randomTrades(7, 80, old),
    });
    await expectSameEveryWay('old history only', MID_HOUR);
    await db.query('SELECT snapboard_refresh_rollups()');
    await expectSameEveryWay('old history only, folded', MID_HOUR);
  });
});

import { type ClosablePool, createClosablePool } from '@snapboard/db';
import { useTestEnv } from '@snapboard/devenv/testing';
import { SECTION_NAMES, type SectionData, sectionDataSchemas } from '@snapboard/shared';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { PriceSource } from '../src/prices/index.ts';
import { round } from '../src/sections/convert.ts';
import { computeSection } from '../src/sections/index.ts';
import {
  type Fixture,
  HOUR,
  insertFixture,
  insertTrades,
  randomTrades,
  resetTables,
  trade,
} from './support/fixtures.ts';
import { differences, expectedAll, expectedPerformance } from './support/oracle.ts';

const env = useTestEnv();
let db: ClosablePool;

beforeAll(() => {
  db = createClosablePool({ connectionString: env.databaseUrl, max: 2 });
});
afterAll(async () => {
  // Closed for real (every socket) before the database is dropped under it: pg's end() resolves first.
  await db.close();
});
beforeEach(async () => {
  await resetTables(db);
});

function fixedPrices(prices: Record<string, number>): PriceSource {
  return {
    name: 'none',
    getPrices: async (symbols) =>
      new Map(symbols.filter((s) => prices[s] !== undefined).map((s) => [s, prices[s] as number])),
  };
}

async function computeAll(now: Date, prices: Record<string, number> = {}): Promise<SectionData> {
  const source = fixedPrices(prices);
  const entries = await Promise.all(
    SECTION_NAMES.map(async (section) => {
      const data = await computeSection(section, { db, now, prices: source });
      // Every section's output is what the shared schema promises readers.
      expect(sectionDataSchemas[section].safeParse(data).success, section).toBe(true);
      return [section, data] as const;
    }),
  );
  return Object.fromEntries(entries) as SectionData;
}

function expectMatches(actual: unknown, expected: unknown): void {
  expect(differences(actual, expected)).toEqual([]);
}

// Not on an hour boundary: the rolling windows start mid-hour.
const NOW = new Date('2026-01-15T12:34:56.789Z');
const at = (offsetMs: number) => new Date(NOW.getTime() + offsetMs).toISOString();
const PRICES = { BTCUSDT: 104.25, ETHUSDT: 1987.65, SOLUSDT: 151.1 };

const RICH: Fixture = {
  users: [
    { id: 1, username: 'alice' },
    { id: 2, username: 'bob' },
    { id: 3, username: 'carol' },
    { id: 4, username: 'dave' },
    { id: 5, username: 'erin' },
    { id: 6, username: 'frank' },
  ],
  accounts: [
    {
      user_id: 1,
      balance: 1012.5,
      equity: 1020.25,
      total_pnl: 12.5,
      total_trades: 3,
      win_rate: 66.67,
      auto_trading_enabled: true,
    },
    {
      user_id: 2,
      balance: 992.75,
      equity: 990.1,
      total_pnl: 150.5,
      total_trades: 2,
      win_rate: 50,
      auto_trading_enabled: false,
    },
    {
      user_id: 3,
      balance: 1000,
      equity: 1000,
      total_pnl: -3.2,
      total_trades: 0,
      win_rate: 0,
      auto_trading_enabled: true,
    },
    {
      user_id: 4,
      balance: 870.01,
      equity: 880.02,
      total_pnl: 99.99,
      total_trades: 7,
      win_rate: 42.86,
      auto_trading_enabled: null,
    },
    {
      user_id: 5,
      balance: 1150.5,
      equity: 1150.5,
      total_pnl: 150.5,
      total_trades: 4,
      win_rate: 75,
      auto_trading_enabled: true,
    },
    {
      user_id: 6,
      balance: null,
      equity: null,
      total_pnl: null,
      total_trades: null,
      win_rate: null,
      auto_trading_enabled: false,
    },
  ],
  trades: [
    // Open positions: LONG, SHORT FUTURES with leverage, FUTURES without leverage, a system trade,
    // a symbol without a price, zero quantity, an unknown direction, no created_at, no entry price,
    // and a created_at tie (the higher id first).
    trade({
      id: 1,
      user_id: 1,
      symbol: 'BTCUSDT',
      entry_price: 100,
      quantity: 0.5,
      position_size: 50,
      created_at: at(-HOUR),
      entry_time: at(-HOUR),
    }),
    trade({
      id: 2,
      user_id: 2,
      symbol: 'ETHUSDT',
      direction: 'SHORT',
      market_type: 'FUTURES',
      leverage: 10,
      entry_price: 2000,
      quantity: 0.05,
      position_size: 100,
      created_at: at(-2 * HOUR),
      entry_time: at(-2 * HOUR),
    }),
    trade({
      id: 3,
      user_id: null,
      symbol: 'SOLUSDT',
      market_type: 'FUTURES',
      leverage: null,
      entry_price: 150,
      quantity: 2,
      position_size: 300,
      created_at: at(-3 * HOUR),
    }),
    trade({ id: 4, user_id: 3, symbol: 'MISSINGUSDT', entry_price: 5, quantity: 20, created_at: at(-0.5 * HOUR) }),
    trade({ id: 5, user_id: 1, symbol: 'BTCUSDT', quantity: 0, created_at: at(-4 * HOUR) }),
    trade({
      id: 6,
      user_id: 2,
      symbol: 'ETHUSDT',
      direction: 'FLAT',
      entry_price: 1990,
      quantity: 0.1,
      created_at: at(-5 * HOUR),
    }),
    trade({ id: 7, user_id: 4, symbol: 'BTCUSDT', created_at: null }),
    trade({
      id: 8,
      user_id: 5,
      symbol: 'BTCUSDT',
      entry_price: null,
      quantity: null,
      position_size: null,
      created_at: at(-6 * HOUR),
    }),
    trade({
      id: 9,
      user_id: 6,
      symbol: 'BTCUSDT',
      direction: 'SHORT',
      entry_price: 104.25,
      quantity: 3,
      created_at: at(-HOUR),
    }),
    // Closed trades across the windows.
    trade({
      id: 20,
      user_id: 1,
      status: 'CLOSED_TP',
      profit_loss: 12.5,
      profit_loss_percentage: 12.5,
      exit_price: 112.5,
      entry_time: at(-30 * HOUR),
      exit_time: at(-26 * HOUR),
      created_at: at(-30 * HOUR),
    }),
    trade({
      id: 21,
      user_id: 2,
      status: 'CLOSED_SL',
      direction: 'SHORT',
      profit_loss: -7.25,
      profit_loss_percentage: -7.25,
      exit_price: 107.25,
      entry_time: at(-10 * HOUR),
      exit_time: at(-2 * HOUR),
      created_at: at(-10 * HOUR),
    }),
    trade({
      id: 22,
      user_id: null,
      status: 'CLOSED_MANUAL',
      profit_loss: 0,
      exit_price: 100,
      entry_time: at(-3 * HOUR),
      exit_time: at(-HOUR),
      created_at: at(-3 * HOUR),
    }),
    trade({
      id: 23,
      user_id: 3,
      status: 'CLOSED_TP',
      profit_loss: 30,
      exit_price: 130,
      entry_time: at(-820 * HOUR),
      exit_time: at(-800 * HOUR),
      created_at: at(-820 * HOUR),
    }),
    trade({
      id: 24,
      user_id: 4,
      status: 'CLOSED_SL',
      profit_loss: -40.125,
      exit_price: 59.875,
      entry_time: at(-5 * HOUR),
      exit_time: null,
      created_at: at(-5 * HOUR),
    }),
    trade({
      id: 25,
      user_id: 5,
      status: 'CLOSED_TP',
      profit_loss: 5,
      exit_price: 105,
      entry_time: null,
      exit_time: at(-HOUR / 3),
      created_at: at(-2 * HOUR),
    }),
    trade({
      id: 26,
      user_id: 1,
      status: 'CLOSED_TP',
      profit_loss: 3,
      exit_price: 103,
      entry_time: at(-9 * HOUR),
      exit_time: at(-2 * HOUR),
      created_at: at(-9 * HOUR),
    }),
    trade({
      id: 27,
      user_id: 2,
      status: 'CLOSED_MANUAL',
      profit_loss: null,
      profit_loss_percentage: null,
      entry_time: at(-4 * HOUR),
      exit_time: at(-3 * HOUR),
      created_at: at(-4 * HOUR),
    }),
    trade({
      id: 28,
      user_id: 3,
      status: 'CLOSED_TP',
      profit_loss: 1.75,
      entry_time: at(-25 * HOUR),
      exit_time: at(-24 * HOUR + 600_000),
      created_at: at(-24 * HOUR + 300_000),
    }),
    trade({
      id: 29,
      user_id: 3,
      status: 'CLOSED_SL',
      profit_loss: -2.5,
      entry_time: at(-25 * HOUR),
      exit_time: at(-24 * HOUR - 600_000),
      created_at: at(-24 * HOUR - 300_000),
    }),
    trade({
      id: 30,
      user_id: 4,
      status: 'CLOSED_TP',
      profit_loss: 4,
      entry_time: at(-HOUR),
      exit_time: at(2 * HOUR),
      created_at: at(-HOUR),
    }),
    trade({
      id: 31,
      user_id: 5,
      status: 'CLOSED_SL',
      profit_loss: -60.5,
      entry_time: at(-200 * HOUR),
      exit_time: at(-190 * HOUR),
      created_at: at(-7 * 24 * HOUR + 60_000),
    }),
    // Neither open nor closed, some in and some out of the windows.
    trade({ id: 40, status: 'CANCELLED', created_at: at(-48 * HOUR) }),
    trade({ id: 41, status: 'PENDING', created_at: at(-6 * 24 * HOUR) }),
    trade({ id: 42, status: 'WEIRD', created_at: at(-10 * 24 * HOUR) }),
    trade({ id: 43, status: 'CANCELLED', created_at: at(-7 * 24 * HOUR - 60_000) }),
  ],
};

describe('sections from known rows', () => {
  it('happy: every field of every section matches the values computed from the rows', async () => {
    await insertFixture(db, RICH);
    const actual = await computeAll(NOW, PRICES);
    const expected = expectedAll(RICH, NOW, PRICES);
    for (const section of SECTION_NAMES) expectMatches(actual[section], expected[section]);

    // A few figures spelled out, so a shared misreading of the SPEC by oracle and worker shows.
    const positions = actual.open_positions;
    expect(positions.map((p) => p.trade_id)).toEqual([4, 9, 1, 2, 3, 5, 6, 8, 7]);
    expect(positions.find((p) => p.trade_id === 1)).toMatchObject({
      unrealized_pnl: 2.125,
      unrealized_pnl_pct: 4.25,
      price_change: 4.25,
      price_change_pct: 4.25,
      has_real_time_price: true,
      username: 'alice',
    });
    // SHORT, FUTURES x10: (2000 - 1987.65) * 0.05 * 10.
    expect(positions.find((p) => p.trade_id === 2)?.unrealized_pnl).toBe(6.175);
    // FUTURES without leverage: no multiplier; a system trade has no user.
    expect(positions.find((p) => p.trade_id === 3)).toMatchObject({
      unrealized_pnl: 2.2,
      user_id: null,
      username: null,
    });
    expect(positions.find((p) => p.trade_id === 4)).toMatchObject({
      current_price: null,
      unrealized_pnl: 0,
      unrealized_pnl_pct: 0,
      price_change: null,
      price_change_pct: null,
      has_real_time_price: false,
    });
    expect(actual.recent_trades.map((t) => t.trade_id)).toEqual([30, 25, 22, 26, 21, 27, 28, 29, 20, 31, 23, 24]);
    expect(actual.performance_metrics).toMatchObject({
      total_closed_trades: 12,
      profitable_trades: 6,
      losing_trades: 4,
      best_trade: 30,
      worst_trade: -60.5,
    });
    expect(actual.top_performers.map((p) => p.user_id)).toEqual([2, 5, 4, 1, 3]);
    expect(actual.trading_stats.all_time).toEqual({ total_trades: 25, open_trades: 9, closed_trades: 12 });
    expect(actual.lite.daily_pnl).toBe(12.5 - 12.5 + (-7.25 + 0 + 5 + 3 + 1.75 + 4));
    expect(actual.pnl_history).toHaveLength(720);
    expect(actual.pnl_history[719]?.t).toBe('2026-01-15T12:00:00.000Z');
  });

  it('edge: no trades and no accounts at all', async () => {
    const actual = await computeAll(NOW, PRICES);
    const expected = expectedAll({ users: [], accounts: [], trades: [] }, NOW, PRICES);
    for (const section of SECTION_NAMES) expectMatches(actual[section], expected[section]);
    expect(actual.performance_metrics).toEqual({
      total_closed_trades: 0,
      profitable_trades: 0,
      losing_trades: 0,
      total_profit: 0,
      total_loss: 0,
      avg_profit: 0,
      avg_loss: 0,
      win_rate: 0,
      best_trade: null,
      worst_trade: null,
      avg_duration_hours: null,
      profit_factor: null,
      max_drawdown: 0,
    });
    expect(actual.overview.total_accounts).toBe(0);
    expect(actual.pnl_history.every((p) => p.pnl === 0)).toBe(true);
  });

  it('edge: only break-even trades count in the total and nowhere else', async () => {
    const trades = [1, 2, 3].map((id) =>
      trade({
        id,
        status: 'CLOSED_MANUAL',
        profit_loss: 0,
        entry_time: at(-2 * HOUR),
        exit_time: at(-HOUR + id),
        created_at: at(-2 * HOUR),
      }),
    );
    await insertTrades(db, trades);
    const actual = await computeAll(NOW);
    expect(actual.performance_metrics).toEqual({
      total_closed_trades: 3,
      profitable_trades: 0,
      losing_trades: 0,
      total_profit: 0,
      total_loss: 0,
      avg_profit: 0,
      avg_loss: 0,
      win_rate: 0,
      best_trade: 0,
      worst_trade: 0,
      avg_duration_hours: 1,
      profit_factor: null,
      max_drawdown: 0,
    });
    expectMatches(actual.performance_metrics, expectedPerformance({ users: [], accounts: [], trades }));
  });

  it('edge: a drawdown that spans hours, with a close without exit_time counted last', async () => {
    // Peak 10 in one hour, down to -5 two hours later: 15; then a close with no exit_time falls 20 more.
    const trades = [
      trade({ id: 1, status: 'CLOSED_TP', profit_loss: 10, exit_time: at(-5 * HOUR), created_at: at(-6 * HOUR) }),
      trade({ id: 2, status: 'CLOSED_SL', profit_loss: -6, exit_time: at(-4 * HOUR), created_at: at(-6 * HOUR) }),
      trade({ id: 3, status: 'CLOSED_SL', profit_loss: -9, exit_time: at(-3 * HOUR), created_at: at(-6 * HOUR) }),
      trade({ id: 4, status: 'CLOSED_TP', profit_loss: 4, exit_time: at(-2 * HOUR), created_at: at(-6 * HOUR) }),
      trade({ id: 5, status: 'CLOSED_SL', profit_loss: -20, exit_time: null, created_at: at(-6 * HOUR) }),
    ];
    await insertTrades(db, trades);
    const actual = await computeAll(NOW);
    expect(actual.performance_metrics.max_drawdown).toBe(31);
    expectMatches(actual.performance_metrics, expectedPerformance({ users: [], accounts: [], trades }));
  });
});

describe('hourly rollups stay exact as the bot writes', () => {
  it('happy: random history, then closes, reopened hours, moved exits, deletes and a truncate', async () => {
    const now = NOW;
    const trades = randomTrades(20260115, 400, now.getTime());
    const fixture: Fixture = { users: RICH.users.slice(0, 3), accounts: [], trades };
    await insertFixture(db, fixture);
    const check = async (label: string) => {
      const actual = await computeAll(now);
      const expected = expectedAll(fixture, now, {});
      for (const section of SECTION_NAMES) {
        expect(differences(actual[section], expected[section]), `${label}: ${section}`).toEqual([]);
      }
    };
    await check('initial');

    // Close every open trade in one statement, at scattered times (some long ago: out of order).
    const open = trades.filter((t) => t.status === 'OPEN');
    expect(open.length).toBeGreaterThan(10);
    for (const [i, t] of open.entries()) {
      t.status = i % 2 ? 'CLOSED_TP' : 'CLOSED_SL';
      t.exit_time = new Date(now.getTime() - (i % 7) * 37 * HOUR - i * 1000).toISOString();
      t.profit_loss = i % 2 ? 1.5 * i : -0.75 * i;
    }
    await db.query(
      `UPDATE paper_trades p SET status = c.status, exit_time = c.exit_time, profit_loss = c.profit_loss
       FROM json_populate_recordset(NULL::paper_trades, $1) c WHERE p.id = c.id`,
      [JSON.stringify(open)],
    );
    await check('after closing');

    // Move some exits to other hours, change a P&L, reopen one: every old and new hour is redone.
    const moved = trades.filter((t) => t.status.startsWith('CLOSED')).slice(0, 30);
    for (const [i, t] of moved.entries()) {
      if (i % 3 === 0)
        t.exit_time = t.exit_time ? new Date(Date.parse(t.exit_time) - 5 * HOUR).toISOString() : at(-HOUR);
      if (i % 3 === 1) t.profit_loss = (t.profit_loss ?? 0) * -2 + 0.01;
      if (i % 3 === 2) t.status = 'OPEN';
    }
    await db.query(
      `UPDATE paper_trades p SET status = c.status, exit_time = c.exit_time, profit_loss = c.profit_loss
       FROM json_populate_recordset(NULL::paper_trades, $1) c WHERE p.id = c.id`,
      [JSON.stringify(moved)],
    );
    await check('after moving');

    // An update that changes nothing the rollups read marks nothing.
    await db.query('SELECT snapboard_refresh_rollups()');
    const touched = at(-30_000);
    await db.query('UPDATE paper_trades SET updated_at = $1 WHERE id <= 50', [touched]);
    // The bot's API shows updated_at (SPEC §11), so the oracle must know it too.
    for (const t of trades) if (t.id <= 50) t.updated_at = touched;
    const { rows } = await db.query<{ n: string }>('SELECT count(*) AS n FROM snapboard_dirty_hours');
    expect(rows[0]?.n).toBe('0');

    const gone = new Set(trades.filter((_, i) => i % 5 === 0).map((t) => t.id));
    await db.query('DELETE FROM paper_trades WHERE id = ANY($1)', [[...gone]]);
    fixture.trades = trades.filter((t) => !gone.has(t.id));
    await check('after deleting');

    await db.query('TRUNCATE paper_trades');
    fixture.trades = [];
    await check('after truncate');
  });
});

describe('round', () => {
  it('rounds half away from zero on the decimal value, like numeric round()', () => {
    expect(round(1.005, 2)).toBe(1.01);
    expect(round(-1.005, 2)).toBe(-1.01);
    expect(round(2.675, 2)).toBe(2.68);
    expect(round(0.123456785, 8)).toBe(0.12345679);
    expect(round(-0.000000001, 8)).toBe(0);
    expect(Object.is(round(-0.000000001, 8), -0)).toBe(false);
    expect(round(1e-12, 4)).toBe(0);
    expect(round(123456.123456789, 8)).toBe(123456.12345679);
    expect(round(Number.NaN, 2)).toBe(0);
  });
});

import { type ClosablePool, createClosablePool } from '@snapboard/db';
import { useTestEnv } from '@snapboard/devenv/testing';
import { checkedJsonReusingItems, performanceFromHours, type SectionData, sectionDataSchemas } from '@snapboard/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PriceSource } from '../src/prices/index.ts';
import { computeSection, SECTION_COMPUTERS } from '../src/sections/index.ts';
import {
  oracleBotOpenPositions,
  oracleBotPerformance,
  oracleBotTrades,
  oracleRecentClosed,
} from './support/bot-oracle.ts';
import {
  HOUR,
  insertFixture,
  insertTrades,
  randomTrades,
  resetTables,
  type TradeRow,
  trade,
} from './support/fixtures.ts';
import { differences } from './support/oracle.ts';

/**
 * The four bot_* sections (SPEC §11) against the plain-SQL oracle (support/bot-oracle.ts) over a
 * seeded dataset: system and user trades, every status, trades with and without signals, missing
 * entry and exit times, FUTURES with and without leverage, a symbol without a price, more than 500
 * system trades, and history over more than a year for the `days` windows.
 */

const env = useTestEnv();
let db: ClosablePool;

const NOW = new Date('2026-01-15T12:34:56.789Z');
const at = (offsetMs: number) => new Date(NOW.getTime() + offsetMs).toISOString();
// DOGEUSDT has no price.
const PRICES = { BTCUSDT: 104.25, ETHUSDT: 1987.65, SOLUSDT: 151.1 };
const DAY = 24 * HOUR;

const KNOWN: TradeRow[] = [
  // Open system trades: priced LONG SPOT with a signal, SHORT FUTURES x10, FUTURES without leverage,
  // a symbol without a price, one without created_at.
  trade({
    id: 1,
    signal_id: 1,
    entry_price: 100,
    quantity: 0.5,
    position_size: 50,
    entry_time: at(-2 * HOUR),
    created_at: at(-2 * HOUR),
    updated_at: at(-HOUR),
  }),
  trade({
    id: 2,
    signal_id: 2,
    symbol: 'ETHUSDT',
    direction: 'SHORT',
    market_type: 'FUTURES',
    leverage: 10,
    entry_price: 2000,
    quantity: 0.05,
    stop_loss: 2100,
    take_profit: 1800,
    entry_time: at(-30 * HOUR),
    created_at: at(-30 * HOUR),
  }),
  trade({
    id: 3,
    symbol: 'SOLUSDT',
    market_type: 'FUTURES',
    entry_price: 140,
    quantity: 0.2,
    position_size: 28,
    stop_loss: 130,
    take_profit: 170,
    entry_time: at(-5 * DAY),
    created_at: at(-5 * DAY),
  }),
  trade({
    id: 4,
    symbol: 'DOGEUSDT',
    entry_price: 0.25,
    quantity: 400,
    stop_loss: 0.2,
    take_profit: 0.35,
    entry_time: null,
    created_at: at(-HOUR),
  }),
  trade({ id: 5, symbol: 'BTCUSDT', direction: 'SHORT', entry_price: 110, stop_loss: 105, created_at: null }),
  // Priced, but no entry price to measure from: shown with its price, no P&L.
  trade({ id: 15, entry_price: null, position_size: 12.345, created_at: at(-50 * DAY) }),
  // Neither open nor closed.
  trade({ id: 6, status: 'PENDING', created_at: at(-3 * HOUR) }),
  trade({ id: 7, status: 'CANCELLED', signal_id: 1, created_at: at(-40 * DAY) }),
  // Closed system trades: a big win, a loss, break-even, a tiny loss, missing times, a future one.
  trade({
    id: 8,
    status: 'CLOSED_TP',
    profit_loss: 1234567.891,
    profit_loss_percentage: 12.3456,
    exit_price: 1234.56789,
    entry_time: at(-10 * HOUR),
    exit_time: at(-9 * HOUR),
    created_at: at(-10 * HOUR),
  }),
  trade({
    id: 9,
    status: 'CLOSED_SL',
    profit_loss: -12.3,
    profit_loss_percentage: -12.3,
    exit_price: 95,
    entry_time: at(-4 * DAY),
    exit_time: at(-3 * DAY),
    created_at: at(-4 * DAY),
  }),
  trade({
    id: 10,
    status: 'CLOSED_MANUAL',
    profit_loss: 0,
    exit_price: 100,
    entry_time: at(-20 * DAY),
    exit_time: at(-20 * DAY + 90 * 60_000),
    created_at: at(-20 * DAY),
  }),
  trade({
    id: 11,
    status: 'CLOSED_SL',
    profit_loss: -0.004,
    exit_price: 99.99,
    entry_time: null,
    exit_time: at(-9 * HOUR),
    created_at: at(-200 * DAY),
  }),
  trade({
    id: 12,
    status: 'CLOSED_TP',
    profit_loss: 7.5,
    exit_price: 115,
    entry_time: at(-400 * DAY),
    exit_time: null,
    created_at: at(-400 * DAY),
  }),
  trade({
    id: 13,
    status: 'CLOSED_TP',
    profit_loss: 2.25,
    exit_price: 104,
    entry_time: at(-HOUR),
    exit_time: at(30 * 60_000),
    created_at: at(2 * HOUR),
  }),
  // A LONG whose stop is above its entry: no positive risk, ratio 0.
  trade({
    id: 14,
    status: 'CLOSED_SL',
    stop_loss: 120,
    profit_loss: -1,
    exit_price: 99,
    entry_time: at(-6 * DAY),
    exit_time: at(-6 * DAY + HOUR),
    created_at: at(-6 * DAY),
  }),
  // The same shapes for users: none of them counts anywhere.
  ...['OPEN', 'PENDING', 'CLOSED_TP', 'CLOSED_SL', 'CLOSED_MANUAL', 'CANCELLED'].map((status, i) =>
    trade({
      id: 20 + i,
      user_id: 1 + (i % 2),
      status,
      profit_loss: status.startsWith('CLOSED') ? 999 : 0,
      exit_time: status.startsWith('CLOSED') ? at(-HOUR) : null,
      created_at: at(-HOUR + i),
    }),
  ),
];

function fixedPrices(prices: Record<string, number>): PriceSource {
  return {
    name: 'none',
    getPrices: async (symbols) =>
      new Map(symbols.filter((s) => prices[s] !== undefined).map((s) => [s, prices[s] as number])),
  };
}

async function compute(): Promise<
  Pick<SectionData, 'bot_trades' | 'bot_performance' | 'bot_open_positions' | 'bot_summary'>
> {
  const ctx = { db, now: NOW, prices: fixedPrices(PRICES) };
  const [trades, performance, open, summary] = await Promise.all([
    computeSection('bot_trades', ctx),
    computeSection('bot_performance', ctx),
    computeSection('bot_open_positions', ctx),
    computeSection('bot_summary', ctx),
  ]);
  expect(sectionDataSchemas.bot_trades.safeParse(trades).success).toBe(true);
  expect(sectionDataSchemas.bot_performance.safeParse(performance).success).toBe(true);
  expect(sectionDataSchemas.bot_open_positions.safeParse(open).success).toBe(true);
  expect(sectionDataSchemas.bot_summary.safeParse(summary).success).toBe(true);
  return { bot_trades: trades, bot_performance: performance, bot_open_positions: open, bot_summary: summary };
}

const same = (actual: unknown, expected: unknown, what: string) =>
  expect(differences(actual, expected), what).toEqual([]);

beforeAll(async () => {
  db = createClosablePool({ connectionString: env.databaseUrl, max: 4 });
});
afterAll(async () => {
  // Closed for real before the database is dropped under it.
  await db.close();
});

const USERS = [
  { id: 1, username: 'alice' },
  { id: 2, username: 'bob' },
  { id: 3, username: 'carol' },
];

async function seedKnown(trades: TradeRow[]): Promise<void> {
  await resetTables(db);
  await insertFixture(db, { users: USERS, accounts: [], trades: [] });
  await db.query(
    `INSERT INTO symbols (id, symbol, market_type) VALUES (1, 'BTCUSDT', 'SPOT'), (2, 'ETHUSDT', 'FUTURES')`,
  );
  await db.query(
    `INSERT INTO signals (id, symbol_id, direction, timeframe, entry, sl, tp, confidence, status, market_type)
     VALUES (1, 1, 'LONG', '1h', 100, 95, 110, 0.85, 'EXECUTED', 'SPOT'),
            (2, 2, 'SHORT', '4h', 2000, 2100, 1800, 0.6, 'EXECUTED', 'FUTURES')`,
  );
  await insertTrades(db, trades);
}

describe('bot sections against the SQL oracle', () => {
  it('happy: known rows, field by field, with a few figures spelled out', async () => {
    await seedKnown(KNOWN);
    const actual = await compute();
    const performance = await oracleBotPerformance(db, PRICES, null);
    same(actual.bot_trades, await oracleBotTrades(db), 'bot_trades');
    same(actual.bot_open_positions, await oracleBotOpenPositions(db, PRICES), 'bot_open_positions');
    const { hours, ...allTime } = actual.bot_performance;
    same(allTime, performance, 'bot_performance');
    same(actual.bot_summary.performance, performance, 'bot_summary.performance');
    same(actual.bot_summary.recent_closed_trades, await oracleRecentClosed(db), 'recent_closed_trades');
    // The bot_* figures are copies of the summary's own performance (checked against the oracle above).
    const own = actual.bot_summary.performance;
    expect(actual.bot_summary).toMatchObject({
      open_trades_count: 6,
      bot_total_pnl: own.total_pnl,
      bot_win_rate: own.win_rate,
      bot_total_trades: own.total_trades,
      bot_realized_pnl: own.total_profit_loss,
      bot_unrealized_pnl: own.unrealized_pnl,
    });
    // Sums of 8-place amounts carry no float noise: 2.125 + 6.175 + 2.22 + 0 + 5.75, exactly.
    expect(actual.bot_open_positions.total_unrealized_pnl).toBe(16.27);
    expect(own.unrealized_pnl).toBe(16.27);
    expect(hours.length).toBeGreaterThan(5);

    // Spelled out, so a misreading shared by worker and oracle shows.
    const big = actual.bot_trades.find((t) => t.id === 8);
    expect(big).toMatchObject({
      profit_loss: '1234567.89100000',
      profit_loss_formatted: '+$1,234,567.89',
      profit_loss_percentage: '12.3456',
      realized_pnl: '1234567.89100000',
      profit_loss_pct: '12.3456',
      exit_price_formatted: '$1,234.5679',
      entry_price_formatted: '$100.0000',
      duration_hours: 1,
      risk_reward_ratio: 2,
      is_open: false,
      is_closed: true,
      is_profitable: true,
      signal_id: null,
      signal_confidence: null,
    });
    expect(actual.bot_trades.find((t) => t.id === 11)?.profit_loss_formatted).toBe('-$0.00');
    expect(actual.bot_trades.find((t) => t.id === 10)?.profit_loss_formatted).toBe('+$0.00');
    expect(actual.bot_trades.find((t) => t.id === 14)?.risk_reward_ratio).toBe(0);
    expect(actual.bot_trades.find((t) => t.id === 1)).toMatchObject({
      signal_direction: 'LONG',
      signal_timeframe: '1h',
      signal_confidence: 0.85,
      created_at: at(-2 * HOUR)
        .replace('T', ' ')
        .slice(0, 19),
      updated_at: at(-HOUR).replace('T', ' ').slice(0, 19),
      entry_price: '100.00000000',
      is_open: true,
    });
    expect(actual.bot_trades.find((t) => t.id === 6)?.is_open).toBe(true);
    expect(actual.bot_trades.map((t) => t.id)).not.toContain(20);
    const positions = actual.bot_open_positions.positions;
    expect(positions.map((p) => p.trade_id)).toEqual([4, 1, 2, 3, 15, 5]);
    expect(positions.find((p) => p.trade_id === 15)).toMatchObject({
      current_price: 104.25,
      current_value: 12.35,
      unrealized_pnl: 0,
      price_change: 0,
      has_real_time_price: true,
    });
    // SHORT FUTURES x10: (2000 − 1987.65) × 0.05 × 10.
    expect(positions.find((p) => p.trade_id === 2)).toMatchObject({ unrealized_pnl: 6.175, risk_reward_ratio: 2 });
    // FUTURES without leverage: no multiplier.
    expect(positions.find((p) => p.trade_id === 3)?.unrealized_pnl).toBeCloseTo(2.22, 10);
    expect(positions.find((p) => p.trade_id === 4)).toMatchObject({
      user: 'System',
      current_price: null,
      current_value: 100,
      unrealized_pnl: 0,
      unrealized_pnl_pct: 0,
      price_change: 0,
      price_change_pct: 0,
      has_real_time_price: false,
    });
    expect(actual.bot_summary.recent_closed_trades.map((t) => t.id)).toEqual([13, 11, 8, 9, 14, 10, 12]);
  });

  it('happy: days windows summed from the hourly figures match the oracle at every boundary', async () => {
    await seedKnown([...KNOWN, ...randomTrades(20260115, 3000, NOW.getTime(), 1000)]);
    const actual = await compute();
    same(actual.bot_trades, await oracleBotTrades(db), 'bot_trades over a full window');
    expect(actual.bot_trades).toHaveLength(500);
    const { hours, ...allTime } = actual.bot_performance;
    same(allTime, await oracleBotPerformance(db, PRICES, null), 'all time');
    for (const days of [1, 2, 5, 7, 20, 30, 39, 90, 200, 365]) {
      const from = Math.floor((NOW.getTime() - days * DAY) / HOUR) * HOUR;
      const answer = performanceFromHours(hours, from, allTime.unrealized_pnl);
      same(answer, await oracleBotPerformance(db, PRICES, new Date(from)), `days=${days}`);
    }
  });

  it("happy: read together, as a bot-trade close's set reads them, each section is exactly its own compute", async () => {
    await seedKnown([...KNOWN, ...randomTrades(20260116, 2000, NOW.getTime(), 1000)]);
    const ctx = { db, now: NOW, prices: fixedPrices(PRICES) };
    const alone = await compute();
    const read = SECTION_COMPUTERS.bot_summary.shared;
    expect(read).toBeDefined();
    expect(SECTION_COMPUTERS.bot_performance.shared).toBe(read);
    expect(SECTION_COMPUTERS.bot_open_positions.shared).toBe(read);
    const groups = [
      ['bot_performance', 'bot_summary', 'bot_open_positions'],
      ['bot_performance', 'bot_summary'],
      ['bot_summary', 'bot_open_positions'],
      ['bot_performance', 'bot_open_positions'],
    ] as const;
    for (const group of groups) {
      const together = await read?.read(ctx, group);
      expect([...(together?.keys() ?? [])].sort(), group.join('+')).toEqual([...group].sort());
      // Exactly: the all-time row summed in SQL is the aggregate's own total, to the last digit.
      for (const section of group)
        expect(together?.get(section), `${section} in ${group.join('+')}`).toEqual(alone[section]);
    }
    await expect(read?.read(ctx, ['bot_summary', 'lite'])).rejects.toThrow(/not read with the bot's sections: lite/);
  });

  it('happy: a change rebuilds only the rows it touched; what is reused is what building it again gives', async () => {
    await seedKnown([...KNOWN, ...randomTrades(20260117, 1500, NOW.getTime(), 1000)]);
    const before = await compute();
    const { rows } = await db.query<{ id: string }>(
      `SELECT id FROM paper_trades WHERE user_id IS NULL AND status = 'OPEN' ORDER BY created_at DESC NULLS LAST, id DESC LIMIT 1`,
    );
    const closed = Number(rows[0]?.id);
    await db.query(
      `UPDATE paper_trades SET status = 'CLOSED_TP', exit_price = entry_price * 1.01, exit_time = $2,
              profit_loss = 1.25, updated_at = $2 WHERE id = $1`,
      [closed, NOW.toISOString()],
    );
    const after = await compute();
    same(after.bot_trades, await oracleBotTrades(db), 'bot_trades after the close');
    const { hours, ...allTime } = after.bot_performance;
    same(allTime, await oracleBotPerformance(db, PRICES, null), 'bot_performance after the close');
    same(after.bot_summary.recent_closed_trades, await oracleRecentClosed(db), 'recent_closed_trades after the close');
    // The closed trade's item is new; every other item of the window is the one built before.
    const earlier = new Map(before.bot_trades.map((t) => [t.id, t]));
    const rebuilt = after.bot_trades.filter((t) => earlier.get(t.id) !== t).map((t) => t.id);
    expect(rebuilt).toEqual([closed]);
    expect(after.bot_trades.find((t) => t.id === closed)).toMatchObject({ status: 'CLOSED_TP', is_closed: true });
    // Hours: only the closed trade's created hour changed (its closed count and P&L).
    const earlierHours = new Set(before.bot_performance.hours);
    expect(hours.filter((h) => !earlierHours.has(h))).toHaveLength(1);
    // A set keeps the checked JSON of the items it saw (decision 0021): after the close, what it
    // publishes from kept and new items is what checking and serializing all of it gives.
    for (const section of ['bot_trades', 'bot_performance'] as const) {
      expect(SECTION_COMPUTERS[section].reusesItems).toBe(true);
      const schema = sectionDataSchemas[section];
      const items = new WeakMap<object, string>();
      for (const data of [before[section], after[section]]) {
        expect(checkedJsonReusingItems(schema, data, items), section).toEqual({
          ok: true,
          json: JSON.stringify(schema.parse(data)),
        });
      }
    }
  });

  it('edge: no system trades at all (user trades only)', async () => {
    await seedKnown(KNOWN.filter((t) => t.user_id !== null));
    const actual = await compute();
    expect(actual.bot_trades).toEqual([]);
    expect(actual.bot_performance).toEqual({
      total_trades: 0,
      open_trades: 0,
      win_rate: 0,
      total_profit_loss: 0,
      avg_profit_loss: 0,
      best_trade: 0,
      worst_trade: 0,
      avg_duration_hours: 0,
      profitable_trades: 0,
      losing_trades: 0,
      unrealized_pnl: 0,
      total_pnl: 0,
      hours: [],
    });
    expect(actual.bot_open_positions).toEqual({
      total_investment: 0,
      total_current_value: 0,
      total_unrealized_pnl: 0,
      total_unrealized_pnl_pct: 0,
      total_open_trades: 0,
      positions: [],
    });
    expect(actual.bot_summary.recent_closed_trades).toEqual([]);
  });
});

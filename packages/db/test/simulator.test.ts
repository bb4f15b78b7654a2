import { useTestEnv } from '@snapboard/devenv/testing';
import { simulatedPrice } from '@snapboard/shared';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createRng } from '../src/seed-random.ts';
import { createSimulator, type Simulator, type SimulatorLogger } from '../src/simulator.ts';
import { accountMismatches, formulaViolations, query } from './seed-invariants.ts';

const T = Date.parse('2025-05-05T10:00:00.250Z');
const BTC = simulatedPrice('BTCUSDT', T);
const ETH = simulatedPrice('ETHUSDT', T);
/** A source whose every draw is the same: 0 makes every "now and then" happen, 0.999 none. */
const always = (value: number) => () => value;

interface TradeSpec {
  user: number | null;
  symbol: string;
  direction: 'LONG' | 'SHORT';
  market: 'SPOT' | 'FUTURES';
  leverage?: number | null;
  entry: number;
  stopLoss: number;
  takeProfit: number;
  size?: number;
  status?: string;
}

describe('simulator step', () => {
  const env = useTestEnv();
  const simulators: Simulator[] = [];
  const make = (options: Partial<Parameters<typeof createSimulator>[0]> = {}) => {
    const simulator = createSimulator({ databaseUrl: env.databaseUrl, openBand: { min: 0, max: 0 }, ...options });
    simulators.push(simulator);
    return simulator;
  };

  async function insertTrade(spec: TradeSpec): Promise<string> {
    const size = spec.size ?? 100;
    const rows = await query<{ id: string }>(
      env.databaseUrl,
      `INSERT INTO paper_trades (user_id, symbol, direction, market_type, entry_price, entry_time, position_size,
         quantity, stop_loss, take_profit, leverage, status, created_at, updated_at)
       VALUES ($1, $2, $3, $4, round($5::numeric, 8), $6, $7, round($7::numeric / round($5::numeric, 8), 8),
         round($8::numeric, 8), round($9::numeric, 8), $10, $11, $6, $6)
       RETURNING id::text`,
      [
        spec.user,
        spec.symbol,
        spec.direction,
        spec.market,
        spec.entry,
        new Date(T - 600_000),
        size,
        spec.stopLoss,
        spec.takeProfit,
        spec.leverage ?? null,
        spec.status ?? 'OPEN',
      ],
    );
    return rows[0]?.id as string;
  }

  const trade = async (id: string) =>
    (
      await query<Record<string, string | null> & { exit_time: Date | null; entry_time: Date | null }>(
        env.databaseUrl,
        'SELECT * FROM paper_trades WHERE id = $1',
        [id],
      )
    )[0];

  beforeAll(async () => {
    await query(
      env.databaseUrl,
      `INSERT INTO users (id, username) VALUES (1, 'ada'), (2, 'grace'), (3, 'linus');
       INSERT INTO signals_paperaccount (user_id, initial_balance, balance, equity, auto_trading_enabled)
       VALUES (1, 10000, 10000, 10000, true), (2, 5000, 5000, 5000, true), (3, 1000, 1000, 1000, false);`,
    );
  });
  afterEach(async () => {
    await Promise.all(simulators.splice(0).map((s) => s.stop()));
    await query(
      env.databaseUrl,
      `DELETE FROM paper_trades; DELETE FROM signals;
       UPDATE signals_paperaccount SET balance = initial_balance, equity = initial_balance, total_pnl = 0,
         realized_pnl = 0, unrealized_pnl = 0, total_trades = 0, winning_trades = 0, losing_trades = 0, win_rate = 0`,
    );
  });

  it('happy: stop-loss is tested before take-profit and a hit closes at the market price, not the level', async () => {
    // Levels on the wrong sides make both conditions true at once: only the order of the tests decides.
    const long = await insertTrade({
      user: 1,
      symbol: 'BTCUSDT',
      direction: 'LONG',
      market: 'SPOT',
      entry: BTC,
      stopLoss: BTC + 500,
      takeProfit: BTC - 500,
    });
    const short = await insertTrade({
      user: 2,
      symbol: 'BTCUSDT',
      direction: 'SHORT',
      market: 'SPOT',
      entry: BTC,
      stopLoss: BTC - 500,
      takeProfit: BTC + 500,
    });
    const result = await make({ random: always(0.999) }).step(T);

    expect(result).toMatchObject({ closedStopLoss: 2, closedTakeProfit: 0, openTrades: 0 });
    for (const id of [long, short]) {
      const row = await trade(id);
      expect(row?.status).toBe('CLOSED_SL');
      expect(Number(row?.exit_price)).toBe(BTC);
      expect(row?.exit_time?.getTime()).toBe(T);
    }
    expect(await formulaViolations(env.databaseUrl)).toEqual([]);
    expect(await accountMismatches(env.databaseUrl, T, { users: ['1', '2'] })).toEqual([]);
  });

  it('happy: take-profit and stop-loss hits for LONG, SHORT and FUTURES, with P&L by the formulas; others stay open', async () => {
    const ids = {
      longTp: await insertTrade({
        user: 1,
        symbol: 'BTCUSDT',
        direction: 'LONG',
        market: 'SPOT',
        entry: BTC * 0.98,
        stopLoss: BTC * 0.95,
        takeProfit: BTC * 0.99,
        size: 250,
      }),
      shortTp: await insertTrade({
        user: 2,
        symbol: 'ETHUSDT',
        direction: 'SHORT',
        market: 'SPOT',
        entry: ETH * 1.02,
        stopLoss: ETH * 1.05,
        takeProfit: ETH * 1.01,
      }),
      futuresLongSl: await insertTrade({
        user: 1,
        symbol: 'ETHUSDT',
        direction: 'LONG',
        market: 'FUTURES',
        leverage: 10,
        entry: ETH * 1.004,
        stopLoss: ETH * 1.001,
        takeProfit: ETH * 1.02,
        size: 500,
      }),
      futuresShortTp: await insertTrade({
        user: 2,
        symbol: 'BTCUSDT',
        direction: 'SHORT',
        market: 'FUTURES',
        leverage: 20,
        entry: BTC * 1.003,
        stopLoss: BTC * 1.01,
        takeProfit: BTC * 1.001,
      }),
      futuresNoLeverage: await insertTrade({
        user: 3,
        symbol: 'BTCUSDT',
        direction: 'SHORT',
        market: 'FUTURES',
        leverage: null,
        entry: BTC * 0.99,
        stopLoss: BTC * 0.999,
        takeProfit: BTC * 0.95,
      }),
      untouched: await insertTrade({
        user: 3,
        symbol: 'ETHUSDT',
        direction: 'LONG',
        market: 'FUTURES',
        leverage: 5,
        entry: ETH * 0.99,
        stopLoss: ETH * 0.9,
        takeProfit: ETH * 1.1,
      }),
      system: await insertTrade({
        user: null,
        symbol: 'BTCUSDT',
        direction: 'LONG',
        market: 'SPOT',
        entry: BTC * 1.01,
        stopLoss: BTC * 1.005,
        takeProfit: BTC * 1.05,
      }),
    };
    const result = await make({ random: always(0.999) }).step(T);
    expect(result).toMatchObject({ closedTakeProfit: 3, closedStopLoss: 3, closedManual: 0, openTrades: 1 });

    const expected: Record<keyof typeof ids, string> = {
      longTp: 'CLOSED_TP',
      shortTp: 'CLOSED_TP',
      futuresLongSl: 'CLOSED_SL',
      futuresShortTp: 'CLOSED_TP',
      futuresNoLeverage: 'CLOSED_SL',
      untouched: 'OPEN',
      system: 'CLOSED_SL',
    };
    for (const [name, id] of Object.entries(ids)) {
      const row = await trade(id);
      expect(row?.status, name).toBe(expected[name as keyof typeof ids]);
      if (row?.status !== 'OPEN') {
        expect(Number(row?.exit_price), name).toBe(simulatedPrice(row?.symbol as string, T));
        expect(row?.exit_time?.getTime(), name).toBe(T);
      }
    }
    // The formulas, exactly, in SQL: leverage counts only on FUTURES trades that have one.
    const [pnl] = await query<Record<string, string>>(
      env.databaseUrl,
      `SELECT
         (SELECT round((exit_price - entry_price) * quantity, 8) = profit_loss FROM paper_trades WHERE id = $1) AS long_tp,
         (SELECT round((entry_price - exit_price) * quantity, 8) = profit_loss FROM paper_trades WHERE id = $2) AS short_tp,
         (SELECT round((exit_price - entry_price) * quantity * 10, 8) = profit_loss AND profit_loss < 0 FROM paper_trades WHERE id = $3) AS fut_long,
         (SELECT round((entry_price - exit_price) * quantity * 20, 8) = profit_loss AND profit_loss > 0 FROM paper_trades WHERE id = $4) AS fut_short,
         (SELECT round((entry_price - exit_price) * quantity, 8) = profit_loss FROM paper_trades WHERE id = $5) AS fut_plain,
         (SELECT round(profit_loss / position_size * 100, 4) = profit_loss_percentage FROM paper_trades WHERE id = $3) AS pct`,
      [ids.longTp, ids.shortTp, ids.futuresLongSl, ids.futuresShortTp, ids.futuresNoLeverage],
    );
    expect(pnl).toEqual({ long_tp: true, short_tp: true, fut_long: true, fut_short: true, fut_plain: true, pct: true });
    expect(await formulaViolations(env.databaseUrl)).toEqual([]);

    // update_metrics ran for the three users with closes, their open trade valued at T.
    expect(result.accountsUpdated).toBe(3);
    expect(await accountMismatches(env.databaseUrl, T)).toEqual([]);
    const [linus] = await query<Record<string, string | number>>(
      env.databaseUrl,
      'SELECT total_trades, losing_trades, unrealized_pnl FROM signals_paperaccount WHERE user_id = 3',
    );
    expect(linus?.total_trades).toBe(1);
    expect(linus?.losing_trades).toBe(1);
    expect(linus?.unrealized_pnl).not.toBe('0.00');
  });

  it('happy: now and then closes one by hand at the market price and fills or cancels a waiting order', async () => {
    const open = await insertTrade({
      user: 1,
      symbol: 'ETHUSDT',
      direction: 'SHORT',
      market: 'FUTURES',
      leverage: 3,
      entry: ETH * 1.01,
      stopLoss: ETH * 1.1,
      takeProfit: ETH * 0.9,
    });
    const waiting = await insertTrade({
      user: 2,
      symbol: 'BTCUSDT',
      direction: 'LONG',
      market: 'SPOT',
      entry: BTC * 0.99,
      stopLoss: BTC * 0.9,
      takeProfit: BTC * 1.1,
      status: 'PENDING',
    });
    const withdrawn = await insertTrade({
      user: 2,
      symbol: 'BTCUSDT',
      direction: 'LONG',
      market: 'SPOT',
      entry: BTC * 0.99,
      stopLoss: BTC * 0.9,
      takeProfit: BTC * 1.1,
      status: 'PENDING',
    });
    await query(env.databaseUrl, `UPDATE paper_trades SET entry_time = NULL WHERE status = 'PENDING'`);

    // A source of zeros makes every chance come true and picks the first candidate each time.
    const result = await make({ random: always(0) }).step(T);
    expect(result).toMatchObject({ closedManual: 1, pendingFilled: 1, pendingCancelled: 1 });

    const closed = await trade(open);
    expect(closed?.status).toBe('CLOSED_MANUAL');
    expect(Number(closed?.exit_price)).toBe(ETH);
    const filled = await trade(waiting);
    expect(filled?.status).toBe('OPEN');
    expect(Number(filled?.entry_price)).toBe(BTC);
    expect(filled?.entry_time?.getTime()).toBe(T);
    expect((await trade(withdrawn))?.status).toBe('CANCELLED');
    expect(await formulaViolations(env.databaseUrl)).toEqual([]);
    expect(await accountMismatches(env.databaseUrl, T, { users: ['1', '2'] })).toEqual([]);
  });

  it('happy: opens trades as the bot does, two per step below the band and none above it', async () => {
    const simulator = make({ random: createRng(11), openBand: { min: 3, max: 6 } });
    const first = await simulator.step(T);
    expect(first.opened).toBe(2);
    const rows = await query<{
      id: string;
      symbol: string;
      market_type: string;
      direction: string;
      entry_price: string;
      entry_time: Date;
      stop_loss: string;
      take_profit: string;
      leverage: number | null;
      signal_status: string;
      signal_entry: string;
    }>(
      env.databaseUrl,
      `SELECT t.*, s.status AS signal_status, s.entry AS signal_entry FROM paper_trades t
       JOIN signals s ON s.id = t.signal_id WHERE t.status = 'OPEN'`,
    );
    expect(rows).toHaveLength(2);
    for (const row of rows) {
      const entry = Number(row.entry_price);
      expect(entry).toBe(simulatedPrice(row.symbol, T));
      expect(row.entry_time.getTime()).toBe(T);
      expect(row.signal_status).toBe('EXECUTED');
      expect(row.signal_entry).toBe(row.entry_price);
      expect(row.leverage === null).toBe(row.market_type === 'SPOT');
      const sl = Number(row.stop_loss);
      const tp = Number(row.take_profit);
      const [below, above] = row.direction === 'LONG' ? [sl, tp] : [tp, sl];
      expect(below).toBeLessThan(entry);
      expect(above).toBeGreaterThan(entry);
      expect(Math.abs(sl / entry - 1)).toBeLessThan(0.006);
    }
    expect(await formulaViolations(env.databaseUrl)).toEqual([]);

    // Above the band's top nothing new opens.
    for (let i = 0; i < 6; i++) {
      await insertTrade({
        user: null,
        symbol: 'ETHUSDT',
        direction: 'LONG',
        market: 'SPOT',
        entry: ETH,
        stopLoss: ETH * 0.5,
        takeProfit: ETH * 2,
      });
    }
    for (let s = 1; s <= 5; s++) expect((await simulator.step(T + s * 1000)).opened).toBe(0);
  });

  it('happy: over half an hour of steps the market reaches the stops and targets it set, and accounts keep up', async () => {
    const simulator = make({ random: createRng(5), openBand: { min: 4, max: 12 } });
    let maxOpen = 0;
    for (let s = 0; s < 180; s++) maxOpen = Math.max(maxOpen, (await simulator.step(T + s * 10_000)).openTrades);
    const end = T + 179 * 10_000;

    const [c] = await query<Record<string, number>>(
      env.databaseUrl,
      `SELECT count(*) FILTER (WHERE status = 'CLOSED_SL')::int AS sl,
              count(*) FILTER (WHERE status = 'CLOSED_TP')::int AS tp,
              count(*) FILTER (WHERE entry_time < $1::timestamptz + interval '5 minutes')::int AS early,
              count(*) FILTER (WHERE entry_time < $1::timestamptz + interval '5 minutes' AND status = 'OPEN')::int AS early_open
       FROM paper_trades`,
      [new Date(T)],
    );
    expect(c?.sl).toBeGreaterThan(3);
    expect(c?.tp).toBeGreaterThan(3);
    // Trades opened in the first five minutes have mostly closed by the end.
    expect(c?.early_open).toBeLessThanOrEqual(Math.floor((c?.early ?? 0) / 4));
    expect(maxOpen).toBeLessThanOrEqual(12 + 2);
    expect(await formulaViolations(env.databaseUrl)).toEqual([]);
    // Unrealized figures are as of each account's last update; everything from closed trades is exact.
    expect(await accountMismatches(env.databaseUrl, end, { closedOnly: true })).toEqual([]);
  });

  it('happy: start steps on the clock until stop, which waits for the running step and closes the pool', async () => {
    const lines: object[] = [];
    const logger: SimulatorLogger = {
      debug: (o) => lines.push(o),
      info: (o) => lines.push(o),
      error: (o) => lines.push({ error: o }),
    };
    let clock = T;
    const simulator = createSimulator({
      databaseUrl: env.databaseUrl,
      intervalMs: 20,
      logger,
      now: () => (clock += 1000),
      random: createRng(3),
      openBand: { min: 2, max: 4 },
    });
    simulator.start();
    simulator.start();
    while (lines.length < 3) await new Promise((resolve) => setTimeout(resolve, 10));
    await simulator.stop();
    const seen = lines.length;
    expect(lines.some((l) => 'error' in l)).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(lines.length).toBe(seen);
    await expect(simulator.step()).rejects.toThrow(/stopped/);
    await simulator.stop();
    const [row] = await query<{ n: number }>(env.databaseUrl, `SELECT count(*)::int AS n FROM paper_trades`);
    expect(row?.n).toBeGreaterThanOrEqual(2);
  });
});

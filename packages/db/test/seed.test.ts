import { createHash } from 'node:crypto';
import { useTestEnv } from '@snapboard/devenv/testing';
import { simulatedPrice } from '@snapboard/shared';
import { beforeAll, describe, expect, it } from 'vitest';
import { SeedRefusedError, type SeedResult, seed, validateTradeCount } from '../src/seed.ts';
import { planSeed, planTrades } from '../src/seed-plan.ts';
import { accountMismatches, formulaViolations, query } from './seed-invariants.ts';

const NOW = Date.parse('2025-03-14T15:09:26.535Z');
const HOUR = 3_600_000;

describe('seed 1,000 trades into an empty database', () => {
  const env = useTestEnv();
  let result: SeedResult;
  const progress: { phase: string; done: number }[] = [];

  beforeAll(async () => {
    result = await seed({
      databaseUrl: env.databaseUrl,
      trades: 1000,
      seed: 42,
      now: NOW,
      onProgress: (p) => progress.push(p),
    });
  });

  it('happy: writes exactly the trades asked for, reports them, and ends its progress at the total', async () => {
    const [row] = await query<{ n: number }>(env.databaseUrl, 'SELECT count(*)::int AS n FROM paper_trades');
    expect(row?.n).toBe(1000);
    expect(result.trades).toBe(1000);
    expect(Object.values(result.byStatus).reduce((a, b) => a + b, 0)).toBe(1000);
    expect(result).toMatchObject({ seed: 42, now: NOW });
    expect(progress.filter((p) => p.phase === 'trades').at(-1)?.done).toBe(1000);
    expect(progress.map((p) => p.phase)).toContain('analyze');
  });

  it('happy: every status, both directions, SPOT and FUTURES with and without leverage, system and break-even trades', async () => {
    const counts = await query<Record<string, number>>(
      env.databaseUrl,
      `SELECT
         count(*) FILTER (WHERE direction = 'LONG')::int AS long,
         count(*) FILTER (WHERE direction = 'SHORT')::int AS short,
         count(*) FILTER (WHERE market_type = 'SPOT')::int AS spot,
         count(*) FILTER (WHERE market_type = 'FUTURES' AND leverage IS NOT NULL)::int AS futures_leveraged,
         count(*) FILTER (WHERE market_type = 'FUTURES' AND leverage IS NULL)::int AS futures_unleveraged,
         count(*) FILTER (WHERE user_id IS NULL)::int AS system,
         count(*) FILTER (WHERE status LIKE 'CLOSED%' AND profit_loss = 0)::int AS break_even,
         count(*) FILTER (WHERE status LIKE 'CLOSED%' AND profit_loss > 0)::int AS winners,
         count(*) FILTER (WHERE status LIKE 'CLOSED%' AND profit_loss < 0)::int AS losers,
         count(*) FILTER (WHERE status = 'OPEN')::int AS open
       FROM paper_trades`,
    );
    const c = counts[0] as Record<string, number>;
    for (const key of Object.keys(c)) expect(c[key], key).toBeGreaterThan(0);
    expect(c.open).toBeLessThanOrEqual(250);

    const statuses = await query<{ status: string }>(env.databaseUrl, 'SELECT DISTINCT status FROM paper_trades');
    expect(statuses.map((s) => s.status).sort()).toEqual(
      ['CANCELLED', 'CLOSED_MANUAL', 'CLOSED_SL', 'CLOSED_TP', 'OPEN', 'PENDING'].sort(),
    );
    expect(result.byStatus.OPEN).toBe(c.open);
  });

  it('happy: trades span ~60 days with plenty in the last 720 hours, 7 days and 24 hours, none in the future', async () => {
    const [found] = await query<Record<string, number | Date>>(
      env.databaseUrl,
      `SELECT
         count(*) FILTER (WHERE created_at >= $1::timestamptz - interval '24 hours')::int AS day,
         count(*) FILTER (WHERE created_at >= $1::timestamptz - interval '7 days')::int AS week,
         count(*) FILTER (WHERE created_at >= $1::timestamptz - interval '720 hours')::int AS month,
         min(created_at) AS first,
         greatest(max(created_at), max(entry_time), max(exit_time), max(updated_at)) AS last
       FROM paper_trades`,
      [new Date(NOW)],
    );
    const w = found as Record<string, number | Date>;
    expect(w.day).toBeGreaterThanOrEqual(20);
    expect(w.week).toBeGreaterThanOrEqual(150);
    expect(w.month).toBeGreaterThanOrEqual(500);
    expect(w.month).toBeLessThan(1000);
    expect((w.first as Date).getTime()).toBeGreaterThanOrEqual(NOW - 61 * 24 * HOUR);
    expect((w.first as Date).getTime()).toBeLessThan(NOW - 50 * 24 * HOUR);
    expect((w.last as Date).getTime()).toBeLessThanOrEqual(NOW);
  });

  it('happy: P&L, percentage, quantity and stop/target levels follow the bot’s rules row by row', async () => {
    expect(await formulaViolations(env.databaseUrl)).toEqual([]);
    const sides = await query<{ n: number }>(
      env.databaseUrl,
      `SELECT count(*)::int AS n FROM paper_trades
       WHERE status = 'OPEN' AND NOT (CASE WHEN direction = 'LONG' THEN stop_loss < entry_price AND entry_price < take_profit
                                           ELSE take_profit < entry_price AND entry_price < stop_loss END)`,
    );
    expect(sides[0]?.n).toBe(0);
  });

  it('happy: entry and exit prices are the demo market’s at entry_time and exit_time', async () => {
    const rows = await query<{
      symbol: string;
      status: string;
      entry_price: string;
      entry_time: Date | null;
      exit_price: string | null;
      exit_time: Date | null;
      signal_entry: string | null;
    }>(
      env.databaseUrl,
      `SELECT t.symbol, t.status, t.entry_price, t.entry_time, t.exit_price, t.exit_time, s.entry AS signal_entry
       FROM paper_trades t LEFT JOIN signals s ON s.id = t.signal_id`,
    );
    let checked = 0;
    for (const row of rows) {
      if (row.entry_time) {
        expect(Number(row.entry_price)).toBe(simulatedPrice(row.symbol, row.entry_time.getTime()));
        checked++;
      } else if (row.signal_entry !== null) {
        // A pending or cancelled order keeps its signal's entry.
        expect(row.entry_price).toBe(row.signal_entry);
      }
      if (row.exit_time) expect(Number(row.exit_price)).toBe(simulatedPrice(row.symbol, row.exit_time.getTime()));
    }
    expect(checked).toBeGreaterThan(900);
  });

  it('happy: trades follow their signal and the signal references are whole', async () => {
    const rows = await query<{ n: number }>(
      env.databaseUrl,
      `SELECT count(*)::int AS n FROM paper_trades t JOIN signals s ON s.id = t.signal_id JOIN symbols y ON y.id = s.symbol_id
       WHERE y.symbol <> t.symbol OR s.direction <> t.direction OR s.market_type <> t.market_type
          OR s.sl <> t.stop_loss OR s.tp <> t.take_profit`,
    );
    expect(rows[0]?.n).toBe(0);
    const statuses = await query<{ status: string }>(env.databaseUrl, 'SELECT DISTINCT status FROM signals');
    expect(statuses.map((s) => s.status)).toEqual(expect.arrayContaining(['EXECUTED', 'EXPIRED', 'ACTIVE']));
  });

  it('happy: every user has one paper account whose stored figures are what update_metrics computes', async () => {
    expect(await accountMismatches(env.databaseUrl, NOW)).toEqual([]);
    const [a] = await query<Record<string, number>>(
      env.databaseUrl,
      `SELECT (SELECT count(*) FROM users)::int AS users, count(*)::int AS accounts,
              count(*) FILTER (WHERE auto_trading_enabled)::int AS auto,
              count(*) FILTER (WHERE NOT auto_trading_enabled)::int AS manual,
              count(*) FILTER (WHERE total_trades = 0)::int AS idle,
              count(*) FILTER (WHERE unrealized_pnl <> 0)::int AS holding
       FROM signals_paperaccount`,
    );
    expect(a?.accounts).toBe(a?.users);
    expect(a?.users).toBeGreaterThanOrEqual(20);
    expect(a?.auto).toBeGreaterThan(0);
    expect(a?.manual).toBeGreaterThan(0);
    expect(a?.idle).toBeGreaterThan(0);
    expect(a?.holding).toBeGreaterThan(0);
  });

  it('error: refuses a database that already has trades and leaves it untouched', async () => {
    await expect(seed({ databaseUrl: env.databaseUrl, trades: 1000, seed: 1, now: NOW })).rejects.toBeInstanceOf(
      SeedRefusedError,
    );
    const [row] = await query<{ n: number }>(env.databaseUrl, 'SELECT count(*)::int AS n FROM paper_trades');
    expect(row?.n).toBe(1000);
  });

  it('happy: with append it adds new users and trades, and every account still agrees with its trades', async () => {
    const later = NOW + HOUR;
    const appended = await seed({ databaseUrl: env.databaseUrl, trades: 1000, append: true, seed: 42, now: later });
    expect(appended.trades).toBe(1000);
    const [row] = await query<{ n: number; u: number }>(
      env.databaseUrl,
      'SELECT (SELECT count(*) FROM paper_trades)::int AS n, (SELECT count(DISTINCT username) FROM users)::int AS u',
    );
    expect(row?.n).toBe(2000);
    expect(row?.u).toBe(2 * appended.users);
    // The first run's accounts were valued at NOW, the new ones at `later`.
    const fresh = await query<{ id: string }>(
      env.databaseUrl,
      'SELECT id::text FROM users ORDER BY users.id OFFSET $1',
      [appended.users],
    );
    expect(await accountMismatches(env.databaseUrl, later, { users: fresh.map((r) => r.id) })).toEqual([]);
    expect(await formulaViolations(env.databaseUrl)).toEqual([]);
  });
});

describe('seed loaded in bulk', () => {
  const env = useTestEnv();

  it('happy: paper_trades ends with exactly the indexes and foreign keys it had, all valid', async () => {
    const schema = () =>
      query<{ name: string; definition: string }>(
        env.databaseUrl,
        `SELECT indexname AS name, indexdef AS definition FROM pg_indexes WHERE tablename = 'paper_trades'
         UNION ALL
         SELECT conname, pg_get_constraintdef(oid) || ' ' || convalidated FROM pg_constraint
         WHERE conrelid = 'paper_trades'::regclass
         ORDER BY 1`,
      );
    const before = await schema();
    expect(before.filter((r) => r.definition.startsWith('FOREIGN KEY'))).toHaveLength(2);
    expect(before.length).toBeGreaterThanOrEqual(8);
    await seed({ databaseUrl: env.databaseUrl, trades: 1000, seed: 3, now: NOW, bulkLoad: true });
    expect(await schema()).toEqual(before);
    const [valid] = await query<{ n: number }>(
      env.databaseUrl,
      `SELECT count(*)::int AS n FROM pg_index WHERE indrelid = 'paper_trades'::regclass AND NOT indisvalid`,
    );
    expect(valid?.n).toBe(0);
    expect(await formulaViolations(env.databaseUrl)).toEqual([]);
  });
});

describe('seed plan', () => {
  const digest = (seed: number, now: number) => {
    const hash = createHash('sha256');
    const plan = planSeed({ trades: 1000, seed, now });
    hash.update(JSON.stringify(plan.users));
    for (const row of planTrades(plan))
      hash.update(JSON.stringify(row, (_, v) => (typeof v === 'bigint' ? `${v}` : v)));
    return hash.digest('hex');
  };

  it('happy: the same seed and clock give the same data; another seed gives other data', () => {
    expect(digest(7, NOW)).toBe(digest(7, NOW));
    expect(digest(8, NOW)).not.toBe(digest(7, NOW));
  });

  it('error: trade counts outside 1,000–1,000,000 or not whole are rejected before touching anything', async () => {
    for (const bad of [0, 999, 1_000_001, 5_000_000, 1500.5, Number.NaN, -1000]) {
      expect(() => validateTradeCount(bad), String(bad)).toThrow(RangeError);
    }
    expect(validateTradeCount(1000)).toBe(1000);
    await expect(seed({ databaseUrl: 'postgres://nobody@127.0.0.1:1/none', trades: 0 })).rejects.toThrow(
      /from 1,000 to 1,000,000/,
    );
  });
});

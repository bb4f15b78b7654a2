import type pg from 'pg';

/**
 * Known rows for the section tests, written to the bot's tables as they are and read back by an
 * independent oracle (oracle.ts). Fields left out are NULL.
 */

export interface UserRow {
  id: number;
  username: string;
}

export interface AccountRow {
  user_id: number;
  balance: number | null;
  equity: number | null;
  total_pnl: number | null;
  total_trades: number | null;
  win_rate: number | null;
  auto_trading_enabled: boolean | null;
}

export interface TradeRow {
  id: number;
  user_id: number | null;
  symbol: string;
  direction: string;
  market_type: string;
  entry_price: number | null;
  entry_time: string | null;
  position_size: number | null;
  quantity: number | null;
  stop_loss: number | null;
  take_profit: number | null;
  exit_price: number | null;
  exit_time: string | null;
  profit_loss: number | null;
  profit_loss_percentage: number | null;
  leverage: number | null;
  status: string;
  created_at: string | null;
  /** Shown by the bot's API only (SPEC §11); left out, it is NULL. */
  updated_at?: string | null;
  signal_id?: number | null;
}

export interface Fixture {
  users: UserRow[];
  accounts: AccountRow[];
  trades: TradeRow[];
}

export const HOUR = 3_600_000;

export function trade(fields: Partial<TradeRow> & { id: number }): TradeRow {
  return {
    user_id: null,
    symbol: 'BTCUSDT',
    direction: 'LONG',
    market_type: 'SPOT',
    entry_price: 100,
    entry_time: null,
    position_size: 100,
    quantity: 1,
    stop_loss: 95,
    take_profit: 110,
    exit_price: null,
    exit_time: null,
    profit_loss: 0,
    profit_loss_percentage: 0,
    leverage: null,
    status: 'OPEN',
    created_at: null,
    ...fields,
  };
}

export async function resetTables(db: pg.Pool): Promise<void> {
  await db.query('TRUNCATE paper_trades, signals_paperaccount, signals, symbols, users RESTART IDENTITY CASCADE');
}

export async function insertFixture(db: pg.Pool, fixture: Fixture): Promise<void> {
  if (fixture.users.length) {
    await db.query('INSERT INTO users SELECT * FROM json_populate_recordset(NULL::users, $1)', [
      JSON.stringify(fixture.users),
    ]);
  }
  if (fixture.accounts.length) {
    await db.query(
      'INSERT INTO signals_paperaccount SELECT * FROM json_populate_recordset(NULL::signals_paperaccount, $1)',
      [JSON.stringify(fixture.accounts.map((account, i) => ({ id: i + 1, ...account })))],
    );
  }
  await insertTrades(db, fixture.trades);
}

export async function insertTrades(db: pg.Pool, trades: readonly TradeRow[]): Promise<void> {
  if (!trades.length) return;
  await db.query('INSERT INTO paper_trades SELECT * FROM json_populate_recordset(NULL::paper_trades, $1)', [
    JSON.stringify(trades),
  ]);
}

/** A small deterministic PRNG, so a failing random fixture can be reproduced from its seed. */
export function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const STATUSES = ['OPEN', 'CLOSED_TP', 'CLOSED_SL', 'CLOSED_MANUAL', 'CANCELLED', 'PENDING', 'CLOSED_TP', 'CLOSED_SL'];

/** Trades spread over ~40 days before `nowMs` (some in the future, some missing times), with 2-dp P&L. */
export function randomTrades(seed: number, count: number, nowMs: number, firstId = 1): TradeRow[] {
  const rnd = random(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rnd() * items.length)] as T;
  return Array.from({ length: count }, (_, i) => {
    const status = pick(STATUSES);
    const created = nowMs - Math.floor(rnd() * 40 * 24 * HOUR) + (rnd() < 0.02 ? 3 * HOUR : 0);
    const closed = status.startsWith('CLOSED');
    const exit = created + Math.floor(rnd() * 30 * HOUR);
    // Several trades share an exit instant now and then: ties are ordered by id.
    const exitTime = rnd() < 0.05 ? null : new Date(rnd() < 0.1 ? Math.floor(exit / HOUR) * HOUR : exit).toISOString();
    return trade({
      id: firstId + i,
      user_id: rnd() < 0.2 ? null : 1 + Math.floor(rnd() * 3),
      direction: pick(['LONG', 'SHORT']),
      market_type: pick(['SPOT', 'FUTURES']),
      status,
      created_at: rnd() < 0.03 ? null : new Date(created).toISOString(),
      entry_time: rnd() < 0.05 ? null : new Date(created).toISOString(),
      exit_time: closed ? exitTime : null,
      profit_loss: closed ? (rnd() < 0.1 ? 0 : Math.round((rnd() * 40 - 20) * 100) / 100) : 0,
    });
  });
}

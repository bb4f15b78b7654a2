import { DEMO_SYMBOLS } from '@snapboard/shared';
import type pg from 'pg';
import { createClosablePool } from './pool.ts';
import { fromSource, type Rng } from './seed-random.ts';
import {
  DEMO_FUTURES,
  type Direction,
  exitFor,
  formatUnits,
  LEVERAGES,
  levelsFor,
  type MarketType,
  parseUnits,
  priceUnits,
  quantityFor,
  tradePnl,
  updateMetrics,
} from './simulator-rules.ts';

/**
 * The demo's trading bot: every second it checks the open paper trades against the demo market,
 * closes those whose stop-loss or take-profit was hit, opens a few new ones, and updates the
 * accounts it touched, all in one transaction, so the dashboard has something live to show.
 */

export interface SimulatorLogger {
  debug(object: object, message?: string): void;
  info(object: object, message?: string): void;
  error(object: object, message?: string): void;
}

export interface SimulatorOptions {
  databaseUrl: string;
  /** Time between the start of one step and the next; default 1000. */
  intervalMs?: number;
  logger?: SimulatorLogger;
  /** The clock `start()` steps with; default Date.now. */
  now?: () => number;
  /** A [0, 1) source; default Math.random. */
  random?: () => number;
  /** New trades are opened only while fewer than `max` are open, two per step below `min`. */
  openBand?: { min: number; max: number };
}

export interface StepResult {
  at: number;
  opened: number;
  closedStopLoss: number;
  closedTakeProfit: number;
  closedManual: number;
  pendingCreated: number;
  pendingFilled: number;
  pendingCancelled: number;
  /** OPEN trades after the step. */
  openTrades: number;
  accountsUpdated: number;
}

export interface Simulator {
  start(): void;
  /** Let the running step finish, then close the pool. */
  stop(): Promise<void>;
  /** One bot cycle at `atMs` (default: the clock), in one transaction. */
  step(atMs?: number): Promise<StepResult>;
}

const MANUAL_CLOSE_CHANCE = 1 / 40;
const PENDING_CREATE_CHANCE = 1 / 30;
const PENDING_FILL_CHANCE = 1 / 45;
const PENDING_CANCEL_CHANCE = 1 / 60;
const PENDING_KEEP = 4;
const SYSTEM_TRADE_CHANCE = 0.2;

interface OpenRow {
  id: string;
  user_id: string | null;
  symbol: string;
  direction: Direction;
  market_type: string;
  entry_price: string | null;
  quantity: string | null;
  position_size: string | null;
  stop_loss: string | null;
  take_profit: string | null;
  leverage: number | null;
}

interface Close {
  id: string;
  status: 'CLOSED_SL' | 'CLOSED_TP' | 'CLOSED_MANUAL';
  exitPrice: bigint;
  profitLoss: bigint;
  percentage: bigint;
}

const SILENT: SimulatorLogger = { debug() {}, info() {}, error() {} };

export function createSimulator(options: SimulatorOptions): Simulator {
  const intervalMs = options.intervalMs ?? 1000;
  const logger = options.logger ?? SILENT;
  const clock = options.now ?? Date.now;
  const rng = fromSource(options.random ?? Math.random);
  const band = options.openBand ?? { min: 20, max: 80 };
  const pool = createClosablePool({
    connectionString: options.databaseUrl,
    max: 1,
    application_name: 'snapboard-simulator',
  });
  pool.on('error', (error) => logger.error({ err: error }, 'simulator database connection failed'));

  let chain: Promise<unknown> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  let stopping: Promise<void> | undefined;

  const step = (atMs?: number): Promise<StepResult> => {
    if (stopping) return Promise.reject(new Error('the simulator is stopped'));
    const run = chain.then(() => runStep(atMs ?? clock()));
    chain = run.catch(() => {});
    return run;
  };

  async function runStep(at: number): Promise<StepResult> {
    const started = performance.now();
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      const result = await cycle(client, at, rng, band);
      await client.query('COMMIT');
      const changed =
        result.opened +
        result.closedStopLoss +
        result.closedTakeProfit +
        result.closedManual +
        result.pendingCreated +
        result.pendingFilled +
        result.pendingCancelled;
      const line = { ...result, at: new Date(at).toISOString(), ms: Math.round(performance.now() - started) };
      if (changed) logger.info(line, 'simulator step');
      else logger.debug(line, 'simulator step');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw error;
    } finally {
      client.release();
    }
  }

  const schedule = (delay: number) => {
    timer = setTimeout(async () => {
      const began = performance.now();
      try {
        await step();
      } catch (error) {
        // A failed step is rolled back whole; the next one starts from the database as it is.
        if (!stopping) logger.error({ err: error }, 'simulator step failed');
      }
      if (!stopping) schedule(Math.max(0, intervalMs - (performance.now() - began)));
    }, delay);
  };

  return {
    step,
    start() {
      if (timer || stopping) return;
      schedule(0);
    },
    stop() {
      stopping ??= (async () => {
        clearTimeout(timer);
        await chain;
        await pool.close();
      })();
      return stopping;
    },
  };
}

async function cycle(
  client: pg.PoolClient,
  at: number,
  rng: Rng,
  band: { min: number; max: number },
): Promise<StepResult> {
  const now = new Date(at);
  const prices = new Map<string, bigint>();
  const priceOf = (symbol: string): bigint => {
    let price = prices.get(symbol);
    if (price === undefined) {
      price = priceUnits(symbol, at);
      prices.set(symbol, price);
    }
    return price;
  };
  const affected = new Set<string>();
  const touch = (userId: string | null) => {
    if (userId !== null) affected.add(userId);
  };

  // 1. Check every open trade: stop-loss first, then take-profit; a hit closes at this check's price.
  const { rows: open } = await client.query<OpenRow>(
    `SELECT id, user_id, symbol, direction, market_type, entry_price, quantity, position_size, stop_loss,
            take_profit, leverage
     FROM paper_trades WHERE status = 'OPEN' ORDER BY id FOR UPDATE`,
  );
  const closes: Close[] = [];
  const closeAt = (trade: OpenRow, status: Close['status'], exitPrice: bigint) => {
    const { profitLoss, percentage } = tradePnl(
      {
        direction: trade.direction,
        marketType: trade.market_type,
        leverage: trade.leverage,
        entryPrice: parseUnits(trade.entry_price as string),
        quantity: parseUnits(trade.quantity as string),
        positionSize: parseUnits(trade.position_size ?? '0'),
      },
      exitPrice,
    );
    closes.push({ id: trade.id, status, exitPrice, profitLoss, percentage });
    touch(trade.user_id);
  };
  const stillOpen: OpenRow[] = [];
  for (const trade of open) {
    // The bot's own rows may lack what a price check needs; such a trade is left alone.
    if (trade.entry_price === null || trade.quantity === null) continue;
    const price = priceOf(trade.symbol);
    const status = exitFor(
      {
        direction: trade.direction,
        stopLoss: trade.stop_loss === null ? null : parseUnits(trade.stop_loss),
        takeProfit: trade.take_profit === null ? null : parseUnits(trade.take_profit),
      },
      price,
    );
    if (status) closeAt(trade, status, price);
    else stillOpen.push(trade);
  }
  if (stillOpen.length && rng.chance(MANUAL_CLOSE_CHANCE)) {
    const trade = rng.pick(stillOpen);
    closeAt(trade, 'CLOSED_MANUAL', priceOf(trade.symbol));
  }
  if (closes.length) {
    await client.query(
      `UPDATE paper_trades t SET status = c.status, exit_price = c.exit_price, exit_time = $6,
         profit_loss = c.profit_loss, profit_loss_percentage = c.pct, updated_at = $6
       FROM unnest($1::bigint[], $2::text[], $3::numeric[], $4::numeric[], $5::numeric[])
         AS c (id, status, exit_price, profit_loss, pct)
       WHERE t.id = c.id`,
      [
        closes.map((c) => c.id),
        closes.map((c) => c.status),
        closes.map((c) => formatUnits(c.exitPrice)),
        closes.map((c) => formatUnits(c.profitLoss)),
        closes.map((c) => formatUnits(c.percentage, 4)),
        now,
      ],
    );
  }
  const count = (status: Close['status']) => closes.filter((c) => c.status === status).length;
  const result: StepResult = {
    at,
    opened: 0,
    closedStopLoss: count('CLOSED_SL'),
    closedTakeProfit: count('CLOSED_TP'),
    closedManual: count('CLOSED_MANUAL'),
    pendingCreated: 0,
    pendingFilled: 0,
    pendingCancelled: 0,
    openTrades: open.length - closes.length,
    accountsUpdated: 0,
  };

  // 2. Orders waiting for their entry: now and then one fills at the market, or is withdrawn.
  const { rows: pending } = await client.query<{
    id: string;
    user_id: string | null;
    symbol: string;
    position_size: string | null;
  }>(`SELECT id, user_id, symbol, position_size FROM paper_trades WHERE status = 'PENDING' ORDER BY id FOR UPDATE`);
  if (pending.length && rng.chance(PENDING_FILL_CHANCE)) {
    const order = pending.splice(rng.int(0, pending.length - 1), 1)[0] as (typeof pending)[number];
    const entry = priceOf(order.symbol);
    await client.query(
      `UPDATE paper_trades SET status = 'OPEN', entry_price = $2, entry_time = $4, quantity = $3, updated_at = $4
       WHERE id = $1`,
      [order.id, formatUnits(entry), formatUnits(quantityFor(parseUnits(order.position_size ?? '100'), entry)), now],
    );
    result.pendingFilled = 1;
    result.openTrades++;
    touch(order.user_id);
  }
  if (pending.length && rng.chance(PENDING_CANCEL_CHANCE)) {
    const order = pending.splice(rng.int(0, pending.length - 1), 1)[0] as (typeof pending)[number];
    await client.query(`UPDATE paper_trades SET status = 'CANCELLED', updated_at = $2 WHERE id = $1`, [order.id, now]);
    result.pendingCancelled = 1;
  }

  // 3. New trades, more when few are open and none when many are, so the demo stays lively.
  let toOpen = 0;
  if (result.openTrades < band.min) toOpen = 2;
  else if (result.openTrades < band.max) {
    const chance = 0.05 + (0.5 * (band.max - result.openTrades)) / (band.max - band.min);
    toOpen = rng.chance(chance) ? rng.int(1, 2) : 0;
  }
  const createPending = pending.length < PENDING_KEEP && rng.chance(PENDING_CREATE_CHANCE);
  if (toOpen > 0 || createPending) {
    const opened = await openTrades(client, at, rng, priceOf, toOpen, createPending);
    result.opened = opened.open;
    result.pendingCreated = opened.pending;
    result.openTrades += opened.open;
    for (const userId of opened.users) touch(userId);
  }

  // 4. update_metrics, as the bot runs it after a change, for every account this step touched at once.
  if (affected.size) {
    const { rows } = await client.query<{ symbol: string }>(
      `SELECT DISTINCT symbol FROM paper_trades WHERE status = 'OPEN' AND user_id = ANY($1::bigint[])`,
      [[...affected]],
    );
    for (const row of rows) priceOf(row.symbol);
    result.accountsUpdated = await updateMetrics(client, [...affected], prices, at);
  }
  return result;
}

interface SymbolRow {
  id: string;
  symbol: string;
  market_type: MarketType;
}

async function tradableSymbols(client: pg.PoolClient, at: number): Promise<SymbolRow[]> {
  const query = () =>
    client.query<SymbolRow>(
      `SELECT id, symbol, market_type FROM symbols
       WHERE symbol = ANY($1) AND active AND market_type IN ('SPOT', 'FUTURES') ORDER BY id`,
      [DEMO_SYMBOLS],
    );
  let { rows } = await query();
  if (rows.length === 0) {
    await client.query(
      `INSERT INTO symbols (symbol, exchange, active, market_type, created_at, updated_at)
       SELECT s, 'BINANCE', true, m, $3, $3 FROM unnest($1::text[], $2::text[]) AS t (s, m)
       ON CONFLICT (symbol) DO NOTHING`,
      [DEMO_SYMBOLS, DEMO_SYMBOLS.map((s) => (DEMO_FUTURES.has(s) ? 'FUTURES' : 'SPOT')), new Date(at)],
    );
    ({ rows } = await query());
  }
  return rows;
}

/** One new signal, followed by `count` open trades (and perhaps an order that waits). */
async function openTrades(
  client: pg.PoolClient,
  at: number,
  rng: Rng,
  priceOf: (symbol: string) => bigint,
  count: number,
  withPending: boolean,
): Promise<{ open: number; pending: number; users: string[] }> {
  const symbols = await tradableSymbols(client, at);
  if (symbols.length === 0) return { open: 0, pending: 0, users: [] };
  const symbol = rng.pick(symbols);
  const marketType = symbol.market_type;
  const direction: Direction = rng.chance(0.5) ? 'LONG' : 'SHORT';
  const leverage = marketType === 'FUTURES' ? rng.pick(LEVERAGES) : null;
  const entry = priceOf(symbol.symbol);
  // 0.15–0.5 %: the demo market moves that far within a few minutes, so trades close while one watches.
  const stopDistance = rng.logBetween(0.0015, 0.005);
  const levels = levelsFor(direction, entry, stopDistance, stopDistance * rng.between(0.8, 2));
  const now = new Date(at);

  const { rows: signalRows } = await client.query<{ id: string }>(
    `INSERT INTO signals (symbol_id, direction, timeframe, entry, sl, tp, confidence, status, market_type, leverage,
       created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) RETURNING id`,
    [
      symbol.id,
      direction,
      rng.pick(['5m', '15m', '1h']),
      formatUnits(entry),
      formatUnits(levels.stopLoss),
      formatUnits(levels.takeProfit),
      Math.round(rng.between(0.55, 0.95) * 1000) / 1000,
      count > 0 ? 'EXECUTED' : 'ACTIVE',
      marketType,
      leverage,
      now,
    ],
  );
  const signalId = signalRows[0]?.id as string;

  const { rows: followers } = await client.query<{ user_id: string; initial_balance: string | null }>(
    'SELECT user_id, initial_balance FROM signals_paperaccount WHERE auto_trading_enabled ORDER BY user_id',
  );
  const owners: { userId: string | null; size: number; status: 'OPEN' | 'PENDING' }[] = [];
  const taken = new Set<string>();
  const owner = (status: 'OPEN' | 'PENDING') => {
    const free = followers.filter((f) => !taken.has(f.user_id));
    if (free.length === 0 || rng.chance(SYSTEM_TRADE_CHANCE)) {
      owners.push({ userId: null, size: 100, status });
      return;
    }
    const follower = rng.pick(free);
    taken.add(follower.user_id);
    const balance = Number(follower.initial_balance ?? 1000);
    const size = Math.min(5000, Math.max(10, Math.round((balance * rng.pick([0.01, 0.02, 0.05])) / 5) * 5));
    owners.push({ userId: follower.user_id, size, status });
  };
  for (let i = 0; i < count; i++) owner('OPEN');
  if (withPending) owner('PENDING');

  const size = (o: (typeof owners)[number]) => BigInt(o.size) * 100_000_000n;
  await client.query(
    `INSERT INTO paper_trades (signal_id, user_id, symbol, direction, market_type, entry_price, entry_time,
       position_size, quantity, stop_loss, take_profit, leverage, status, profit_loss, profit_loss_percentage,
       created_at, updated_at)
     SELECT $1, o.user_id, $2, $3, $4, $5, CASE WHEN o.status = 'OPEN' THEN $9::timestamptz END, o.size, o.quantity,
            $6, $7, $8, o.status, 0, 0, $9, $9
     FROM unnest($10::bigint[], $11::numeric[], $12::numeric[], $13::text[]) AS o (user_id, size, quantity, status)`,
    [
      signalId,
      symbol.symbol,
      direction,
      marketType,
      formatUnits(entry),
      formatUnits(levels.stopLoss),
      formatUnits(levels.takeProfit),
      leverage,
      now,
      owners.map((o) => o.userId),
      owners.map((o) => formatUnits(size(o))),
      owners.map((o) => formatUnits(quantityFor(size(o), entry))),
      owners.map((o) => o.status),
    ],
  );
  return {
    open: count,
    pending: withPending ? 1 : 0,
    users: owners.filter((o) => o.status === 'OPEN' && o.userId !== null).map((o) => o.userId as string),
  };
}

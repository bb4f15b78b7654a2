import { randomInt } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DEMO_SYMBOLS } from '@snapboard/shared';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { migrate } from './migrate.ts';
import {
  MAX_SEED_TRADES,
  MIN_SEED_TRADES,
  type PlannedSignal,
  planSeed,
  planTrades,
  type TradeRow,
} from './seed-plan.ts';
import {
  DEMO_FUTURES,
  formatUnits,
  priceUnits,
  TRADE_STATUSES,
  type TradeStatus,
  updateMetrics,
} from './simulator-rules.ts';

export { MAX_SEED_TRADES, MIN_SEED_TRADES } from './seed-plan.ts';

export interface SeedProgress {
  phase: 'prepare' | 'trades' | 'indexes' | 'accounts' | 'analyze';
  /** Trades written so far (phase `trades`). */
  done: number;
  total: number;
}

export interface SeedOptions {
  databaseUrl: string;
  trades: number;
  /** Add to a database that already has trades instead of refusing. */
  append?: boolean;
  /** Same seed and `now`, same data. Random when omitted (the result says which). */
  seed?: number;
  /** The moment the history ends, epoch ms. */
  now?: number;
  /**
   * Load an empty paper_trades without its secondary indexes and foreign keys, re-created after the
   * load; default from 100,000 trades.
   */
  bulkLoad?: boolean;
  onProgress?: (progress: SeedProgress) => void;
}

export interface SeedResult {
  seed: number;
  now: number;
  trades: number;
  users: number;
  signals: number;
  byStatus: Record<TradeStatus, number>;
  durationMs: number;
}

export class SeedRefusedError extends Error {
  override name = 'SeedRefusedError';
  constructor() {
    super('paper_trades already has rows: the demo seed only fills an empty database (use --append to add to it)');
  }
}

export function validateTradeCount(trades: unknown): number {
  if (typeof trades !== 'number' || !Number.isInteger(trades) || trades < MIN_SEED_TRADES || trades > MAX_SEED_TRADES) {
    throw new RangeError(
      `trades must be a whole number from ${MIN_SEED_TRADES.toLocaleString('en')} to ${MAX_SEED_TRADES.toLocaleString('en')}, got ${String(trades)}`,
    );
  }
  return trades;
}

const TWO = Array.from({ length: 60 }, (_, i) => String(i).padStart(2, '0'));
const THREE = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'));
const dayText = new Map<number, string>();

/** COPY text for a UTC instant; Date#toISOString costs microseconds, a million times over. */
function timestampText(ms: number): string {
  const at = Math.floor(ms);
  const day = Math.floor(at / 86_400_000);
  let date = dayText.get(day);
  if (date === undefined) {
    date = new Date(day * 86_400_000).toISOString().slice(0, 10);
    dayText.set(day, date);
  }
  let rest = at - day * 86_400_000;
  const hours = Math.floor(rest / 3_600_000);
  rest -= hours * 3_600_000;
  const minutes = Math.floor(rest / 60_000);
  rest -= minutes * 60_000;
  const seconds = Math.floor(rest / 1000);
  return `${date} ${TWO[hours]}:${TWO[minutes]}:${TWO[seconds]}.${THREE[rest - seconds * 1000]}+00`;
}

const NULL = '\\N';
const optional = <T>(value: T | null, format: (v: T) => string) => (value === null ? NULL : format(value));

function signalLine(signal: PlannedSignal, id: number, symbolIds: Map<string, string>, userIds: string[]): string {
  return [
    id,
    symbolIds.get(signal.symbol),
    optional(signal.createdBy, (i) => userIds[i] as string),
    signal.direction,
    signal.timeframe,
    formatUnits(signal.entry),
    formatUnits(signal.stopLoss),
    formatUnits(signal.takeProfit),
    signal.confidence,
    signal.status,
    signal.marketType,
    optional(signal.leverage, String),
    timestampText(signal.time),
    timestampText(signal.updatedAt),
  ].join('\t');
}

function tradeLine(row: TradeRow, firstSignalId: number, userIds: string[]): string {
  return [
    optional(row.signalIndex, (i) => String(firstSignalId + i)),
    optional(row.userIndex, (i) => userIds[i] as string),
    row.symbol,
    row.direction,
    row.marketType,
    formatUnits(row.entryPrice),
    optional(row.entryTime, timestampText),
    formatUnits(row.positionSize),
    formatUnits(row.quantity),
    formatUnits(row.stopLoss),
    formatUnits(row.takeProfit),
    optional(row.exitPrice, formatUnits),
    optional(row.exitTime, timestampText),
    formatUnits(row.profitLoss),
    formatUnits(row.percentage, 4),
    optional(row.leverage, String),
    row.status,
    timestampText(row.createdAt),
    timestampText(row.updatedAt),
  ].join('\t');
}

async function copyLines(client: pg.PoolClient | pg.Client, sql: string, lines: Iterable<string>): Promise<void> {
  function* chunks() {
    let batch: string[] = [];
    for (const line of lines) {
      batch.push(line);
      if (batch.length === 2000) {
        yield `${batch.join('\n')}\n`;
        batch = [];
      }
    }
    if (batch.length) yield `${batch.join('\n')}\n`;
  }
  await pipeline(Readable.from(chunks(), { objectMode: false }), client.query(copyFrom(sql)));
}

const TABLES = 'users, symbols, signals, paper_trades, signals_paperaccount';
/** From this size on, an empty paper_trades is loaded bare (see setAsideForBulkLoad). */
const BULK_LOAD_FROM = 100_000;

/**
 * PostgreSQL's own advice for populating a table ("Populating a Database": remove indexes and foreign
 * keys, load, re-create them): drop paper_trades' plain secondary indexes and its foreign keys, the
 * bot's as well as snapboard's, and return the statements that re-create them exactly as they were.
 * Building an index once is several times cheaper than maintaining it row by row, and validating a
 * foreign key is one join instead of two lookups per row. All of it happens inside the seed's
 * transaction: a failed seed leaves the schema as it found it. Primary key and unique indexes stay.
 */
async function setAsideForBulkLoad(client: pg.Client): Promise<string[]> {
  const { rows: indexes } = await client.query<{ name: string; definition: string }>(
    `SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS definition
     FROM pg_index i
     WHERE i.indrelid = 'paper_trades'::regclass AND NOT i.indisprimary AND NOT i.indisunique
       AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)`,
  );
  const { rows: foreignKeys } = await client.query<{ name: string; definition: string }>(
    `SELECT quote_ident(conname) AS name, pg_get_constraintdef(oid) AS definition
     FROM pg_constraint WHERE conrelid = 'paper_trades'::regclass AND contype = 'f'`,
  );
  for (const index of indexes) await client.query(`DROP INDEX ${index.name}`);
  for (const key of foreignKeys) await client.query(`ALTER TABLE paper_trades DROP CONSTRAINT ${key.name}`);
  return [
    ...indexes.map((i) => i.definition),
    ...foreignKeys.map((k) => `ALTER TABLE paper_trades ADD CONSTRAINT ${k.name} ${k.definition}`),
  ];
}

/**
 * Fill an empty database with demo data: users with paper accounts, symbols, signals and `trades`
 * paper trades over the last ~60 days, priced by the demo market and closed by the bot's rules, the
 * accounts' stored figures computed by its update_metrics. One transaction: all or nothing.
 */
export async function seed(options: SeedOptions): Promise<SeedResult> {
  const trades = validateTradeCount(options.trades);
  const started = performance.now();
  const now = options.now ?? Date.now();
  const seedNumber = options.seed ?? randomInt(2 ** 31);
  const progress = options.onProgress ?? (() => {});

  progress({ phase: 'prepare', done: 0, total: trades });
  await migrate(options.databaseUrl);
  const client = new pg.Client({ connectionString: options.databaseUrl });
  await client.connect();
  try {
    await client.query('BEGIN');
    // Writers (a running simulator) wait until the seed is in; readers (the worker) carry on.
    await client.query(`LOCK TABLE ${TABLES} IN SHARE ROW EXCLUSIVE MODE`);
    const { rows: existing } = await client.query('SELECT EXISTS (SELECT 1 FROM paper_trades) AS any');
    if (existing[0]?.any && !options.append) throw new SeedRefusedError();

    // Only an empty table is loaded bare; readers wait for the commit and never see it without indexes.
    const bare = !existing[0]?.any && (options.bulkLoad ?? trades >= BULK_LOAD_FROM);
    const restore = bare ? await setAsideForBulkLoad(client) : [];

    const taken = new Set(
      (await client.query<{ username: string }>('SELECT username FROM users')).rows.map((r) => r.username),
    );
    const plan = planSeed({ trades, seed: seedNumber, now, takenUsernames: taken });

    await client.query(
      `INSERT INTO symbols (symbol, exchange, active, market_type, created_at, updated_at)
       SELECT s, 'BINANCE', true, m, $3, $3 FROM unnest($1::text[], $2::text[]) AS t (s, m)
       ON CONFLICT (symbol) DO NOTHING`,
      [
        DEMO_SYMBOLS,
        DEMO_SYMBOLS.map((s) => (DEMO_FUTURES.has(s) ? 'FUTURES' : 'SPOT')),
        new Date(now - 120 * 86_400_000),
      ],
    );
    const symbolIds = new Map(
      (
        await client.query<{ id: string; symbol: string }>('SELECT id, symbol FROM symbols WHERE symbol = ANY($1)', [
          DEMO_SYMBOLS,
        ])
      ).rows.map((r) => [r.symbol, r.id]),
    );

    const { users } = plan;
    const inserted = await client.query<{ id: string; username: string }>(
      `INSERT INTO users (username, email, created_at)
       SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[]) RETURNING id, username`,
      [users.map((u) => u.username), users.map((u) => u.email), users.map((u) => new Date(u.createdAt))],
    );
    const idByName = new Map(inserted.rows.map((r) => [r.username, r.id]));
    const userIds = users.map((u) => idByName.get(u.username) as string);
    await client.query(
      `INSERT INTO signals_paperaccount (user_id, initial_balance, balance, equity, auto_trading_enabled, created_at, updated_at)
       SELECT id, b, b, b, auto, at, at FROM unnest($1::bigint[], $2::numeric[], $3::boolean[], $4::timestamptz[]) AS t (id, b, auto, at)`,
      [
        userIds,
        users.map((u) => u.initialBalance),
        users.map((u) => u.autoTrading),
        users.map((u) => new Date(u.createdAt)),
      ],
    );

    // Signal ids are reserved as one block so trades can name them before they exist.
    const { signals } = plan;
    let firstSignalId = 0;
    if (signals.length) {
      const { rows } = await client.query<{ first: string }>(
        `SELECT nextval(pg_get_serial_sequence('signals', 'id')) AS first`,
      );
      firstSignalId = Number(rows[0]?.first);
      await client.query(`SELECT setval(pg_get_serial_sequence('signals', 'id'), $1)`, [
        firstSignalId + signals.length - 1,
      ]);
      await copyLines(
        client,
        `COPY signals (id, symbol_id, created_by_id, direction, timeframe, entry, sl, tp, confidence, status,
           market_type, leverage, created_at, updated_at) FROM STDIN`,
        signals.map((s) => signalLine(s, firstSignalId + s.index, symbolIds, userIds)),
      );
    }

    const byStatus = Object.fromEntries(TRADE_STATUSES.map((s) => [s, 0])) as Record<TradeStatus, number>;
    let done = 0;
    progress({ phase: 'trades', done, total: trades });
    const every = Math.max(1000, Math.round(trades / 200));
    function* lines() {
      for (const row of planTrades(plan)) {
        byStatus[row.status]++;
        yield tradeLine(row, firstSignalId, userIds);
        if (++done % every === 0) progress({ phase: 'trades', done, total: trades });
      }
    }
    await copyLines(
      client,
      `COPY paper_trades (signal_id, user_id, symbol, direction, market_type, entry_price, entry_time, position_size,
         quantity, stop_loss, take_profit, exit_price, exit_time, profit_loss, profit_loss_percentage, leverage,
         status, created_at, updated_at) FROM STDIN`,
      lines(),
    );
    progress({ phase: 'trades', done, total: trades });

    if (restore.length) {
      progress({ phase: 'indexes', done, total: trades });
      await client.query(`SET LOCAL maintenance_work_mem = '256MB'`);
      for (const statement of restore) await client.query(statement);
    }

    progress({ phase: 'accounts', done, total: trades });
    const prices = new Map(DEMO_SYMBOLS.map((s) => [s, priceUnits(s, now)]));
    await updateMetrics(client, userIds, prices, now);
    await client.query('COMMIT');

    progress({ phase: 'analyze', done, total: trades });
    // VACUUM as well as ANALYZE: a bulk-loaded table has no visibility map until autovacuum visits, and
    // without one the index-only scans the bot_* sections are built on (migration 0006) read the heap.
    await client.query(`VACUUM (ANALYZE) ${TABLES}`);
    return {
      seed: seedNumber,
      now,
      trades: done,
      users: users.length,
      signals: signals.length,
      byStatus,
      durationMs: Math.round(performance.now() - started),
    };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    await client.end();
  }
}

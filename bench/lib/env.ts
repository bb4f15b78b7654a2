import { randomBytes } from 'node:crypto';
import { migrate } from '@snapboard/db';
import {
  adminUrlOf,
  createDatabaseIfMissing,
  databaseNameOf,
  deletePrefix,
  dropDatabase,
  ensurePostgres,
  ensureRedis,
  type Service,
  withDatabase,
} from '@snapboard/devenv';
import { loadConfig } from '@snapboard/shared';
import pg from 'pg';
import { spawnTs } from './procs.ts';

/**
 * The bench's services and databases. Redis and PostgreSQL are found (or started privately) the same
 * way `npm start` and `npm test` do. Seeded databases are kept between runs, since seeding a million
 * trades takes minutes; each run works on a fresh copy (CREATE DATABASE … TEMPLATE) and its own
 * key prefix, both removed at the end.
 */

export interface Services {
  redisUrl: string;
  /** Any database on the server; admin statements go to its `postgres` database. */
  postgresUrl: string;
  stop(): Promise<void>;
}

export async function ensureServices(log: (line: string) => void): Promise<Services> {
  // REDIS_URL and DATABASE_URL name the servers, as for every other command; the bench makes its own databases.
  const config = loadConfig(process.env);
  // The bench compares code paths on one machine: one Redis server is what it measures against.
  if (config.redis.mode !== 'single')
    throw new Error('npm run bench runs against one Redis server: set REDIS_URL only');
  const redisUrl = config.redis.url;
  const postgresUrl = withDatabase(config.databaseUrl, 'postgres');
  const started: Service[] = [];
  started.push(await ensureRedis(redisUrl, '.data/bench', log));
  started.push(await ensurePostgres(postgresUrl, '.data/bench', log));
  return {
    redisUrl,
    postgresUrl,
    stop: async () => {
      for (const service of started.reverse()) await service.stop();
    },
  };
}

export function runId(): string {
  return `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
}

export async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => {});
  }
}

async function databaseExists(postgresUrl: string, name: string): Promise<boolean> {
  return withClient(adminUrlOf(postgresUrl), async (c) => {
    const { rowCount } = await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    return (rowCount ?? 0) > 0;
  });
}

export async function tradeCount(url: string): Promise<number> {
  return withClient(url, async (c) => {
    const { rows } = await c.query<{ n: string }>(
      "SELECT CASE WHEN to_regclass('paper_trades') IS NULL THEN -1 ELSE (SELECT count(*) FROM paper_trades) END AS n",
    );
    return Number(rows[0]?.n ?? -1);
  });
}

/**
 * A database named `name` holding at least `trades` trades seeded by `db:seed`: reused when present,
 * otherwise created and seeded (the seed is one transaction, so a database with trades is complete).
 * Migrations are applied either way, so a kept database follows the schema.
 */
export async function ensureSeeded(
  postgresUrl: string,
  name: string,
  trades: number,
  log: (line: string) => void,
): Promise<{ url: string; trades: number; seeded: boolean; seedMs: number }> {
  const url = withDatabase(postgresUrl, name);
  if (await databaseExists(postgresUrl, name)) {
    await waitWhileBusy(postgresUrl, name, log);
    await migrate(url);
    const have = await tradeCount(url);
    if (have >= trades) {
      await vacuumIfNever(url, log);
      return { url, trades: have, seeded: false, seedMs: 0 };
    }
    if (have > 0) {
      log(`${name} has ${have} trades, fewer than ${trades}: reseeding it`);
      await dropDatabase(url);
    }
  }
  await createDatabaseIfMissing(url);
  await migrate(url);
  log(`seeding ${trades.toLocaleString('en')} trades into ${name} with db:seed (kept for later runs)…`);
  const started = Date.now();
  const seeder = spawnTs(`seed-${name}`, 'packages/db/src/cli/seed.ts', {
    args: ['--trades', String(trades)],
    env: { DATABASE_URL: url, LOG_LEVEL: 'warn' },
  });
  const { code } = await seeder.exited;
  if (code !== 0) throw new Error(`db:seed into ${name} failed (exit ${code}); see ${seeder.logFile}`);
  return { url, trades: await tradeCount(url), seeded: true, seedMs: Date.now() - started };
}

/**
 * A database kept from a seed older than its VACUUM (packages/db/src/seed.ts) has no visibility map:
 * the copies made from it would read system trades from the heap until autovacuum came, which a
 * deployment's autovacuum has long done. Once per kept database.
 */
async function vacuumIfNever(url: string, log: (line: string) => void): Promise<void> {
  await withClient(url, async (c) => {
    const { rows } = await c.query<{ never: boolean }>(
      `SELECT last_vacuum IS NULL AND last_autovacuum IS NULL AS never
         FROM pg_stat_user_tables WHERE relname = 'paper_trades'`,
    );
    if (!rows[0]?.never) return;
    log(`${databaseNameOf(url)} was never vacuumed: VACUUM (ANALYZE) paper_trades…`);
    await c.query('VACUUM (ANALYZE) paper_trades');
  });
}

/**
 * Another process may be seeding this database right now (its rows are invisible until it commits):
 * wait for it rather than seed it a second time.
 */
async function waitWhileBusy(postgresUrl: string, name: string, log: (line: string) => void): Promise<void> {
  const busy = () =>
    withClient(adminUrlOf(postgresUrl), async (c) => {
      const { rows } = await c.query<{ n: string }>(
        `SELECT count(*) AS n FROM pg_stat_activity
          WHERE datname = $1 AND pid <> pg_backend_pid() AND state = 'active'
            AND (query ILIKE 'copy %' OR query ILIKE 'insert %' OR query ILIKE 'lock %' OR xact_start < now() - interval '10 seconds')`,
        [name],
      );
      return Number(rows[0]?.n ?? 0) > 0;
    });
  const deadline = Date.now() + 30 * 60_000;
  let said = false;
  while ((await busy()) && Date.now() < deadline) {
    if (!said) log(`${name} is being written by another process (a seed?); waiting for it to finish…`);
    said = true;
    await new Promise((r) => setTimeout(r, 5000));
  }
}

/** A throwaway copy of `templateUrl` for this run (a file-level copy: seconds, not a reseed). */
export async function cloneDatabase(templateUrl: string, name: string): Promise<string> {
  const url = withDatabase(templateUrl, name);
  await withClient(adminUrlOf(templateUrl), async (c) => {
    await c.query(
      `CREATE DATABASE ${pg.escapeIdentifier(name)} TEMPLATE ${pg.escapeIdentifier(databaseNameOf(templateUrl))}`,
    );
  });
  return url;
}

export { deletePrefix, dropDatabase };

/** Transactions committed in one database so far, read from another so the reading adds none. */
export async function databaseCounters(
  postgresUrl: string,
  name: string,
): Promise<{ xactCommit: number; xactRollback: number; sessions: number; tupReturned: number; tupFetched: number }> {
  return withClient(adminUrlOf(postgresUrl), async (c) => {
    await c.query('SELECT pg_stat_clear_snapshot()');
    const { rows } = await c.query<Record<string, string>>(
      `SELECT xact_commit, xact_rollback, sessions, tup_returned, tup_fetched
         FROM pg_stat_database WHERE datname = $1`,
      [name],
    );
    const row = rows[0];
    if (!row) throw new Error(`no statistics for database ${name}`);
    return {
      xactCommit: Number(row.xact_commit),
      xactRollback: Number(row.xact_rollback),
      sessions: Number(row.sessions),
      tupReturned: Number(row.tup_returned),
      tupFetched: Number(row.tup_fetched),
    };
  });
}

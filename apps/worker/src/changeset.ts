import { performance } from 'node:perf_hooks';
import type { RecomputeReason } from '@snapboard/queue';
import type { RedisClient } from '@snapboard/redis';
import { type Catalog, type Keys, SECTIONS_BY_TABLE, type SectionData, type SectionName } from '@snapboard/shared';
import type pg from 'pg';
import type { Logger } from 'pino';
import type { PriceSource } from './prices/index.ts';
import type { Computation } from './sections/index.ts';
import { refreshRollups } from './sections/rollups.ts';

/**
 * One change set (SPEC §10, docs/decisions/0009-change-sets.md): every section it holds is computed
 * from one read-only REPEATABLE READ snapshot. Its members are what was asked for plus every section
 * of a table that changed between the previous set's snapshot and this one, as the change log (migration
 * 0007) shows *inside* this snapshot. NOTIFY and cadence ticks only wake the worker: however they race,
 * a set never holds a section from a newer database state than a neighbour it leaves out, because a
 * neighbour whose tables changed is in the set.
 */

/** A previous set older than this is not trusted to find changes from (the log keeps more). */
export const CHANGE_LOG_HORIZON_MS = 5 * 60_000;
/** Change log rows older than this are deleted (twice the horizon: a set never needs them). */
const CHANGE_LOG_KEEP = '10 minutes';
const TRIM_EVERY_MS = 60_000;

/** Connections a set's queries are spread over (the worker's pool holds 4: one stays free). */
const SET_LANES = 3;

export interface SetMemberResult<K extends SectionName = SectionName> {
  section: K;
  reason: RecomputeReason;
  data: SectionData[K];
  /** Compute time of this member alone (inside the set). */
  durationMs: number;
  /** 'query': read from the set's snapshot; 'reprice': the last published data at new prices. */
  mode: 'query' | 'reprice';
}

export interface ComputedSet {
  /** Taken just before the snapshot: every member's computed_at and the set's order stamp. */
  computedAt: Date;
  dbSnapshot: string;
  members: SetMemberResult[];
  /** Tables the snapshot shows changed since the previous set ('*' when there was none to compare). */
  changedTables: string[];
}

export interface SetComputerDeps {
  pool: pg.Pool;
  redis: RedisClient;
  keys: Keys;
  prices: PriceSource;
  logger: Logger;
  /** The sections there are, which tables affect them and the schema their data must match. */
  catalog: Catalog;
  /** Each catalog section's computation (sections/index.ts `computationsFor`). */
  computation: (section: SectionName) => Computation;
}

/** The sections a change to these tables affects. */
function ignoreClientError(): void {}

export function sectionsOfTables(
  tables: readonly string[],
  byTable: Catalog['byTable'] = SECTIONS_BY_TABLE,
): Set<SectionName> {
  return new Set(tables.flatMap((table) => byTable[table] ?? []));
}

export function createSetComputer(deps: SetComputerDeps) {
  const { pool, redis, keys, prices, logger, catalog, computation } = deps;
  const { dataSchemas, snapshotSchema } = catalog;
  const watchedTables = Object.keys(catalog.byTable);
  let lastTrim = 0;

  /** The fold is its own write on the primary, before the snapshot; a failed fold only costs speed. */
  async function fold(): Promise<void> {
    try {
      await refreshRollups(pool);
      if (Date.now() - lastTrim > TRIM_EVERY_MS) {
        lastTrim = Date.now();
        await pool.query(`DELETE FROM snapboard_change_log WHERE at < now() - interval '${CHANGE_LOG_KEEP}'`);
      }
    } catch (error) {
      // The set reads the rollups as of its own snapshot, unfolded hours included: still exact.
      logger.warn({ err: error }, 'rollup fold failed; the set reads the unfolded hours from the trades');
    }
  }

  /**
   * A pooled client held for the set. The pool only listens for errors on idle clients: one that loses
   * its connection while held would emit an 'error' nobody handles and end the process. The query in
   * flight fails anyway, which fails the set, which retries.
   */
  async function checkout(): Promise<pg.PoolClient> {
    const c = await pool.connect();
    c.on('error', ignoreClientError);
    return c;
  }

  async function previousSnapshot(): Promise<string | undefined> {
    const [snapshot, atMs] = await redis.hmget(keys.changes, 'snapshot', 'at_ms');
    if (!snapshot || !atMs || Date.now() - Number(atMs) > CHANGE_LOG_HORIZON_MS) return undefined;
    return snapshot;
  }

  async function lastPublished<K extends SectionName>(section: K): Promise<SectionData[K] | undefined> {
    const raw = await redis.get(keys.snapshot(section));
    if (!raw) return undefined;
    const parsed = snapshotSchema.safeParse(JSON.parse(raw));
    if (!parsed.success) return undefined;
    const data = dataSchemas[section].safeParse(parsed.data.data);
    return data.success ? (data.data as SectionData[K]) : undefined;
  }

  function checked<K extends SectionName>(section: K, data: unknown): SectionData[K] {
    // A section that broke its contract must not reach readers; the last good snapshot stays.
    const result = dataSchemas[section].safeParse(data);
    if (!result.success) {
      throw new Error(`${section} does not match its schema: ${result.error.issues[0]?.message ?? 'invalid'}`);
    }
    return result.data as SectionData[K];
  }

  async function compute(requested: ReadonlyMap<SectionName, RecomputeReason>): Promise<ComputedSet> {
    const previous = await previousSnapshot();
    await fold();
    const client = await checkout();
    const helpers: pg.PoolClient[] = [];
    let failed = false;
    try {
      const computedAt = new Date();
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const { rows } = await client.query<{ snapshot: string; exported: string }>(
        'SELECT pg_current_snapshot()::text AS snapshot, pg_export_snapshot() AS exported',
      );
      const dbSnapshot = rows[0]?.snapshot ?? '';
      let changedTables: string[];
      if (previous === undefined) changedTables = ['*'];
      else {
        const changed = await client.query<{ tbl: string }>(
          `SELECT DISTINCT tbl FROM snapboard_change_log
           WHERE xid >= pg_snapshot_xmin($1::pg_snapshot) AND NOT pg_visible_in_snapshot(xid, $1::pg_snapshot)`,
          [previous],
        );
        changedTables = changed.rows.map((r) => r.tbl);
      }
      const affected = sectionsOfTables(changedTables[0] === '*' ? watchedTables : changedTables, catalog.byTable);
      const plan = new Map<SectionName, RecomputeReason>(requested);
      for (const section of affected) if (!plan.has(section)) plan.set(section, 'event');

      const entries = [...plan];
      const repricing = await Promise.all(
        entries.map(async ([section, reason]) => {
          const computer = computation(section);
          if (!computer.reprice || reason !== 'schedule' || affected.has(section)) return undefined;
          return lastPublished(section);
        }),
      );
      // Queries run on a few connections that share the set's snapshot (SPEC §10 allows an exported
      // one): a set is as slow as its slowest lane, not the sum of its sections.
      const querying = entries.filter((_, i) => repricing[i] === undefined).length;
      const exported = rows[0]?.exported;
      while (exported && helpers.length < Math.min(SET_LANES, querying) - 1) {
        const helper = await checkout();
        helpers.push(helper);
        await helper.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
        await helper.query(`SET TRANSACTION SNAPSHOT '${exported.replace(/'/g, '')}'`);
      }
      const lanes = [client, ...helpers];
      let next = 0;
      const members = await Promise.all(
        entries.map(async ([section, reason], i): Promise<SetMemberResult> => {
          const computer = computation(section);
          const last = repricing[i];
          const lane = last === undefined ? (lanes[next++ % lanes.length] as pg.PoolClient) : undefined;
          const startedAt = performance.now();
          const data = lane
            ? await computer.compute({ db: lane, now: computedAt, prices })
            : await (computer.reprice as (l: unknown, c: object) => Promise<unknown>)(last, {
                prices,
                now: computedAt,
              });
          return {
            section,
            reason,
            data: checked(section, data),
            durationMs: performance.now() - startedAt,
            mode: lane ? 'query' : 'reprice',
          };
        }),
      );
      await Promise.all(lanes.map((lane) => lane.query('COMMIT')));
      return { computedAt, dbSnapshot, members, changedTables };
    } catch (error) {
      failed = true;
      await Promise.all([client, ...helpers].map((c) => c.query('ROLLBACK').catch(() => {})));
      throw error;
    } finally {
      // A client whose query failed may be in any state: the pool replaces it rather than reuse it.
      for (const c of [client, ...helpers]) {
        c.off('error', ignoreClientError);
        c.release(failed);
      }
    }
  }

  return { compute };
}

export type SetComputer = ReturnType<typeof createSetComputer>;

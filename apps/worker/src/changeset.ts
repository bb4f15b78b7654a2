import { performance } from 'node:perf_hooks';
import type { RecomputeReason } from '@snapboard/queue';
import type { RedisClient } from '@snapboard/redis';
import {
  type Catalog,
  checkedJsonReusingItems,
  type Keys,
  SECTIONS_BY_TABLE,
  type SectionData,
  type SectionName,
} from '@snapboard/shared';
import type pg from 'pg';
import type { Logger } from 'pino';
import type { PriceSource } from './prices/index.ts';
import { hashJson } from './publish.ts';
import type { Computation, SharedRead } from './sections/index.ts';
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

/** pg_snapshot's text form: xmin:xmax:xip,xip,… */
const PG_SNAPSHOT = /^\d+:\d+:(\d+(,\d+)*)?$/;
/** Up to this many unfolded rollup hours a set reads as they are; more, and it folds them first. */
const UNFOLDED_HOURS_READ_AS_IS = 16;
/** Connections a set's queries are spread over (the worker's pool holds 4: one stays free). */
const SET_LANES = 3;

/**
 * Every table a set's queries read (test: changeset-locks.test.ts checks this against the locks the
 * sections' queries take). The set's first connection locks them all before its snapshot, each helper
 * lane without waiting: a TRUNCATE or ALTER queued between the two would otherwise make a helper wait
 * on it while it waits on the first connection, which waits for the helper — a cycle through the
 * client that PostgreSQL cannot see, broken only by the statement timeout 10 s later.
 */
export const SET_TABLES = [
  'paper_trades',
  'signals_paperaccount',
  'users',
  'signals',
  'snapboard_closed_hours',
  'snapboard_closed_chain',
  'snapboard_created_hours',
  'snapboard_dirty_hours',
  'snapboard_change_log',
] as const;
const LOCK_SET_TABLES = `LOCK TABLE ${SET_TABLES.join(', ')} IN ACCESS SHARE MODE`;
/**
 * The set's one prepared statement family (the history reads, sections/history.ts) is planned once per
 * connection instead of at every execution. Left to choose, PostgreSQL kept a custom plan for the
 * closed rollup's read, planning it again at each bind (1.7–2 ms of the set's longest lane, measured
 * in the server's log); its generic plan is the same plan (rollup scans, and the one index range on
 * exit time either way) and runs in 3.4 ms against the custom one's 5.3 with its planning. Transaction
 * local: nothing else the worker runs is prepared.
 */
const GENERIC_PLANS = 'SET LOCAL plan_cache_mode = force_generic_plan';
/** SQLSTATE lock_not_available: a NOWAIT lock found a conflicting request. */
const LOCK_NOT_AVAILABLE = '55P03';

export interface SetMemberResult<K extends SectionName = SectionName> {
  section: K;
  reason: RecomputeReason;
  data: SectionData[K];
  /** Compute time of this member alone (inside the set). */
  durationMs: number;
  /** 'query': read from the set's snapshot; 'reprice': the last published data at new prices. */
  mode: 'query' | 'reprice';
  /** `data` as published, and its content hash (publish.ts). */
  json: string;
  hash: string;
}

export interface ComputedSet {
  /** Taken just before the snapshot: every member's computed_at and the set's order stamp. */
  computedAt: Date;
  dbSnapshot: string;
  members: SetMemberResult[];
  /** Tables the snapshot shows changed since the previous set ('*' when there was none to compare). */
  changedTables: string[];
  /** Milliseconds from the start of compute() at which each step ended (for the 'change set' log). */
  phases: Record<string, number>;
  /** Helper lanes that found an exclusive lock request queued on the set's tables and left their queries to the others. */
  lanesStoodAside: number;
  /**
   * The set's read-only transactions ending and their connections going back to the pool: what they
   * read is final, so the set publishes meanwhile. Never rejects; wait for it before the fold.
   */
  ended: Promise<void>;
}

export interface SetComputerDeps {
  /** Seconds per section (config.ttls): a cadence tick skips a section published less than half of it ago. */
  ttls: Readonly<Record<SectionName, number>>;
  pool: pg.Pool;
  redis: RedisClient;
  /** Where the snapshot is read: the replica once it has replayed the change (replica.ts); else `pool`. */
  snapshotPool?: () => Promise<pg.Pool>;
  keys: Keys;
  prices: PriceSource;
  logger: Logger;
  /** The sections there are, which tables affect them and the schema their data must match. */
  catalog: Catalog;
  /** Each catalog section's computation (sections/index.ts `computationsFor`). */
  computation: (section: SectionName) => Computation;
}

/** What the set computer keeps of the last published set (`{prefix}:set:last`): its snapshot and time. */
export interface PreviousSet {
  snapshot: string | null;
  atMs: string | null;
}

export async function readPreviousSet(redis: RedisClient, keys: Keys): Promise<PreviousSet> {
  const [snapshot = null, atMs = null] = await redis.hmget(keys.changes, 'snapshot', 'at_ms');
  return { snapshot, atMs };
}

interface OpeningRow {
  snapshot: string;
  exported: string;
  changed: Record<string, boolean> | null;
  /** More rollup hours unfolded than a set reads as they are. */
  behind: boolean;
}

/** One query of a set: a section, or several answered by their shared read. */
interface QueryItem {
  sections: [SectionName, RecomputeReason][];
  shared?: SharedRead;
}

function ignoreClientError(): void {}

/** A section that broke its contract: the set fails, and the last good snapshot stays. */
function schemaError(section: SectionName, message: string): Error {
  return new Error(`${section} does not match its schema: ${message}`);
}

/** The sections a change to these tables affects. */
export function sectionsOfTables(
  tables: readonly string[],
  byTable: Catalog['byTable'] = SECTIONS_BY_TABLE,
): Set<SectionName> {
  return new Set(tables.flatMap((table) => byTable[table] ?? []));
}

export function createSetComputer(deps: SetComputerDeps) {
  const { pool, redis, keys, prices, logger, ttls, catalog, computation } = deps;
  const { dataSchemas, snapshotSchema } = catalog;
  const watchedTables = Object.keys(catalog.byTable);
  let lastTrim = 0;

  /**
   * The fold is its own write on the primary, run after a set has published (off the path from commit
   * to readers): a set reads the rollups as of its own snapshot, unfolded hours included, so it is exact
   * either way; folding only keeps the unfolded part small. A failed fold only costs speed.
   */
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
  async function checkout(source: pg.Pool): Promise<pg.PoolClient> {
    const c = await source.connect();
    c.on('error', ignoreClientError);
    return c;
  }

  async function previousSnapshot(last?: PreviousSet): Promise<string | undefined> {
    const { snapshot, atMs } = last ?? (await readPreviousSet(redis, keys));
    if (!snapshot || !atMs || Date.now() - Number(atMs) > CHANGE_LOG_HORIZON_MS) return undefined;
    // Spliced into the set's opening SQL as a literal: only pg_snapshot's own text form is taken.
    return PG_SNAPSHOT.test(snapshot) ? snapshot : undefined;
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
      throw schemaError(section, result.error.issues[0]?.message ?? 'invalid');
    }
    return result.data as SectionData[K];
  }

  /** Per section whose items are kept between computes, each item's checked JSON (decision 0021). */
  const itemJson = new Map<SectionName, WeakMap<object, string>>();

  /** `data` checked against its section's schema, and its JSON: what a set publishes. */
  function checkedJson<K extends SectionName>(section: K, data: unknown): { valid: SectionData[K]; json: string } {
    if (computation(section).reusesItems) {
      let items = itemJson.get(section);
      if (!items) {
        items = new WeakMap();
        itemJson.set(section, items);
      }
      const result = checkedJsonReusingItems(dataSchemas[section], data, items);
      if (result && !result.ok) throw schemaError(section, result.error);
      // Each part checked (the items when they were first seen): the JSON is the checked data's.
      if (result) return { valid: data as SectionData[K], json: result.json };
    }
    const valid = checked(section, data);
    return { valid, json: JSON.stringify(valid) };
  }

  /**
   * Recent time per query (a section, or sections read together): a set's lanes take the longest
   * first (the set lasts as long as its longest lane).
   */
  const expectedMs = new Map<string, number>();

  /**
   * Cadence ticks of sections a set published less than half their TTL ago. Such a tick would only
   * repeat that set (a trade close re-prices the open positions too; a tick a second later cost every
   * subscriber another fan-out round for prices a second newer); skipped, a section still never gets
   * near stale (3 × TTL). A section a change or a person asked for is never skipped, nor one whose
   * tables the set's snapshot shows changed.
   */
  async function freshTicks(requested: ReadonlyMap<SectionName, RecomputeReason>): Promise<Set<SectionName>> {
    const ticks = [...requested].filter(([, reason]) => reason === 'schedule').map(([section]) => section);
    const fresh = new Set<SectionName>();
    if (!ticks.length) return fresh;
    const stamps = await redis.pipeline(ticks.map((section) => ['hget', keys.meta(section), 'computed_at_ms'])).exec();
    const now = Date.now();
    ticks.forEach((section, i) => {
      const at = Number(stamps?.[i]?.[1]);
      if (Number.isFinite(at) && at > 0 && now - at < (ttls[section] * 1000) / 2) fresh.add(section);
    });
    return fresh;
  }

  /**
   * BEGIN, the snapshot, its export for the helper lanes, what changed since `previous` — each table
   * with whether a change touched a system trade (migration 0008) — and whether more rollup hours are
   * unfolded than a set should recompute on the fly (a trade close marks two), in one round trip.
   */
  function openingSql(previous: string | undefined): string {
    const changed =
      previous === undefined
        ? 'NULL::json'
        : `(SELECT coalesce(json_object_agg(tbl, system), '{}'::json) FROM (
             SELECT tbl, bool_or(system) AS system FROM snapboard_change_log
              WHERE xid >= pg_snapshot_xmin('${previous}'::pg_snapshot)
                AND NOT pg_visible_in_snapshot(xid, '${previous}'::pg_snapshot)
              GROUP BY tbl) c)`;
    // LOCK takes no snapshot: the one the SELECT takes sees every table as it is once locked.
    return `BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; ${LOCK_SET_TABLES}; ${GENERIC_PLANS};
      SELECT pg_current_snapshot()::text AS snapshot, pg_export_snapshot() AS exported, ${changed} AS changed,
        (SELECT count(*) > ${UNFOLDED_HOURS_READ_AS_IS} OR coalesce(bool_or(hour IS NULL), false)
           FROM (SELECT DISTINCT rollup, hour FROM snapboard_dirty_hours) d) AS behind`;
  }

  /** The sections the changes affect; `undefined` changes (no previous set to compare with): all. */
  function affectedBy(changes: Record<string, boolean> | undefined): Set<SectionName> {
    if (changes === undefined) return sectionsOfTables(watchedTables, catalog.byTable);
    const affected = new Set<SectionName>();
    for (const [table, system] of Object.entries(changes)) {
      for (const section of catalog.byTable[table] ?? []) {
        if (system || !computation(section).systemTradesOnly) affected.add(section);
      }
    }
    return affected;
  }

  /**
   * The set's first connection with its transaction open (openingSql). Many unfolded hours (a bulk
   * load, scattered history, a TRUNCATE) would make every section's rollup read recompute them all
   * inside the set: then the fold runs first, as a set did before, and the snapshot is taken again.
   */
  async function open(
    previous: string | undefined,
  ): Promise<{ source: pg.Pool; client: pg.PoolClient; computedAt: Date; row?: OpeningRow }> {
    for (let attempt = 0; ; attempt++) {
      // On a read replica, only once it has replayed the primary's position (replica.ts, decision 0015).
      const source = deps.snapshotPool ? await deps.snapshotPool() : pool;
      const client = await checkout(source);
      try {
        const computedAt = new Date();
        const opened = (await client.query(openingSql(previous))) as unknown as pg.QueryResult[];
        // [BEGIN, LOCK, SET, SELECT]
        const row = opened[3]?.rows[0] as OpeningRow | undefined;
        if (!row?.behind || attempt > 0) return { source, client, computedAt, row };
        await client.query('ROLLBACK');
      } catch (error) {
        client.off('error', ignoreClientError);
        client.release(true);
        throw error;
      }
      client.off('error', ignoreClientError);
      client.release();
      await fold();
    }
  }

  async function compute(
    requested: ReadonlyMap<SectionName, RecomputeReason>,
    options: { previous?: PreviousSet } = {},
  ): Promise<ComputedSet> {
    const t0 = performance.now();
    const phases: Record<string, number> = {};
    const mark = (name: string) => {
      phases[name] = Math.round((performance.now() - t0) * 10) / 10;
    };
    const [previous, fresh] = await Promise.all([previousSnapshot(options.previous), freshTicks(requested)]);
    if (requested.size > 0 && fresh.size === requested.size) {
      // Nothing but ticks of sections published moments ago: no set, not even a snapshot. A change
      // meanwhile has its own notification, hence its own set.
      return {
        computedAt: new Date(),
        dbSnapshot: '',
        members: [],
        changedTables: [],
        phases,
        lanesStoodAside: 0,
        ended: Promise.resolve(),
      };
    }
    mark('previous');
    const { source, client, computedAt, row } = await open(previous);
    const helpers: pg.PoolClient[] = [];
    let failed = false;
    let handedOver = false;
    let stoodAside = 0;
    try {
      const dbSnapshot = row?.snapshot ?? '';
      const changes = row?.changed ?? undefined;
      const changedTables = changes ? Object.keys(changes).sort() : ['*'];
      mark('snapshot');
      const affected = affectedBy(changes);
      const plan = new Map<SectionName, RecomputeReason>(requested);
      for (const section of affected) if (!plan.has(section)) plan.set(section, 'event');
      // A notification only wakes the worker: the snapshot tells what changed since the last set. A
      // section an event asked for that no change in between affects is left out: the set before this
      // one already read the change it was woken for (with a direct set per change, decision 0022, the
      // other workers' requests for the same commit often arrive after it has taken them), or the change
      // touched users' trades and the section shows system trades alone. Anything a person or a cadence
      // asked for stays in.
      if (changes) {
        for (const [section, reason] of requested) {
          if (reason === 'event' && !affected.has(section)) plan.delete(section);
        }
      }

      for (const section of fresh) if (!affected.has(section)) plan.delete(section);
      const entries = [...plan];
      const repricing = await Promise.all(
        entries.map(async ([section, reason]) => {
          const computer = computation(section);
          if (!computer.reprice || reason !== 'schedule' || affected.has(section)) return undefined;
          return lastPublished(section);
        }),
      );
      const members: SetMemberResult[] = [];
      const member = (
        section: SectionName,
        reason: RecomputeReason,
        data: unknown,
        startedAt: number,
        mode: SetMemberResult['mode'],
      ) => {
        // Serialized and hashed here, while the other lanes still wait on the database: the publish
        // that follows the last query then has only that member's bytes left to prepare.
        // Checked data is in its schema's key order: its JSON is canonical as it is (publish.ts).
        const { valid, json } = checkedJson(section, data);
        const durationMs = performance.now() - startedAt;
        members.push({ section, reason, data: valid, durationMs, mode, json, hash: hashJson(json) });
        return durationMs;
      };
      const reprices = entries.flatMap(([section, reason], i) => {
        const last = repricing[i];
        if (last === undefined) return [];
        const computer = computation(section);
        const startedAt = performance.now();
        return [
          (computer.reprice as (l: unknown, c: object) => Promise<unknown>)(last, { prices, now: computedAt }).then(
            (data) => {
              member(section, reason, data, startedAt, 'reprice');
            },
          ),
        ];
      });
      // Queries are pulled by a few connections sharing the set's snapshot (SPEC §10 allows an exported
      // one), longest first: the first connection starts at once, the others join as they open.
      // Sections with one shared read (decision 0018), several of them in this set, are one query.
      const items: QueryItem[] = [];
      const byRead = new Map<SharedRead, QueryItem>();
      entries.forEach(([section, reason], i) => {
        if (repricing[i] !== undefined) return;
        const shared = computation(section).shared;
        const joined = shared && byRead.get(shared);
        if (joined) {
          joined.sections.push([section, reason]);
          return;
        }
        const item: QueryItem = { sections: [[section, reason]], shared };
        items.push(item);
        if (shared) byRead.set(shared, item);
      });
      const keyOf = (item: QueryItem) => item.sections.map(([section]) => section).join('+');
      const queue = items.sort((a, b) => (expectedMs.get(keyOf(b)) ?? 0) - (expectedMs.get(keyOf(a)) ?? 0));
      const runLane = async (lane: pg.PoolClient) => {
        for (let next = queue.shift(); next && !failed; next = queue.shift()) {
          const startedAt = performance.now();
          const ctx = { db: lane, now: computedAt, prices };
          const [first, ...rest] = next.sections;
          if (!first) continue;
          if (next.shared && rest.length) {
            const data = await next.shared.read(
              ctx,
              next.sections.map(([section]) => section),
            );
            for (const [section, reason] of next.sections)
              member(section, reason, data.get(section), startedAt, 'query');
          } else {
            member(first[0], first[1], await computation(first[0]).compute(ctx), startedAt, 'query');
          }
          const ms = performance.now() - startedAt;
          const key = keyOf(next);
          expectedMs.set(key, ((expectedMs.get(key) ?? ms) + ms) / 2);
        }
      };
      const exported = row?.exported;
      const helperCount = exported ? Math.min(SET_LANES, queue.length) - 1 : 0;
      const lanes = [
        runLane(client),
        ...Array.from({ length: Math.max(0, helperCount) }, async () => {
          const helper = await checkout(source);
          helpers.push(helper);
          if (failed || !queue.length) return;
          try {
            await helper.query(
              `BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET TRANSACTION SNAPSHOT '${exported?.replace(/'/g, '')}';
               ${LOCK_SET_TABLES} NOWAIT; ${GENERIC_PLANS}`,
            );
          } catch (error) {
            if ((error as { code?: string }).code !== LOCK_NOT_AVAILABLE) throw error;
            // Someone waits for an exclusive lock on a table the set holds: this lane stands aside and
            // the lanes that hold the locks run its queries; the waiter goes once the set commits.
            await helper.query('ROLLBACK');
            stoodAside++;
            return;
          }
          await runLane(helper);
        }),
        ...reprices,
      ];
      // Every lane settles before the set ends, so none is left running on a client being released.
      const settled = await Promise.allSettled(
        lanes.map((lane) =>
          lane.catch((error) => {
            failed = true;
            throw error;
          }),
        ),
      );
      const rejected = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (rejected) throw rejected.reason;
      mark('queries');
      // A READ ONLY transaction at REPEATABLE READ cannot fail to commit what it read: the set is
      // final now, and its COMMITs go out while it publishes rather than before.
      const transactions = [client, ...helpers];
      const ended = Promise.all(
        transactions.map((lane) =>
          lane.query('COMMIT').then(
            () => false,
            () => true,
          ),
        ),
      ).then((broken) => {
        mark('commit');
        transactions.forEach((lane, i) => {
          lane.off('error', ignoreClientError);
          // One whose COMMIT failed may be in any state: the pool replaces it.
          lane.release(broken[i]);
        });
      });
      handedOver = true;
      // The order the set was planned in, whatever order the lanes finished in.
      const order = new Map(entries.map(([section], i) => [section, i]));
      members.sort((a, b) => (order.get(a.section) ?? 0) - (order.get(b.section) ?? 0));
      return { computedAt, dbSnapshot, members, changedTables, phases, lanesStoodAside: stoodAside, ended };
    } catch (error) {
      failed = true;
      await Promise.all([client, ...helpers].map((c) => c.query('ROLLBACK').catch(() => {})));
      throw error;
    } finally {
      // A client whose query failed may be in any state: the pool replaces it rather than reuse it.
      if (!handedOver) {
        for (const c of [client, ...helpers]) {
          c.off('error', ignoreClientError);
          c.release(failed);
        }
      }
    }
  }

  return { compute, fold };
}

export type SetComputer = ReturnType<typeof createSetComputer>;

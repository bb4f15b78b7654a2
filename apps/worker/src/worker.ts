import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { type ClosablePool, createClosablePool } from '@snapboard/db/pool';
import {
  addSetJob,
  createRecomputeQueue,
  RECOMPUTE_JOB_OPTIONS,
  type RecomputeJobData,
  type RecomputeQueue,
  type RecomputeReason,
  recordRequestLua,
  requestRecompute,
} from '@snapboard/queue';
import { closeRedisClient, createRedisClient, throttledErrors } from '@snapboard/redis';
import {
  CATALOG,
  type Catalog,
  type Config,
  checkTtls,
  type Keys,
  keysForConfig,
  type SectionName,
  within,
} from '@snapboard/shared';
import { type Job, WaitingError, Worker } from 'bullmq';
import type pg from 'pg';
import type { Logger } from 'pino';
import { type ChangeListener, createChangeListener, type DebounceOptions } from './changes.ts';
import { createSetComputer, type PreviousSet, type SetMemberResult } from './changeset.ts';
import { createPriceSource, type PriceSource } from './prices/index.ts';
import { createPublisher, type PublishResult } from './publish.ts';
import { createReplicaGate, ReplicaBehindError } from './replica.ts';
import {
  createScheduleQueue,
  createTickWorker,
  type ScheduleQueue,
  type TickData,
  upsertSchedules,
} from './schedule.ts';
import { type ComputationRegistry, computationsFor, SECTION_COMPUTERS } from './sections/index.ts';
import { createStats, type WorkerStats } from './stats.ts';
import { youngCollector } from './young-gc.ts';

export interface WorkerOptions {
  config: Config;
  logger: Logger;
  /**
   * The sections to compute and publish (the product's catalog by default); `config` must be loaded
   * with the same one (its TTLs), and `computations` must hold one for each.
   */
  catalog?: Catalog;
  /** Each section's computation; SECTION_COMPUTERS (sections/index.ts) by default. */
  computations?: ComputationRegistry;
  /** The worker's database pool; by default one of its own on config.databaseUrl, closed with it. */
  pool?: pg.Pool;
  /** For PRICE_SOURCE=binance. */
  fetch?: typeof globalThis.fetch;
  /** Run the per-section job schedulers (default true). */
  schedule?: boolean;
  /** LISTEN for table changes and recompute the affected sections at once (default true). */
  listen?: boolean;
  /** BullMQ concurrency of the recompute worker (sets still run one at a time per deployment). */
  concurrency?: number;
  debounce?: DebounceOptions;
  /** How long close() lets running jobs finish before handing them back to the queue. */
  closeGraceMs?: number;
  /**
   * Called as BullMQ hands a job to this worker, before anything else: the one place a test can
   * make close() begin between BullMQ taking a job from the queue and the job starting.
   */
  onJobReceived?: (job: Job<RecomputeJobData>) => void;
}

export interface RecomputeResult extends PublishResult {
  section: SectionName;
  reason: RecomputeReason;
  mode: SetMemberResult['mode'];
  durationMs: number;
}

export interface ChangeSetResult {
  /** The set's id; undefined when the whole set was refused as older than what is published. */
  change: string | undefined;
  members: RecomputeResult[];
  durationMs: number;
  changedTables: string[];
  /** Milliseconds from the set's start at which each step ended. */
  phases: Record<string, number>;
  /** Helper connections that stood aside for a queued exclusive lock (changeset.ts SET_TABLES). */
  lanesStoodAside: number;
}

export interface SnapboardWorker {
  readonly keys: Keys;
  readonly queue: RecomputeQueue;
  readonly pool: pg.Pool;
  readonly prices: PriceSource;
  start(): Promise<void>;
  /** Compute a change set (these sections plus whatever changed since the last set) and publish it. */
  runSet(requested: ReadonlyMap<SectionName, RecomputeReason>): Promise<ChangeSetResult>;
  close(): Promise<void>;
}

/** Connections carry the deployment's KEY_PREFIX in pg_stat_activity (PostgreSQL keeps 63 bytes). */
export function applicationName(role: 'worker' | 'listen', keyPrefix: string): string {
  return `snapboard-${role}:${keyPrefix}`.slice(0, 63);
}

/** The field of `setTaken` that holds the set's token (section names are [a-z_]+). */
const TAKEN_TOKEN = ':token';
/**
 * A section a set took and did not publish, named in the pending hash again: behind a newer request
 * for it, except a cadence tick's, which never replaces another reason (the queue's rule) and here must
 * not either: a set of ticks alone for sections published moments ago is skipped without a snapshot,
 * and the change the section was taken for would wait for the next one.
 */
const GIVE_BACK_LUA = `local function giveBack(key, section, reason)
  local current = redis.call('HGET', key, section)
  if not current or (current == 'schedule' and reason ~= 'schedule') then redis.call('HSET', key, section, reason) end
end`;
/** KEYS: pending; ARGV: section, reason, section, reason… */
const GIVE_BACK = `${GIVE_BACK_LUA}
for i = 1, #ARGV, 2 do giveBack(KEYS[1], ARGV[i], ARGV[i + 1]) end`;
/**
 * The set lock (decision 0022) and the pending sections in one step: the request is named in the
 * pending hash (the queue's rule); then, if no set holds the lock, this one takes it, every pending
 * section (HGETALL and DEL: a request lands either in this set or in the next, never in neither) and
 * the last set's snapshot (the set computer would read it next). Nil when another set holds the lock.
 * What the set took is recorded under its token (`setTaken`) until it lets the lock go: a lock free
 * with a record still there means the set's worker died in it, and its sections are given back
 * (GIVE_BACK_LUA) and taken here. The third element says how many were.
 * KEYS: pending, lock, last set, taken; ARGV: token, lock ms, reason, sections…
 */
const TAKE_SET = `${recordRequestLua(3)}
${GIVE_BACK_LUA}
if not redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then return false end
local left = redis.call('HGETALL', KEYS[4])
local recovered = 0
for i = 1, #left, 2 do
  if left[i] ~= '${TAKEN_TOKEN}' then
    giveBack(KEYS[1], left[i], left[i + 1])
    recovered = recovered + 1
  end
end
local taken = redis.call('HGETALL', KEYS[1]) redis.call('DEL', KEYS[1])
redis.call('DEL', KEYS[4])
redis.call('HSET', KEYS[4], '${TAKEN_TOKEN}', ARGV[1], unpack(taken))
return {taken, redis.call('HMGET', KEYS[3], 'snapshot', 'at_ms'), recovered}`;
/**
 * KEYS: lock, taken; ARGV: token, lock ms (0: let go). Only the holder's token renews or releases
 * them; letting go also drops the record of what it took (its own, even if the lock lapsed meanwhile).
 */
const HOLD_SET = `if ARGV[2] == '0' then
  if redis.call('HGET', KEYS[2], '${TAKEN_TOKEN}') == ARGV[1] then redis.call('DEL', KEYS[2]) end
  if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
  return redis.call('DEL', KEYS[1])
end
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
return redis.call('PEXPIRE', KEYS[1], ARGV[2])`;
/**
 * A set left behind: the lock free and a record of what a set took still there (its worker died in
 * it). Its sections, or false. KEYS: lock, taken.
 */
const LEFT_BEHIND = `if redis.call('EXISTS', KEYS[1]) == 1 then return false end
local fields = redis.call('HKEYS', KEYS[2])
if #fields == 0 then return false end
local sections = {}
for _, field in ipairs(fields) do
  if field ~= '${TAKEN_TOKEN}' then sections[#sections + 1] = field end
end
return sections`;
/**
 * The set lock's expiry, renewed while the set runs: a worker that dies mid-set holds the deployment's
 * sets for at most this long (BullMQ's lock on the job it ran under was the same).
 */
const SET_LOCK_MS = 10_000;
const SET_LOCK_RENEW_MS = 3_000;
/**
 * How often a worker looks for a set whose worker died in it (LEFT_BEHIND). A queue job's set is run
 * again by BullMQ once found stalled; a direct set has no job, and nothing else would start a set for
 * what it took before the next change or cadence tick.
 */
const LEFT_BEHIND_CHECK_MS = 3_000;
/** A set waiting for another worker's set polls the lock this often at most. */
const SET_LOCK_POLL_MS = 50;
/** From a set's publish to the fold of the hours it left unfolded: past the API's fan-out of it. */
const FOLD_DELAY_MS = 1000;
/**
 * From a set's publish to the collection of its garbage (young-gc.ts): past the API's first sockets,
 * which share the two cores, and well before the next close of a bot that trades every few seconds.
 */
const COLLECT_DELAY_MS = 100;
/** V8's young-generation collection, once per process (young-gc.ts); undefined where it cannot be had. */
const collectYoung = youngCollector();

/** A set holding the lock: its token, the sections it took and the last set's snapshot. */
interface HeldSet {
  token: string;
  taken: Map<SectionName, RecomputeReason>;
  previous: PreviousSet;
  /** Stops renewing the lock and lets it go (underLock does at the end; a hand-back at shutdown sooner). */
  release?: () => Promise<void>;
}

/** A set running now: a queue job's (with BullMQ's lock token, to hand it back) or a direct one (no job). */
interface RunningSet {
  job?: Job<RecomputeJobData>;
  token?: string;
  done: Promise<unknown>;
  /** What it took from the pending hash (empty while a job waits for the set lock). */
  taken: Map<SectionName, RecomputeReason>;
  held?: HeldSet;
}

/** The worker's deadline for every query but a full rollup fold. */
export const QUERY_DEADLINE_MS = { statement: 10_000, client: 15_000 } as const;

export function createPool(databaseUrl: string, logger: Logger, name = 'snapboard-worker'): ClosablePool {
  const pool = createClosablePool({
    connectionString: databaseUrl,
    max: 4,
    application_name: name,
    connectionTimeoutMillis: 5000,
    // Section queries run for milliseconds at any history size (they read rollups), so a short
    // deadline costs nothing and a silent connection (dead host, failover, dropped flow, where no
    // answer ever comes) is given up in seconds; the pool discards the failed query's client and
    // the job retries. The client's deadline is above the server's: a server that answers "timed
    // out" is alive. The one long statement, a full rollup fold, gets its own (LONG_FOLD_MS).
    statement_timeout: QUERY_DEADLINE_MS.statement,
    query_timeout: QUERY_DEADLINE_MS.client,
    // Dashboard queries run for milliseconds; JIT compiling them costs more than it saves.
    options: '-c jit=off',
  });
  // An idle client losing its connection must not crash the process; the pool replaces it.
  pool.on('error', (error) => logger.warn({ err: error }, 'idle database connection lost'));
  return pool;
}

export function createWorker(options: WorkerOptions): SnapboardWorker {
  const { config, logger } = options;
  const catalog = options.catalog ?? CATALOG;
  // Both fail here, at construction, rather than as a set that cannot compute or publish a member.
  const computation = computationsFor(catalog, options.computations ?? SECTION_COMPUTERS);
  checkTtls(config, catalog.names);
  const sections = catalog.names;
  const ttls = Object.fromEntries(sections.map((name) => [name, config.ttls[name]])) as Record<SectionName, number>;
  const keys = keysForConfig(config);
  // A pool the caller passed in is the caller's to close.
  let ownPool: ClosablePool | undefined;
  let pool: pg.Pool;
  if (options.pool) pool = options.pool;
  else pool = ownPool = createPool(config.databaseUrl, logger, applicationName('worker', config.keyPrefix));

  // Commands (publish, stats) fail fast so a job fails and retries instead of hanging on a lost Redis;
  // BullMQ's connection waits forever by design (its production guide: maxRetriesPerRequest null).
  const connectionName = `snapboard-worker:${config.keyPrefix}`;
  const redis = createRedisClient(config.redis, { name: connectionName, maxRetriesPerRequest: 2, lazyConnect: true });
  const bullConnection = createRedisClient(config.redis, {
    name: connectionName,
    maxRetriesPerRequest: null,
    lazyConnect: true,
  });
  const connectionError = throttledErrors(logger);
  redis.on('error', (error) => connectionError('redis error', error));
  bullConnection.on('error', (error) => connectionError('redis (queue) error', error));

  const stats: WorkerStats = createStats(redis, keys);
  const publisher = createPublisher(redis, keys, {
    sections,
    // A promoted primary: every section starts a new epoch on its next publish; make that now.
    onNewPrimary() {
      logger.warn('redis primary changed (failover): new epochs for every section');
      requestRecompute(queue, sections, 'schedule').catch((error) =>
        logger.warn({ err: error }, 'could not request recomputes after a failover'),
      );
    },
  });
  const prices = createPriceSource(config, {
    fetch: options.fetch,
    onFailures: (count) => {
      stats
        .recordPriceFailures(config.priceSource, count)
        .catch((error) => logger.warn({ err: error }, 'could not record price failures'));
    },
  });
  const queue = createRecomputeQueue(bullConnection, keys);
  queue.on('error', (error) => connectionError('recompute queue error', error));

  let scheduleQueue: ScheduleQueue | undefined;
  let tickWorker: Worker<TickData> | undefined;
  let recomputeWorker: Worker<RecomputeJobData> | undefined;
  let listener: ChangeListener | undefined;
  let started = false;
  let closing: Promise<void> | undefined;
  /** Sets running now, with what shutdown needs to hand each back. */
  const active = new Map<string, RunningSet>();

  // Redis came back after a disconnect, possibly empty (restart without persistence, failover):
  // the job schedulers may be gone with it, and readers need snapshots again at once. Upserting is
  // idempotent and an extra tick only asks for a coalesced recompute, so doing it every time is safe.
  let readies = 0;
  bullConnection.on('ready', () => {
    readies++;
    if (readies === 1 || !started || closing) return;
    logger.warn('redis reconnected: restoring schedules and recomputing every section');
    (async () => {
      if (scheduleQueue) await upsertSchedules(scheduleQueue, ttls);
      await requestRecompute(queue, sections, 'schedule');
    })().catch((error) => logger.error({ err: error }, 'could not restore schedules after reconnect'));
  });

  // DATABASE_READ_URL (SPEC §12): the sets' snapshots are read there once it has replayed the change;
  // the listener, the fold and everything that writes stay on the primary.
  const readPool = config.databaseReadUrl
    ? createPool(config.databaseReadUrl, logger, applicationName('worker', config.keyPrefix))
    : undefined;
  const replica =
    readPool &&
    createReplicaGate({ primary: pool, replica: readPool, waitMs: config.databaseReadWaitMs, redis, keys, logger });
  const sets = createSetComputer({
    pool,
    redis,
    keys,
    prices,
    logger,
    catalog,
    computation,
    ttls,
    snapshotPool: replica?.caughtUp,
  });
  let foldedOnce = false;
  let foldTimer: NodeJS.Timeout | undefined;
  let collectTimer: NodeJS.Timeout | undefined;
  let folding: Promise<void> | undefined;

  /**
   * The fold after a set runs a moment later, once, for every set of that moment: right after the
   * publish it wrote the rollups (4–10 ms of PostgreSQL on the bench's data) while the API was writing
   * the set to its sockets on the same two cores. A set reads the unfolded hours as of its own snapshot
   * either way (changeset.ts), and hours, not closes, are what stays unfolded.
   */
  function foldSoon(): void {
    if (foldTimer || closing) return;
    foldTimer = setTimeout(() => {
      foldTimer = undefined;
      folding ??= sets.fold().finally(() => {
        folding = undefined;
      });
    }, FOLD_DELAY_MS);
    // A process that ends meanwhile leaves the hours to the next set's reads and the next start's fold.
    foldTimer.unref();
  }

  /**
   * The young generation collected a moment after a set, while nothing computes (young-gc.ts), so the
   * next set starts with it empty instead of paying for a scavenge of its own live data. A set running
   * by then (this worker's) schedules its own when it publishes.
   */
  function collectSoon(): void {
    if (!collectYoung || collectTimer || closing) return;
    collectTimer = setTimeout(() => {
      collectTimer = undefined;
      if (!localSet) collectYoung();
    }, COLLECT_DELAY_MS);
    collectTimer.unref();
  }

  async function runSet(
    requested: ReadonlyMap<SectionName, RecomputeReason>,
    previous?: PreviousSet,
  ): Promise<ChangeSetResult> {
    const startedAt = performance.now();
    // The first set of a process folds first: after a migration or a bulk load every hour may be
    // unfolded, and each section would recompute them all from the trades.
    if (!foldedOnce) await sets.fold();
    foldedOnce = true;
    const computed = await sets.compute(requested, { previous });
    // Nothing asked for and nothing changed (its request was taken by the set before it): no set.
    if (computed.members.length === 0) {
      await computed.ended;
      if (computed.dbSnapshot) foldSoon();
      return {
        change: undefined,
        members: [],
        durationMs: performance.now() - startedAt,
        changedTables: [],
        phases: computed.phases,
        lanesStoodAside: computed.lanesStoodAside,
      };
    }
    let published: Awaited<ReturnType<typeof publisher.publishSet>>;
    let publishedAt: number;
    try {
      published = await publisher.publishSet({
        computedAt: computed.computedAt,
        dbSnapshot: computed.dbSnapshot,
        members: computed.members.map((m) => ({
          section: m.section,
          ttl: ttls[m.section],
          data: m.data,
          json: m.json,
          hash: m.hash,
        })),
      });
      publishedAt = performance.now();
    } finally {
      // The set's transactions end while it publishes (changeset.ts); their connections are back
      // before the next set takes them.
      await computed.ended;
    }
    const phases = { ...computed.phases, publish: Math.round((publishedAt - startedAt) * 10) / 10 };
    // After the publish, so readers never wait for it (changeset.ts), and after its fan-out.
    foldSoon();
    collectSoon();
    const members = computed.members.map((m): RecomputeResult => {
      const result = published.members.get(m.section) as PublishResult;
      return { section: m.section, reason: m.reason, mode: m.mode, durationMs: m.durationMs, ...result };
    });
    await stats.recordDurations(members.map((m) => ({ section: m.section, ms: m.durationMs })));
    return {
      change: published.change,
      members,
      durationMs: performance.now() - startedAt,
      changedTables: computed.changedTables,
      phases,
      lanesStoodAside: computed.lanesStoodAside,
    };
  }

  /**
   * Names `sections` in the pending hash, then takes the set lock and every pending section at once
   * (requests made from then on wait for the next set); undefined when another set holds the lock.
   */
  async function takeSet(reason: RecomputeReason, sections: readonly SectionName[]): Promise<HeldSet | undefined> {
    const token = randomUUID();
    const reply = (await redis.eval(
      TAKE_SET,
      4,
      keys.pendingSections,
      keys.setLock,
      keys.changes,
      keys.setTaken,
      token,
      SET_LOCK_MS,
      reason,
      ...sections,
    )) as [string[], (string | null)[], number] | null;
    if (!reply) return undefined;
    const [flat, [snapshot = null, atMs = null] = [], recovered = 0] = reply;
    if (recovered > 0) {
      logger.warn({ sections: recovered, outcome: 'recovered' }, 'a set whose worker died left sections; taken again');
    }
    const taken = new Map<SectionName, RecomputeReason>();
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const section = flat[i];
      if (catalog.has(section)) taken.set(section, flat[i + 1] as RecomputeReason);
      else logger.error({ section, outcome: 'failed' }, 'recompute: unknown section requested; dropped');
    }
    return { token, taken, previous: { snapshot, atMs } };
  }

  function letGo(token: string): Promise<void> {
    return redis.eval(HOLD_SET, 2, keys.setLock, keys.setTaken, token, 0).then(
      () => {},
      (error) => logger.warn({ err: error }, 'could not release the set lock; it expires by itself'),
    );
  }

  /** The set this process runs under the lock now: a set of this worker waits for it instead of polling. */
  let localSet: Promise<unknown> | undefined;
  let leftBehindTimer: NodeJS.Timeout | undefined;

  /**
   * A set whose worker died in it leaves its lock to expire and what it took recorded (TAKE_SET): once
   * the lock is free, a set job is asked for, and its set takes those sections again (and finds the
   * changes it was computing in the change log since the last published set). Every worker looks; the
   * queue's deduplication keeps it to one job waiting.
   */
  async function checkLeftBehind(): Promise<void> {
    if (closing || localSet) return;
    try {
      const left = (await redis.eval(LEFT_BEHIND, 2, keys.setLock, keys.setTaken)) as string[] | null;
      if (!left) return;
      logger.warn({ sections: left }, 'a set whose worker died left its sections; asking for a set to take them');
      await addSetJob(queue, left.filter((section) => catalog.has(section)) as SectionName[], 'event');
    } catch (error) {
      logger.warn({ err: error }, 'could not look for a set left behind');
    }
  }

  /** Runs `work` holding the set lock, renewed meanwhile and let go after. */
  async function underLock<T>(held: HeldSet, work: () => Promise<T>): Promise<T> {
    const renew = setInterval(() => {
      redis.eval(HOLD_SET, 2, keys.setLock, keys.setTaken, held.token, SET_LOCK_MS).then(
        (kept) => {
          if (!kept) logger.warn('the set lock expired while its set ran (a set elsewhere may run beside it)');
        },
        (error) => logger.warn({ err: error }, 'could not renew the set lock'),
      );
    }, SET_LOCK_RENEW_MS);
    renew.unref();
    held.release = () => {
      clearInterval(renew);
      return letGo(held.token);
    };
    const run = work();
    localSet = run;
    try {
      return await run;
    } finally {
      if (localSet === run) localSet = undefined;
      await held.release();
    }
  }

  /**
   * A queue job's set waits for the lock: for this worker's own set to end, or, held elsewhere, by
   * polling it. Undefined when the worker begins closing meanwhile.
   */
  async function waitForSet(): Promise<HeldSet | undefined> {
    for (let pause = 2; !closing; pause = Math.min(pause * 2, SET_LOCK_POLL_MS)) {
      const held = await takeSet('schedule', []);
      if (held) return held;
      // This worker's own set ends when its promise does (the poll still bounds the wait); another
      // worker's is polled, sooner at first.
      const own = localSet;
      await (own ? Promise.race([own.catch(() => {}), sleep(SET_LOCK_POLL_MS)]) : sleep(pause));
    }
    return undefined;
  }

  /** A set that did not publish gives its sections back (GIVE_BACK_LUA). */
  async function restorePending(requested: ReadonlyMap<SectionName, RecomputeReason>): Promise<void> {
    if (!requested.size) return;
    await redis.eval(GIVE_BACK, 1, keys.pendingSections, ...[...requested].flat());
  }

  /**
   * What started a set, for its log lines: a queue job (its id and attempt), or a change the listener
   * brought straight to the set (direct; a failure is retried by a queue job).
   */
  interface SetOrigin {
    job_id?: string;
    direct?: true;
    attempt: number;
    /** A failure is retried (by BullMQ, or by the job a failed direct set asks for). */
    retried: boolean;
  }

  function jobOrigin(job: Job<RecomputeJobData>): SetOrigin {
    const attempt = job.attemptsMade + 1;
    return { job_id: job.id, attempt, retried: attempt < (job.opts.attempts ?? RECOMPUTE_JOB_OPTIONS.attempts) };
  }

  async function processSet(
    origin: SetOrigin,
    requested: Map<SectionName, RecomputeReason>,
    waitedMs?: number,
    previous?: PreviousSet,
  ): Promise<ChangeSetResult> {
    const startedAt = performance.now();
    const { job_id, direct, attempt } = origin;
    try {
      const result = await runSet(requested, previous);
      for (const m of result.members) {
        logger.info(
          {
            section: m.section,
            reason: m.reason,
            job_id,
            direct,
            change: result.change,
            attempt,
            mode: m.mode,
            duration_ms: Math.round(m.durationMs * 10) / 10,
            changed: m.outcome === 'changed',
            version: m.version,
            outcome: m.outcome,
          },
          'recompute',
        );
      }
      logger.info(
        {
          change: result.change,
          job_id,
          direct,
          sections: result.members.length,
          changed: result.members.filter((m) => m.outcome === 'changed').length,
          tables: result.changedTables,
          duration_ms: Math.round(result.durationMs * 10) / 10,
          queued_ms: waitedMs,
          phases: result.phases,
          ...(result.lanesStoodAside ? { lanes_stood_aside: result.lanesStoodAside } : {}),
          outcome: result.members.length === 0 ? 'empty' : result.change === undefined ? 'rejected' : 'published',
        },
        'change set',
      );
      return result;
    } catch (error) {
      await restorePending(requested).catch(() => {});
      // Not a failure of its sections: the replica gate logged it once and counted it (replica.ts).
      if (error instanceof ReplicaBehindError) throw error;
      for (const [section, reason] of requested) {
        await stats.recordFailure(section).catch(() => {});
        logger.error(
          {
            section,
            reason,
            job_id,
            direct,
            attempt,
            duration_ms: Math.round((performance.now() - startedAt) * 10) / 10,
            changed: false,
            outcome: origin.retried ? 'retrying' : 'failed',
            err: error,
          },
          'recompute',
        );
      }
      throw error;
    }
  }

  /**
   * Back to the queue for another worker (or the next start), now rather than when its locks expire:
   * what the set took goes back to the hash, so the next set takes it again, and the set lock is let
   * go. A direct set has no job to move: a job is asked for in its place.
   */
  async function handBack(
    job: Job<RecomputeJobData> | undefined,
    token: string | undefined,
    taken?: ReadonlyMap<SectionName, RecomputeReason>,
    held?: HeldSet,
  ): Promise<void> {
    if (taken) await restorePending(taken).catch(() => {});
    await held?.release?.();
    const sections = job ? job.data.sections : [...(taken?.keys() ?? [])];
    const moved = job ? job.moveToWait(token) : addSetJob(queue, sections, 'event');
    return moved.then(
      () => logger.warn({ sections, job_id: job?.id, outcome: 'handed_back' }, 'recompute'),
      (error) => logger.warn({ err: error, job_id: job?.id }, 'could not hand back a running set'),
    );
  }

  /**
   * A change the listener heard goes straight to a set (decision 0022): one round trip names its
   * sections and, when no set runs anywhere, takes the set lock with every pending section. When one
   * runs, the request waits in the hash for the queue's next set job, as any request does. A direct set
   * that fails leaves its sections to a queue job, which retries them with backoff.
   */
  async function directSet(changed: SectionName[]): Promise<void> {
    if (closing) return;
    const requestedAt = new Date();
    const held = await takeSet('event', changed);
    if (!held) {
      await addSetJob(queue, changed, 'event', requestedAt);
      return;
    }
    const id = `direct:${held.token}`;
    const run = underLock(held, () =>
      processSet({ direct: true, attempt: 1, retried: true }, held.taken, 0, held.previous),
    );
    active.set(id, { done: run, taken: held.taken, held });
    try {
      await run;
    } catch {
      // Logged per section by processSet, which gave the sections back to the hash.
      if (!closing) await addSetJob(queue, [...held.taken.keys()], 'event', requestedAt);
    } finally {
      active.delete(id);
    }
  }

  return {
    keys,
    queue,
    pool,
    prices,
    runSet,

    async start() {
      if (started) return;
      started = true;
      // BullMQ may have started connecting already; only a connection still waiting needs a push.
      await Promise.all([redis, bullConnection].map((c) => (c.status === 'wait' ? c.connect() : undefined)));
      // Listen before the first computes, so no change falls between them and the listener.
      if (options.listen !== false) {
        listener = createChangeListener({
          databaseUrl: config.databaseUrl,
          applicationName: applicationName('listen', config.keyPrefix),
          logger,
          byTable: catalog.byTable,
          debounce: options.debounce,
          onChange: directSet,
        });
        await listener.start();
      }
      const processor = async (job: Job<RecomputeJobData>, token?: string) => {
        options.onJobReceived?.(job);
        if (closing) {
          // BullMQ had already taken it from the queue when the shutdown paused the worker, so close()
          // could not count it among the running jobs: it goes back unstarted rather than hold the
          // shutdown. WaitingError tells BullMQ it was moved, not failed.
          await handBack(job, token);
          throw new WaitingError();
        }
        // Counted as running before its first await, so a close() that begins now waits for it (or
        // hands it back) instead of missing it; `taken` is filled in as soon as the set takes its sections.
        const entry: RunningSet = { job, token, done: Promise.resolve(), taken: new Map() };
        // The pending hash is what the set computes; the job's own `sections` are already in it (or
        // were taken by the set before this one), so they are not added again.
        const run = waitForSet().then((held) => {
          // The worker began closing while the job waited for another set: back to the queue.
          if (!held) return handBack(job, token).then(() => Promise.reject(new WaitingError()));
          entry.taken = held.taken;
          entry.held = held;
          const waitedMs = Date.now() - Date.parse(job.data.requestedAt);
          return underLock(held, () => processSet(jobOrigin(job), held.taken, waitedMs, held.previous));
        });
        entry.done = run;
        const id = String(job.id);
        active.set(id, entry);
        try {
          return await run;
        } finally {
          active.delete(id);
        }
      };
      recomputeWorker = new Worker<RecomputeJobData>(keys.recomputeQueue, processor, {
        connection: bullConnection,
        prefix: keys.bullPrefix,
        concurrency: options.concurrency ?? 4,
        autorun: false,
        // A worker that dies mid-job holds its section (deduplication parks new requests behind the
        // job) until the job is found stalled: BullMQ's 30 s + 30 s defaults left it unpublished for
        // about a minute; these bound it to about 15 s. The lock is renewed every 5 s while alive.
        lockDuration: 10_000,
        stalledInterval: 5_000,
      });
      recomputeWorker.on('error', (error) => connectionError('recompute worker error', error));
      recomputeWorker.run().catch((error) => logger.error({ err: error }, 'recompute worker stopped'));
      if (options.schedule !== false) {
        scheduleQueue = createScheduleQueue(bullConnection, keys);
        scheduleQueue.on('error', (error) => connectionError('schedule queue error', error));
        await upsertSchedules(scheduleQueue, ttls);
        tickWorker = createTickWorker({
          connection: bullConnection,
          keys,
          recomputeQueue: queue,
          onError: (error) => connectionError('schedule worker error', error),
        });
        tickWorker.run().catch((error) => logger.error({ err: error }, 'schedule worker stopped'));
      }
      leftBehindTimer = setInterval(() => void checkLeftBehind(), LEFT_BEHIND_CHECK_MS);
      leftBehindTimer.unref();
      // Fresh snapshots at once rather than after each section's first period.
      await requestRecompute(queue, sections, 'schedule');
    },

    close() {
      closing ??= (async () => {
        if (leftBehindTimer) clearInterval(leftBehindTimer);
        await listener?.close();
        await tickWorker?.close();
        let abandoned = false;
        if (recomputeWorker) {
          await recomputeWorker.pause(true);
          const running = [...active.values()];
          if (!(await within(Promise.all(running.map((r) => r.done)), options.closeGraceMs ?? 10_000))) {
            // A job that cannot finish (a lock, a dead database) must not hold the shutdown. Handing it
            // back puts it in the queue for another worker now rather than after its lock expires.
            abandoned = true;
            // A job still waiting for the set lock hands itself back as it sees the worker closing.
            for (const { job, token, taken, held } of active.values()) {
              if (held) await handBack(job, token, taken, held);
            }
          }
          await recomputeWorker.close(abandoned);
        }
        if (foldTimer) clearTimeout(foldTimer);
        foldTimer = undefined;
        if (collectTimer) clearTimeout(collectTimer);
        collectTimer = undefined;
        if (folding) await (abandoned ? within(folding, 1000) : folding);
        await scheduleQueue?.close();
        await queue.close();
        // An abandoned job still holds a pooled connection, which pool.end() would wait for forever.
        if (ownPool) await (abandoned ? within(ownPool.close(), 1000) : ownPool.close());
        if (readPool) await (abandoned ? within(readPool.close(), 1000) : readPool.close());
        await Promise.all([redis, bullConnection].map(closeRedisClient));
      })();
      return closing;
    },
  };
}

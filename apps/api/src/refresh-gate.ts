import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';

/**
 * `?refresh=true` is public, so it must not be a lever on the database (SPEC §13): a forced recompute
 * starts at most once per REFRESH_MIN_INTERVAL_MS across every client and every API instance. The
 * bound is one Redis key (`keys.refreshGate`) set with NX and PX: the instance that sets it starts the
 * recompute and records when; every refresh that finds it waits for that recompute (at most
 * REFRESH_WAIT_MS) and never starts another. See docs/decisions/0011-bounded-refresh-and-socket-limits.md.
 */

/** What a forced recompute is, from the gate's side: how to start one and whether it can still finish. */
export interface ForcedRecompute {
  /** Start a recompute of every section. The one entry point; the gate wraps it, whatever it does. */
  start(): Promise<unknown>;
  /**
   * Whether any recompute is still queued or running. False while the gate's recompute has not
   * finished means it was lost (its jobs removed unrun), and the next refresh may start it again.
   */
  pending(): Promise<boolean>;
}

/** The few commands the gate needs; the API's ioredis connection (or the queue's) fits. */
export interface GateRedis {
  eval(script: string, numKeys: number, ...args: (string | number)[]): Promise<unknown>;
}

export type RefreshOutcome = 'started' | 'joined' | 'cached';

export interface RefreshAnswer {
  /** The answer waited for (or found finished) a forced recompute of this interval: `cached: false`. */
  fresh: boolean;
  outcome: RefreshOutcome;
}

export interface RefreshGate {
  refresh(logger: Logger, client: string): Promise<RefreshAnswer>;
}

export interface RefreshGateDeps {
  redis: GateRedis;
  key: string;
  minIntervalMs: number;
  waitMs: number;
  recompute: ForcedRecompute;
  /** True when every section was computed at or after `sinceMs` (by this instance's replica). */
  computedSince(sinceMs: number): boolean;
  /** Resolves true as soon as `predicate` holds, false after `timeoutMs`. */
  waitFor(predicate: () => boolean, timeoutMs: number): Promise<boolean>;
  registry: Registry;
  now: () => number;
}

/**
 * Take the gate when it is free (or when it still holds `lost`, a recompute found lost): returns
 * [1, what it now holds, ms left] for the caller that took it, else [0, what holds it, ms left]. The
 * value is the interval's start in ms, with ":queued" appended once its recompute has been queued.
 */
const TAKE = `
local held = redis.call('GET', KEYS[1])
if held and held ~= ARGV[3] then return {0, held, redis.call('PTTL', KEYS[1])} end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return {1, ARGV[1], tonumber(ARGV[2])}`;

/** The holder's recompute is queued: only now can "no job pending" mean it was lost. */
const QUEUED = `
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('SET', KEYS[1], ARGV[1] .. ':queued', 'KEEPTTL') end
return 1`;

/**
 * How long a refresh that finds no job left waits for the announcement of the last one to arrive
 * before it calls the recompute lost: a quarter of the interval, within [100 ms, 1 s]. A busy host
 * can take longer than 100 ms from a job's end to its announcement, and a retake then would be a
 * second recompute in one interval.
 */
const announceGraceMs = (minIntervalMs: number) => Math.min(1000, Math.max(100, minIntervalMs / 4));

export function createRefreshGate(deps: RefreshGateDeps): RefreshGate {
  const { key, minIntervalMs, waitMs, recompute, computedSince, waitFor, now } = deps;
  const counter = new Counter({
    name: 'snapboard_refresh_requests_total',
    help:
      'refresh=true requests by outcome: started (this request started the forced recompute), joined (answered ' +
      'after the one already started), cached (answered with what there was). Only started ones cost the database.',
    labelNames: ['outcome'],
    registers: [deps.registry],
  });
  let loggedInterval: number | undefined;
  /** The interval this instance last saw in the gate, until (by its own clock) the key expires. */
  let known: { since: number; until: number } | undefined;

  async function take(at: number, lost = ''): Promise<{ taken: boolean; since: number; held: string }> {
    const [taken, held, left] = (await deps.redis.eval(TAKE, 1, key, String(at), String(minIntervalMs), lost)) as [
      number,
      string,
      number,
    ];
    const since = Number.parseInt(held, 10);
    known = { since, until: at + Math.max(0, left) };
    return { taken: taken === 1, since, held };
  }

  /** Start the recompute; false (and a warning) when it could not be asked for. */
  async function start(logger: Logger, deadline: number): Promise<boolean> {
    const asked = recompute.start().then(
      () => true,
      (error: Error) => {
        logger.warn({ err: error.message }, 'refresh: could not queue recomputes; answering with what we have');
        return false;
      },
    );
    return Promise.race([asked, sleep(Math.max(0, deadline - now())).then(() => false)]);
  }

  async function answer(logger: Logger, client: string, at: number): Promise<RefreshAnswer> {
    // Inside an interval whose recompute has already finished, the answer is known without asking Redis:
    // a loop on refresh=true then costs this instance no more than a plain read.
    if (known && at < known.until && computedSince(known.since)) return { fresh: true, outcome: 'joined' };
    const deadline = at + waitMs;
    let { taken, since, held } = await take(at);
    // Before the holder has queued its recompute, "no job pending" means nothing: it is about to be.
    if (!taken && held.endsWith(':queued') && !computedSince(since) && !(await recompute.pending())) {
      // Nothing left that could finish it: the interval's recompute was lost. Give the announcement of a
      // job that just finished a moment to arrive, then start it again — once, whoever gets there first.
      if (!(await waitFor(() => computedSince(since), announceGraceMs(minIntervalMs))))
        ({ taken, since, held } = await take(now(), held));
    }
    if (taken) {
      if (!(await start(logger, deadline))) return { fresh: false, outcome: 'cached' };
      await deps.redis.eval(QUEUED, 1, key, held);
    } else if (loggedInterval !== since) {
      // Once per interval and instance, not once per request: a loop on refresh=true is one episode.
      loggedInterval = since;
      logger.info(
        { client, started_at: new Date(since).toISOString(), min_interval_ms: minIntervalMs },
        'refresh inside REFRESH_MIN_INTERVAL_MS: served by the forced recompute already started',
      );
    }
    const fresh = await waitFor(() => computedSince(since), Math.max(0, deadline - now()));
    return { fresh, outcome: taken ? 'started' : fresh ? 'joined' : 'cached' };
  }

  return {
    async refresh(logger, client) {
      let result: RefreshAnswer;
      try {
        result = await answer(logger, client, now());
      } catch (error) {
        // Redis unreachable: nothing can be started or waited for; the replica still has an answer.
        logger.warn({ err: (error as Error).message }, 'refresh: gate unavailable; answering with what we have');
        result = { fresh: false, outcome: 'cached' };
      }
      counter.inc({ outcome: result.outcome });
      return result;
    },
  };
}

const sleep = (ms: number) =>
  new Promise<void>((resolve) => {
    setTimeout(resolve, ms).unref();
  });

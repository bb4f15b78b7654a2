import { performance } from 'node:perf_hooks';
import type { RedisClient } from '@snapboard/redis';
import type { Keys } from '@snapboard/shared';
import type pg from 'pg';
import type { Logger } from 'pino';
import type { Queryable } from './sections/types.ts';

/**
 * The read replica (SPEC §12, docs/decisions/0015-read-replica-wait-for-lsn.md). With
 * DATABASE_READ_URL a set reads its snapshot on a streaming standby, and a standby may not have
 * replayed yet the commit that triggered the set. A WAL position taken inside the writing
 * transaction precedes its commit record, so the position is taken when the set starts — after the
 * notification (delivered after the commit) woke the worker — on the primary, and the set waits until
 * the standby's replay has passed it. Every set waits, not only those a notification started: a
 * set read on a standby behind the previous set's snapshot would go back in time.
 *
 * Past the bound (DATABASE_READ_WAIT_MS) the set gives up with ReplicaBehindError and publishes
 * nothing: its sections go back to the pending hash, the job retries, and the change log (migration
 * 0007) shows the change to whichever set finally reads a standby that has it. Meanwhile the
 * sections age and are marked stale (§4); a set without its own change is never published.
 */

export class ReplicaBehindError extends Error {
  override name = 'ReplicaBehindError';
  constructor(
    message: string,
    /** WAL bytes the replica was behind the position when last asked; undefined when it did not answer. */
    readonly behindBytes: number | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface ReplicaGate {
  /**
   * Resolves with the replica's pool once it has replayed everything the primary had committed when
   * this was called; rejects with ReplicaBehindError past the bound (or when the replica is away).
   */
  caughtUp(): Promise<pg.Pool>;
}

export interface ReplicaGateDeps {
  /** Where the WAL position is read: the primary (DATABASE_URL). */
  primary: Queryable;
  /** The standby (DATABASE_READ_URL) the sets read. */
  replica: pg.Pool;
  waitMs: number;
  /** Where the figures for /metrics go (keys.replica); the API exports them. */
  redis: RedisClient;
  keys: Keys;
  logger: Logger;
}

/** One give-up is logged at once; more in the same outage at most once per this window, counted. */
const LOG_WINDOW_MS = 10_000;
/** Polls of the replay position start at 1 ms and double up to this (a poll is one tiny query). */
const MAX_POLL_MS = 25;

const POSITION = 'SELECT pg_current_wal_lsn()::text AS lsn';
// A server not in recovery (the primary itself, or a promoted standby) has everything it committed.
const REPLAYED = `SELECT NOT pg_is_in_recovery() OR pg_last_wal_replay_lsn() >= $1::pg_lsn AS replayed,
  greatest(0, coalesce(pg_wal_lsn_diff($1::pg_lsn, pg_last_wal_replay_lsn()), 0))::float8 AS behind`;

export function createReplicaGate(deps: ReplicaGateDeps): ReplicaGate {
  const { primary, replica, waitMs, redis, keys, logger } = deps;
  /** The current run of give-ups: when it began, how many were not logged yet, when one last was. */
  let outage: { since: number; held: number; loggedAt: number; count: number } | undefined;

  function record(fields: Record<string, number>, gaveUp: boolean): void {
    // Figures for a scrape, never in a set's way: not awaited, and a lost write only loses a sample.
    const pipeline = redis.pipeline().hset(keys.replica, { ...fields, at_ms: Date.now() });
    if (gaveUp) pipeline.hincrby(keys.replica, 'gave_up', 1);
    pipeline.exec().catch(() => {});
  }

  function gaveUp(error: ReplicaBehindError): never {
    const now = Date.now();
    record(
      { reachable: error.behindBytes === undefined ? 0 : 1, lag_bytes: error.behindBytes ?? -1, lag_ms: waitMs },
      true,
    );
    outage ??= { since: now, held: 0, loggedAt: 0, count: 0 };
    outage.count++;
    if (now - outage.loggedAt >= LOG_WINDOW_MS) {
      logger.warn(
        {
          err: error.cause ?? undefined,
          behind_bytes: error.behindBytes,
          wait_ms: waitMs,
          outcome: 'stale',
          ...(outage.held ? { repeated: outage.held } : {}),
        },
        `read replica: ${error.message}; nothing published for this change, its sections stay pending`,
      );
      outage.loggedAt = now;
      outage.held = 0;
    } else outage.held++;
    throw error;
  }

  return {
    async caughtUp() {
      const startedAt = performance.now();
      const deadline = startedAt + waitMs;
      const { rows } = await primary.query<{ lsn: string }>(POSITION);
      const position = rows[0]?.lsn as string;
      let behind: number | undefined;
      let pause = 1;
      for (;;) {
        let answer: { replayed: boolean; behind: number } | undefined;
        try {
          answer = await beforeDeadline<{ replayed: boolean; behind: number }>(
            replica.query(REPLAYED, [position]),
            deadline,
          );
        } catch (error) {
          gaveUp(new ReplicaBehindError('the replica did not answer', undefined, { cause: error }));
        }
        if (answer === undefined) {
          gaveUp(new ReplicaBehindError(`the replica did not answer within ${waitMs} ms`, behind));
        }
        behind ??= answer.behind;
        if (answer.replayed) break;
        if (performance.now() + pause > deadline) {
          gaveUp(new ReplicaBehindError(`the replica had not replayed ${position} after ${waitMs} ms`, answer.behind));
        }
        await new Promise((resolve) => setTimeout(resolve, pause));
        pause = Math.min(pause * 2, MAX_POLL_MS);
      }
      const waited = performance.now() - startedAt;
      record({ reachable: 1, lag_bytes: behind, lag_ms: Math.round(waited * 1000) / 1000 }, false);
      if (outage) {
        logger.info(
          { behind_for_ms: Date.now() - outage.since, gave_up: outage.count, outcome: 'caught_up' },
          'read replica: caught up; sets publish again',
        );
        outage = undefined;
      }
      return replica;
    },
  };
}

/** The query's first row, or undefined when the deadline passes first (the query is left to its own timeout). */
async function beforeDeadline<T>(query: Promise<pg.QueryResult>, deadline: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), Math.max(0, deadline - performance.now()));
  });
  query.catch(() => {});
  try {
    const result = await Promise.race([query, late]);
    return result?.rows[0] as T | undefined;
  } finally {
    clearTimeout(timer);
  }
}

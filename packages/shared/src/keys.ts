import type { RedisMode } from './config.ts';
import type { SectionName } from './sections.ts';

/**
 * Every Redis key, channel and queue name snapboard uses, derived from KEY_PREFIX.
 * Nothing else builds a key by hand, so two deployments (or two test files) can share a Redis.
 *
 * In Redis Cluster every name starts with the hash tag `{KEY_PREFIX}` (decision 0012): the whole
 * deployment lives in one slot, so multi-key scripts and MGET stay legal and the sharded announcement
 * channel sits on the same primary as the keys it announces. One server keeps the untagged names.
 */
export interface Keys {
  /** KEY_PREFIX as configured. */
  prefix: string;
  /** What every name starts with: KEY_PREFIX, or `{KEY_PREFIX}` in cluster mode. */
  base: string;
  /** The section's current snapshot (JSON), `{prefix}:{section}` per SPEC §4. Never expires. */
  snapshot(section: SectionName): string;
  /** Version bookkeeping for a section: epoch, version, content hash, computed_at. */
  meta(section: SectionName): string;
  /** Pub/sub channel on which the worker announces every publish. */
  announceChannel: string;
  /** BullMQ `prefix` option: BullMQ appends `:{queue}:...` itself. */
  bullPrefix: string;
  /** BullMQ queue name for recompute jobs. */
  recomputeQueue: string;
  /**
   * BullMQ queue of the job schedulers' cheap ticks: each tick asks for a coalesced recompute
   * (deduplication is not available in job scheduler templates, so schedulers cannot feed
   * the recompute queue directly).
   */
  scheduleQueue: string;
  /** Hash of failure counters per section, kept by the worker for /metrics. */
  failures: string;
  /** Hash of price-fetch failure counters per source. */
  priceFailures: string;
  /** Hash: section → milliseconds its last successful recompute took. */
  durations: string;
  /**
   * Hash of the read replica's figures (DATABASE_READ_URL, SPEC §12), kept by the workers for /metrics:
   * the last measured lag and the count of sets that gave up waiting for it.
   */
  replica: string;
  /**
   * The start time (ms) of the last forced recompute asked for by `refresh=true`, expiring after
   * REFRESH_MIN_INTERVAL_MS: while it exists no API instance starts another (SPEC §13).
   */
  refreshGate: string;
  /** Replication id of the primary under which the current epochs were issued (apps/worker fence.ts). */
  primary: string;
  /**
   * Hash: section → reason, the sections asked for and not yet taken by a change set (SPEC §10).
   * A set takes all of them at once, so requests made while a set computes join the next one.
   */
  pendingSections: string;
  /**
   * Hash of the last published change set: `id` (the increasing `change` counter), `at_ms` (when its
   * database snapshot was taken; an older set is refused) and `snapshot` (that snapshot, pg_snapshot
   * text, from which the next set finds what changed in between).
   */
  changes: string;
  /**
   * Held (a token, with an expiry the holder renews) by the change set computing now, on whichever
   * worker: sets of one deployment never run at once, whether a queue job or a change listener's
   * direct set started them (docs/decisions/0022).
   */
  setLock: string;
  /**
   * Hash of what the set holding `setLock` took from `pendingSections` (section → reason), and its
   * token under `:token`. Gone when the set lets the lock go; left behind when its worker dies, for the
   * next set to take again (decision 0022).
   */
  setTaken: string;
}

export function keysFor(prefix: string, mode: RedisMode = 'single'): Keys {
  const base = mode === 'cluster' ? `{${prefix}}` : prefix;
  return {
    prefix,
    base,
    snapshot: (section) => `${base}:${section}`,
    meta: (section) => `${base}:meta:${section}`,
    announceChannel: `${base}:announce`,
    // BullMQ's cluster requirement: the prefix carries the hash tag, so each queue's keys share a slot.
    bullPrefix: `${base}:bull`,
    recomputeQueue: 'recompute',
    scheduleQueue: 'schedule',
    failures: `${base}:stats:failures`,
    priceFailures: `${base}:stats:price_failures`,
    durations: `${base}:stats:durations`,
    replica: `${base}:stats:replica`,
    refreshGate: `${base}:refresh:gate`,
    primary: `${base}:primary`,
    pendingSections: `${base}:set:pending`,
    changes: `${base}:set:last`,
    setLock: `${base}:set:running`,
    setTaken: `${base}:set:taken`,
  };
}

/** The keys of the deployment a config describes. */
export function keysForConfig(config: { keyPrefix: string; redis: { mode: RedisMode } }): Keys {
  return keysFor(config.keyPrefix, config.redis.mode);
}

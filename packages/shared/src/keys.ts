import type { SectionName } from './sections.ts';

/**
 * Every Redis key, channel and queue name snapboard uses, derived from KEY_PREFIX.
 * Nothing else builds a key by hand, so two deployments (or two test files) can share a Redis.
 */
export interface Keys {
  prefix: string;
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
   * The start time (ms) of the last forced recompute asked for by `refresh=true`, expiring after
   * REFRESH_MIN_INTERVAL_MS: while it exists no API instance starts another (SPEC §13).
   */
  refreshGate: string;
}

export function keysFor(prefix: string): Keys {
  return {
    prefix,
    snapshot: (section) => `${prefix}:${section}`,
    meta: (section) => `${prefix}:meta:${section}`,
    announceChannel: `${prefix}:announce`,
    bullPrefix: `${prefix}:bull`,
    recomputeQueue: 'recompute',
    scheduleQueue: 'schedule',
    failures: `${prefix}:stats:failures`,
    priceFailures: `${prefix}:stats:price_failures`,
    durations: `${prefix}:stats:durations`,
    refreshGate: `${prefix}:refresh:gate`,
  };
}

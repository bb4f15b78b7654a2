import { type Keys, SECTION_NAMES } from '@snapboard/shared';
import type { Redis } from 'ioredis';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { SnapshotReplica } from './snapshots.ts';

/**
 * The API's part of /metrics, in the Registry the caller owns (the WebSocket side registers its own
 * metrics in the same one). Per-request work is one histogram observation on a pre-bound child;
 * everything else is read at scrape time: snapshot state from the replica, and the worker's
 * figures from the Redis hashes it keeps (keys.failures, keys.priceFailures, keys.durations).
 */

export interface HttpMetrics {
  /** Record one answered request; `route` is the route pattern, never the raw path. */
  observe(method: string, route: string, status: number, seconds: number): void;
}

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** How long a scrape waits for Redis before reporting the counters as unavailable. */
const SCRAPE_REDIS_TIMEOUT_MS = 1000;

export function createApiMetrics(options: {
  registry: Registry;
  replica: SnapshotReplica;
  /** Where the worker's counters live; omitted, they are not exported. */
  redis?: Redis;
  keys: Keys;
  now?: () => number;
}): HttpMetrics {
  const { registry, replica, redis, keys } = options;
  const now = options.now ?? Date.now;
  const registers = [registry];

  const duration = new Histogram({
    name: 'snapboard_http_request_duration_seconds',
    help: 'Time to answer an HTTP request, by route pattern.',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1, 2.5, 5],
    registers,
  });
  const children = new Map<string, { observe(value: number): void }>();

  new Gauge({
    name: 'snapboard_snapshot_age_seconds',
    help: 'Seconds since the compute behind the snapshot this instance serves started, per section.',
    labelNames: ['section'],
    registers,
    collect() {
      this.reset();
      const at = now();
      for (const section of SECTION_NAMES) {
        const entry = replica.get(section);
        if (entry) this.set({ section }, Math.max(0, (at - entry.computedAtMs) / 1000));
      }
    },
  });
  new Gauge({
    name: 'snapboard_snapshot_version',
    help: 'Version of the snapshot this instance serves, per section (it restarts when the epoch changes).',
    labelNames: ['section'],
    registers,
    collect() {
      this.reset();
      for (const section of SECTION_NAMES) {
        const entry = replica.get(section);
        if (entry) this.set({ section }, entry.snapshot.version);
      }
    },
  });
  new Gauge({
    name: 'snapboard_redis_connected',
    help: '1 when this instance reaches Redis, else 0 (it then serves its last snapshots, marked stale in time).',
    registers,
    collect() {
      this.set(replica.connected ? 1 : 0);
    },
  });

  if (redis) {
    const fromHash = (name: string, help: string, label: string, key: string) =>
      new Counter({
        name,
        help,
        labelNames: [label],
        registers,
        async collect() {
          const counts = await readHash(redis, key);
          this.reset();
          for (const [field, value] of Object.entries(counts)) this.inc({ [label]: field }, value);
        },
      });
    fromHash(
      'snapboard_recompute_failures_total',
      'Failed section recomputes, as counted by the workers.',
      'section',
      keys.failures,
    );
    fromHash(
      'snapboard_price_fetch_failures_total',
      'Failed price fetches, by price source, as counted by the workers.',
      'source',
      keys.priceFailures,
    );
    new Gauge({
      name: 'snapboard_recompute_duration_seconds',
      help: "Duration of each section's last successful recompute, as recorded by the workers.",
      labelNames: ['section'],
      registers,
      async collect() {
        const durations = await readHash(redis, keys.durations);
        this.reset();
        for (const [section, ms] of Object.entries(durations)) this.set({ section }, ms / 1000);
      },
    });
  }

  return {
    observe(method, route, status, seconds) {
      const m = METHODS.has(method) ? method : 'OTHER';
      const key = `${m} ${status} ${route}`;
      let child = children.get(key);
      if (!child) {
        child = duration.labels({ method: m, route, status: String(status) });
        children.set(key, child);
      }
      child.observe(seconds);
    },
  };
}

/** A Redis hash of counters; empty when Redis does not answer in time (the scrape must not hang). */
async function readHash(redis: Redis, key: string): Promise<Record<string, number>> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const raw = await Promise.race([
      redis.hgetall(key),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('timeout')), SCRAPE_REDIS_TIMEOUT_MS);
      }),
    ]);
    const out: Record<string, number> = {};
    for (const [field, value] of Object.entries(raw)) {
      const n = Number(value);
      if (Number.isFinite(n) && n >= 0) out[field] = n;
    }
    return out;
  } catch {
    return {};
  } finally {
    clearTimeout(timer);
  }
}

import type { RedisClient } from '@snapboard/redis';
import type { Keys } from '@snapboard/shared';
import { Counter, Gauge, type Metric, type Registry } from 'prom-client';
import type { SnapshotReplica } from './snapshot-replica.ts';

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
  redis?: RedisClient;
  keys: Keys;
  now?: () => number;
}): HttpMetrics {
  const { registry, replica, redis, keys } = options;
  const now = options.now ?? Date.now;
  const registers = [registry];

  const duration = new RequestHistogram(
    'snapboard_http_request_duration_seconds',
    'Time to answer an HTTP request, by route pattern.',
    [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1, 2.5, 5],
  );
  registry.registerMetric(duration as unknown as Metric);

  new Gauge({
    name: 'snapboard_snapshot_age_seconds',
    help: 'Seconds since the compute behind the snapshot this instance serves started, per section.',
    labelNames: ['section'],
    registers,
    // Across the processes of one port (API_PROCESSES): the oldest any of them serves.
    aggregator: 'max',
    collect() {
      this.reset();
      const at = now();
      for (const section of replica.catalog.names) {
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
    aggregator: 'min',
    collect() {
      this.reset();
      for (const section of replica.catalog.names) {
        const entry = replica.get(section);
        if (entry) this.set({ section }, entry.snapshot.version);
      }
    },
  });
  new Gauge({
    name: 'snapboard_redis_connected',
    help: '1 when this instance reaches Redis, else 0 (it then serves its last snapshots, marked stale in time).',
    registers,
    aggregator: 'min',
    collect() {
      this.set(replica.connected ? 1 : 0);
    },
  });

  new Gauge({
    name: 'snapboard_api_processes',
    help: 'API processes answering on this port (API_PROCESSES); each scrape sums every process.',
    registers,
    collect() {
      this.set(1);
    },
  });

  if (redis) {
    const fromHash = (name: string, help: string, label: string, key: string) =>
      new Counter({
        name,
        help,
        labelNames: [label],
        registers,
        // Every API process reads the same hash: one copy, not one per process.
        aggregator: 'first',
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
      aggregator: 'first',
      async collect() {
        const durations = await readHash(redis, keys.durations);
        this.reset();
        for (const [section, ms] of Object.entries(durations)) this.set({ section }, ms / 1000);
      },
    });
    // The read replica (DATABASE_READ_URL, SPEC §12) as the workers' sets last found it (keys.replica);
    // no series when no worker reads a replica.
    const fromReplica = (name: string, help: string, field: string, scale = 1, type: 'gauge' | 'counter' = 'gauge') =>
      new (type === 'gauge' ? Gauge : Counter)({
        name,
        help,
        registers,
        aggregator: 'first',
        async collect() {
          const value = (await readHash(redis, keys.replica))[field];
          this.reset();
          if (value !== undefined) this.inc(value * scale);
        },
      });
    fromReplica(
      'snapboard_replica_lag_bytes',
      'WAL bytes the read replica had not replayed when the last change set started (DATABASE_READ_URL).',
      'lag_bytes',
    );
    fromReplica(
      'snapboard_replica_lag_seconds',
      'How long the last change set waited for the read replica to replay the primary (the bound, when it gave up).',
      'lag_ms',
      1 / 1000,
    );
    fromReplica(
      'snapboard_replica_reachable',
      '1 when the read replica answered the last change set, else 0.',
      'reachable',
    );
    fromReplica(
      'snapboard_replica_stale_sets_total',
      'Change sets that published nothing because the read replica had not replayed their change within DATABASE_READ_WAIT_MS (or was away).',
      'gave_up',
      1,
      'counter',
    );
  }

  return {
    observe(method, route, status, seconds) {
      duration.series(METHODS.has(method) ? method : 'OTHER', route, status).observe(seconds);
    },
  };
}

/**
 * A histogram with labels (method, route, status) whose observe() is a few array increments: prom-client's
 * own re-validates and re-hashes its labels on every call, which showed in the hot path's profile.
 * It renders through the registry like any prom-client metric (the `get()` shape prom-client uses).
 */
class RequestHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  /** Every series, in the order first seen (the order they render in). */
  private all: Series[] = [];
  /** method → route → status: three lookups, no key string built per request. */
  private readonly byLabels = new Map<string, Map<string, Map<number, Series>>>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly bounds: readonly number[],
  ) {}

  series(method: string, route: string, status: number): Series {
    let byRoute = this.byLabels.get(method);
    if (!byRoute) {
      byRoute = new Map();
      this.byLabels.set(method, byRoute);
    }
    let byStatus = byRoute.get(route);
    if (!byStatus) {
      byStatus = new Map();
      byRoute.set(route, byStatus);
    }
    let series = byStatus.get(status);
    if (!series) {
      series = new Series({ method, route, status: String(status) }, this.bounds);
      byStatus.set(status, series);
      this.all.push(series);
    }
    return series;
  }

  get() {
    const values: { labels: Record<string, string | number>; value: number; metricName: string }[] = [];
    for (const { labels, counts, sum, count } of this.all) {
      let cumulative = 0;
      this.bounds.forEach((bound, i) => {
        cumulative += counts[i] as number;
        values.push({ labels: { ...labels, le: bound }, value: cumulative, metricName: `${this.name}_bucket` });
      });
      values.push({ labels: { ...labels, le: '+Inf' }, value: count, metricName: `${this.name}_bucket` });
      values.push({ labels, value: sum, metricName: `${this.name}_sum` });
      values.push({ labels, value: count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  reset(): void {
    this.all = [];
    this.byLabels.clear();
  }
}

class Series {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(
    readonly labels: Record<string, string>,
    private readonly bounds: readonly number[],
  ) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(seconds: number): void {
    let i = 0;
    while (i < this.bounds.length && seconds > (this.bounds[i] as number)) i++;
    (this.counts[i] as number)++;
    this.sum += seconds;
    this.count++;
  }
}

/** A Redis hash of counters; empty when Redis does not answer in time (the scrape must not hang). */
async function readHash(redis: RedisClient, key: string): Promise<Record<string, number>> {
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

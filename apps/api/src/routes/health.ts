import { isStale, PATHS } from '@snapboard/shared';
import type { Registry } from 'prom-client';
import type { RouteTable } from '../router.ts';
import type { Readiness } from '../schemas.ts';
import type { SnapshotReplica } from '../snapshot-replica.ts';

/** Liveness, readiness and Prometheus metrics. */

export interface HealthDeps {
  replica: SnapshotReplica;
  registry: Registry;
  now: () => number;
  scrape?: () => Promise<string>;
}

export function readiness(replica: SnapshotReplica, nowMs: number): Readiness {
  const reasons: string[] = [];
  const redis = replica.connected;
  if (!redis) reasons.push('redis is unreachable');
  const sections = {} as Readiness['sections'];
  for (const name of replica.catalog.names) {
    const entry = replica.get(name);
    if (!entry) {
      reasons.push(`${name}: no snapshot yet`);
      sections[name] = { present: false, stale: true, version: null, age_seconds: null };
      continue;
    }
    const stale = isStale(entry.computedAtMs, entry.snapshot.ttl, nowMs);
    const age = Math.max(0, Math.round((nowMs - entry.computedAtMs) / 100) / 10);
    if (stale) reasons.push(`${name}: stale (computed ${age} s ago, ttl ${entry.snapshot.ttl} s)`);
    sections[name] = { present: true, stale, version: entry.snapshot.version, age_seconds: age };
  }
  return { status: reasons.length ? 'not_ready' : 'ready', redis, reasons, sections };
}

export function registerHealthRoutes(routes: RouteTable, deps: HealthDeps): void {
  const { replica, registry, now } = deps;
  const scrape = deps.scrape ?? (() => registry.metrics());
  const started = now();

  routes.on('GET', PATHS.healthz, {}, (c) => {
    c.header('cache-control', 'no-store');
    return c.json({ status: 'ok' as const, uptime_seconds: Math.round((now() - started) / 1000) });
  });

  routes.on('GET', PATHS.readyz, {}, (c) => {
    const ready = readiness(replica, now());
    c.header('cache-control', 'no-store');
    if (ready.status === 'ready') return c.json(ready, 200);
    return c.json({ ...ready, error: { code: 'not_ready' as const, message: ready.reasons.join('; ') } }, 503);
  });

  routes.on('GET', PATHS.metrics, {}, async (c) => {
    const text = await scrape();
    c.header('cache-control', 'no-store');
    return c.body(text, 200, { 'content-type': registry.contentType });
  });
}

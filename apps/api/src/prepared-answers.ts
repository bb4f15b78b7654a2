import { createHash } from 'node:crypto';
import { type Config, type SectionName, type Snapshot, staleAt } from '@snapboard/shared';
import type { SnapshotReplica } from './snapshot-replica.ts';

/**
 * The bytes of every read answer, prepared when a snapshot changes rather than per request
 * (docs/decisions/0003). A request only checks that its prepared entry is still current and, for v2,
 * splices its own `timestamp` between two prepared buffers. Entries are built lazily per limit and
 * dropped whenever the replica reports a change; they also expire at the instant one of their
 * sections turns stale, since `stale` is part of the body.
 */

/** `new Date(ms).toISOString()` is always this long for years 0000–9999. */
const TIMESTAMP_LENGTH = 24;

export interface PreparedV2 {
  readonly etag: string;
  /** The full v2 body with `timestamp` = nowMs; `cached: false` only for a refresh that completed. */
  render(nowMs: number, cached?: boolean): Buffer;
  /** The latest time (ms) at which this entry is still exact. */
  readonly validUntil: number;
}

export interface Prepared {
  readonly etag: string;
  readonly body: Buffer;
  readonly validUntil: number;
}

export interface Views {
  /** undefined while a v2 section has no snapshot yet (warming up). */
  v2(limit: number, nowMs: number): PreparedV2 | undefined;
  section(name: SectionName, limit: number, nowMs: number): Prepared | undefined;
  /** v2 sections without a snapshot, for the warming-up message. */
  missing(sections: readonly SectionName[]): SectionName[];
  stop(): void;
}

export function weakEtag(key: string): string {
  return `W/"${createHash('sha1').update(key).digest('base64url')}"`;
}

export function createViews(options: { replica: SnapshotReplica; config: Pick<Config, 'ttls'> }): Views {
  const { replica, config } = options;
  const { sections, v2: v2Sections } = replica.catalog;
  const v2Cache = new Map<number, PreparedV2>();
  // Per section, per effective limit: a request looks its entry up without building a key string.
  const sectionCache = new Map<SectionName, Prepared[]>();

  // Serialised data per snapshot `data` object: a refresh that keeps the data keeps the same object
  // (snapshot-replica.ts spreads the old snapshot), so only a version change pays for JSON.stringify.
  const serialized = new WeakMap<object, string | string[]>();
  function dataJson(section: SectionName, data: unknown, limit: number): string {
    const limited = sections[section].limited && Array.isArray(data);
    if (data === null || typeof data !== 'object') return JSON.stringify(data ?? null);
    let cached = serialized.get(data);
    if (cached === undefined) {
      cached = limited ? (data as unknown[]).map((item) => JSON.stringify(item)) : JSON.stringify(data);
      serialized.set(data, cached);
    }
    if (typeof cached === 'string') return cached;
    return `[${cached.slice(0, limit).join(',')}]`;
  }

  const cacheInfo = JSON.stringify(
    Object.fromEntries(
      v2Sections.flatMap((name) => {
        const key = sections[name].cacheInfoKey;
        return key ? [[key, config.ttls[name]]] : [];
      }),
    ),
  );

  const unsubscribe = replica.onChange((section) => {
    if (sections[section].inV2) v2Cache.clear();
    sectionCache.delete(section);
  });

  function buildV2(limit: number, nowMs: number): PreparedV2 | undefined {
    const snapshots: Snapshot[] = [];
    const computedAt: number[] = [];
    for (const name of v2Sections) {
      const entry = replica.get(name);
      if (!entry) return undefined;
      snapshots.push(entry.snapshot);
      computedAt.push(entry.computedAtMs);
    }
    let validUntil = Number.POSITIVE_INFINITY;
    const meta: Record<string, { epoch: string; version: number; computed_at: string; stale: boolean }> = {};
    const body: string[] = [];
    const etagKey = [`v2|${limit}|${cacheInfo}`];
    snapshots.forEach((s, i) => {
      const until = staleAt(computedAt[i] as number, s.ttl);
      const stale = nowMs > until;
      if (!stale) validUntil = Math.min(validUntil, until);
      meta[s.section] = { epoch: s.epoch, version: s.version, computed_at: s.computed_at, stale };
      body.push(`${JSON.stringify(s.section)}:${dataJson(s.section, s.data, limit)}`);
      etagKey.push(`${s.section}:${s.epoch}:${s.version}:${s.computed_at}:${stale ? 1 : 0}`);
    });
    const head = Buffer.from(`{${body.join(',')},"timestamp":"`);
    const rest = `,"cache_info":${cacheInfo},"sections":${JSON.stringify(meta)}}`;
    const tailCached = Buffer.from(`","cached":true${rest}`);
    const tailFresh = Buffer.from(`","cached":false${rest}`);
    let lastMs = Number.NaN;
    let last: Buffer | undefined;
    return {
      etag: weakEtag(etagKey.join('|')),
      validUntil,
      render(now, cached = true) {
        // Requests within the same millisecond get the same bytes: the buffer is never written to
        // after it is made, so sharing it between responses in flight is safe.
        if (cached && now === lastMs && last) return last;
        const tail = cached ? tailCached : tailFresh;
        const out = Buffer.allocUnsafe(head.length + TIMESTAMP_LENGTH + tail.length);
        head.copy(out, 0);
        out.write(new Date(now).toISOString(), head.length, TIMESTAMP_LENGTH, 'latin1');
        tail.copy(out, head.length + TIMESTAMP_LENGTH);
        if (cached) {
          lastMs = now;
          last = out;
        }
        return out;
      },
    };
  }

  return {
    v2(limit, nowMs) {
      let entry = v2Cache.get(limit);
      if (entry && nowMs <= entry.validUntil) return entry;
      entry = buildV2(limit, nowMs);
      if (entry) v2Cache.set(limit, entry);
      return entry;
    },
    section(name, limit, nowMs) {
      const effectiveLimit = sections[name].limited ? limit : 0;
      const cached = sectionCache.get(name)?.[effectiveLimit];
      if (cached && nowMs <= cached.validUntil) return cached;
      const key = `${name}|${effectiveLimit}`;
      const entry = replica.get(name);
      if (!entry) return undefined;
      const s = entry.snapshot;
      const until = staleAt(entry.computedAtMs, s.ttl);
      const stale = nowMs > until;
      const head = JSON.stringify({
        section: s.section,
        epoch: s.epoch,
        version: s.version,
        computed_at: s.computed_at,
        ttl: s.ttl,
        stale,
      });
      const prepared: Prepared = {
        etag: weakEtag(`section|${key}|${s.epoch}:${s.version}:${s.computed_at}:${stale ? 1 : 0}`),
        body: Buffer.from(`${head.slice(0, -1)},"data":${dataJson(name, s.data, limit)}}`),
        validUntil: stale ? Number.POSITIVE_INFINITY : until,
      };
      let row = sectionCache.get(name);
      if (!row) {
        row = [];
        sectionCache.set(name, row);
      }
      row[effectiveLimit] = prepared;
      return prepared;
    },
    missing(sections) {
      return sections.filter((name) => !replica.get(name));
    },
    stop: unsubscribe,
  };
}

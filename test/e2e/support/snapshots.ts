import { createRedisClient, type RedisClient, subscribeAnnouncements } from '@snapboard/redis';
import {
  keysFor,
  type RedisTarget,
  SECTION_NAMES,
  type SectionName,
  type Snapshot,
  snapshotSchema,
} from '@snapboard/shared';

/** A URL is one server; anything else is a Sentinel or Cluster target (SPEC §12). */
const targetOf = (redis: string | RedisTarget): RedisTarget =>
  typeof redis === 'string' ? { mode: 'single', url: redis } : redis;

/** Read what the worker wrote to Redis, straight from the keys of SPEC §4, and listen to its announcements. */

export class SnapshotReader {
  readonly redis: RedisClient;
  readonly keys;

  constructor(redis: string | RedisTarget, prefix: string) {
    const target = targetOf(redis);
    // Fail fast and keep retrying quietly: the reader must survive the Redis restarts it observes.
    this.redis = createRedisClient(target, { name: 'e2e-reader', maxRetriesPerRequest: 1, retryStrategy: () => 200 });
    this.redis.on('error', () => {});
    this.keys = keysFor(prefix, target.mode);
  }

  async get(section: SectionName): Promise<Snapshot | undefined> {
    const raw = await this.redis.get(this.keys.snapshot(section));
    return raw === null ? undefined : (snapshotSchema.parse(JSON.parse(raw)) as Snapshot);
  }

  async all(sections: readonly SectionName[] = SECTION_NAMES): Promise<Partial<Record<SectionName, Snapshot>>> {
    const raws = await this.redis.mget(...sections.map((s) => this.keys.snapshot(s)));
    const result: Partial<Record<SectionName, Snapshot>> = {};
    sections.forEach((section, i) => {
      const raw = raws[i];
      if (raw) result[section] = snapshotSchema.parse(JSON.parse(raw)) as Snapshot;
    });
    return result;
  }

  /** Every section present, each computed at or after `sinceIso` when given. */
  async allPresent(sinceIso?: string, sections: readonly SectionName[] = SECTION_NAMES) {
    const all = await this.all(sections);
    const complete = sections.every((s) => all[s] && (sinceIso === undefined || all[s].computed_at >= sinceIso));
    return complete ? (all as Record<SectionName, Snapshot>) : undefined;
  }

  close(): void {
    this.redis.disconnect();
  }
}

/**
 * Collects every announcement the worker publishes on the prefix's channel: a change set (SPEC §10)
 * as one entry per member, each in the single-section shape with the set's `change` id added.
 */
export async function listenToAnnouncements(redis: string | RedisTarget, prefix: string) {
  const target = targetOf(redis);
  const keys = keysFor(prefix, target.mode);
  const subscriber = createRedisClient(target, {
    name: 'e2e-announcements',
    maxRetriesPerRequest: null,
    subscriber: true,
    retryStrategy: () => 200,
  });
  subscriber.on('error', () => {});
  const received: { atMs: number; message: Record<string, unknown> }[] = [];
  const subscription = subscribeAnnouncements(subscriber, keys.announceChannel, (text) => {
    try {
      const message = JSON.parse(text) as Record<string, unknown>;
      const atMs = Date.now();
      if (Array.isArray(message.items) && typeof message.change === 'string') {
        for (const item of message.items as Record<string, unknown>[]) {
          received.push({ atMs, message: { ...item, change: message.change } });
        }
      } else received.push({ atMs, message });
    } catch {
      received.push({ atMs: Date.now(), message: { malformed: text } });
    }
  });
  await subscription.ready;
  return {
    received,
    close: () => subscriber.disconnect(),
  };
}

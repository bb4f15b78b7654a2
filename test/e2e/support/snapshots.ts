import { keysFor, SECTION_NAMES, type SectionName, type Snapshot, snapshotSchema } from '@snapboard/shared';
import { Redis } from 'ioredis';

/** Read what the worker wrote to Redis, straight from the keys of SPEC §4, and listen to its announcements. */

export class SnapshotReader {
  readonly redis: Redis;
  readonly keys;

  constructor(redisUrl: string, prefix: string) {
    // Fail fast and keep retrying quietly: the reader must survive the Redis restarts it observes.
    this.redis = new Redis(redisUrl, { maxRetriesPerRequest: 1, retryStrategy: () => 200, lazyConnect: false });
    this.redis.on('error', () => {});
    this.keys = keysFor(prefix);
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

/** Collects every announcement the worker publishes on the prefix's channel. */
export async function listenToAnnouncements(redisUrl: string, prefix: string) {
  const keys = keysFor(prefix);
  const subscriber = new Redis(redisUrl, { retryStrategy: () => 200 });
  subscriber.on('error', () => {});
  const received: { atMs: number; message: Record<string, unknown> }[] = [];
  subscriber.on('message', (channel: string, text: string) => {
    if (channel !== keys.announceChannel) return;
    try {
      received.push({ atMs: Date.now(), message: JSON.parse(text) as Record<string, unknown> });
    } catch {
      received.push({ atMs: Date.now(), message: { malformed: text } });
    }
  });
  await subscriber.subscribe(keys.announceChannel);
  return {
    received,
    close: () => subscriber.disconnect(),
  };
}

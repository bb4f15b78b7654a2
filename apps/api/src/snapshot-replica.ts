import { EventEmitter } from 'node:events';
import { type AnnouncementSubscription, type RedisClient, subscribeAnnouncements } from '@snapboard/redis';
import {
  type Announcement,
  CATALOG,
  type Catalog,
  isNewer,
  type Keys,
  type SectionName,
  type SetAnnouncement,
  type Snapshot,
  within,
} from '@snapboard/shared';
import type { Logger } from 'pino';

/**
 * The API's in-memory replica of every section's snapshot. Loaded from Redis at start, kept current
 * by the worker's announcements, and re-synced after any reconnect (pub/sub drops messages while
 * disconnected) and periodically as a safety net. Requests read it and do no I/O.
 * A newer state is never replaced by an older one (shared `isNewer`).
 */

export type ChangeKind = 'version' | 'refresh';

export interface ReplicaEntry {
  readonly snapshot: Snapshot;
  /** Date.parse(snapshot.computed_at), kept to avoid reparsing on hot paths. */
  readonly computedAtMs: number;
}

/** What one change set (SPEC §10) did to the replica: applied together, in one turn of the loop. */
export interface AppliedSet {
  change: string;
  changes: Array<{ section: SectionName; kind: ChangeKind; entry: ReplicaEntry }>;
}

export interface SnapshotReplica {
  /** The sections this replica holds, and what everything reading from it derives its lists from. */
  readonly catalog: Catalog;
  get<K extends SectionName>(section: K): (ReplicaEntry & { snapshot: Snapshot<K> }) | undefined;
  /** True once Redis answered and the replica was loaded (even if some sections are missing). */
  readonly loaded: boolean;
  /** Is Redis reachable right now (as far as the last command or event tells)? */
  readonly connected: boolean;
  /**
   * Called after every accepted change: 'version' when epoch/version moved, 'refresh' for computed_at
   * only; `change` is the set's id when the change came with a set (onSet then follows once for it).
   */
  onChange(
    listener: (section: SectionName, kind: ChangeKind, entry: ReplicaEntry, change: string | undefined) => void,
  ): () => void;
  /** Called once per change set, after all of its members were applied (nothing runs in between). */
  onSet(listener: (set: AppliedSet) => void): () => void;
  /** Resolves true once `predicate` holds (checked now and after each change), false after `timeoutMs`. */
  waitFor(predicate: () => boolean, timeoutMs: number): Promise<boolean>;
  /** Reload every snapshot from Redis now. */
  resync(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface ReplicaOptions {
  /** Commands (GET/MGET). */
  redis: RedisClient;
  /** A dedicated connection for announcements (`createRedisClient(…, { subscriber: true })`). */
  subscriber: RedisClient;
  keys: Keys;
  logger: Logger;
  /** The sections to hold; the product's catalog by default. */
  catalog?: Catalog;
  resyncIntervalMs?: number;
  /** How long start() waits for a first connection before serving "warming up" (ms). */
  startTimeoutMs?: number;
}

/** Resolves when `client` is ready or after `ms`, whichever comes first. */
function untilReady(client: RedisClient, ms: number): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      client.off('ready', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    client.once('ready', done);
  });
}

export function createSnapshotReplica(options: ReplicaOptions): SnapshotReplica {
  const { redis, subscriber, keys, logger } = options;
  const catalog = options.catalog ?? CATALOG;
  const { snapshotSchema, announcementSchema, setAnnouncementSchema } = catalog;
  const entries = new Map<SectionName, ReplicaEntry>();
  /** Each section's snapshot text as the last re-sync read and accepted it. */
  const lastRead = new Map<SectionName, string>();
  const events = new EventEmitter();
  events.setMaxListeners(0);
  let loaded = false;
  let connected = false;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let subscription: AnnouncementSubscription | undefined;

  function accept(snapshot: Snapshot, change?: string): AppliedSet['changes'][number] | undefined {
    const current = entries.get(snapshot.section)?.snapshot;
    if (!isNewer(current, snapshot)) return undefined;
    const sameVersion =
      current !== undefined && current.epoch === snapshot.epoch && current.version === snapshot.version;
    const kind: ChangeKind = sameVersion ? 'refresh' : 'version';
    // Same (epoch, version) means same data: keep the object readers already serialised (prepared-answers.ts).
    const kept = sameVersion ? ({ ...snapshot, data: current.data } as Snapshot) : snapshot;
    const entry: ReplicaEntry = { snapshot: kept, computedAtMs: Date.parse(snapshot.computed_at) };
    entries.set(snapshot.section, entry);
    // A set's members are announced after all of them are in (applySet), so no listener sees half.
    if (change === undefined) events.emit('change', snapshot.section, kind, entry, change);
    return { section: snapshot.section, kind, entry };
  }

  function parseSnapshot(raw: string | null, source: string): Snapshot | undefined {
    if (raw === null) return undefined;
    try {
      const parsed = snapshotSchema.safeParse(JSON.parse(raw));
      if (parsed.success) return parsed.data as Snapshot;
      logger.warn({ source, issues: parsed.error.issues.slice(0, 3) }, 'ignoring a malformed snapshot');
    } catch {
      logger.warn({ source }, 'ignoring a snapshot that is not JSON');
    }
    return undefined;
  }

  function onAnnouncement(message: string): void {
    let json: unknown;
    try {
      json = JSON.parse(message);
    } catch {
      logger.warn('ignoring an announcement that is not JSON');
      return;
    }
    const set = setAnnouncementSchema.safeParse(json);
    if (set.success) {
      applySet(set.data as SetAnnouncement);
      return;
    }
    const single = announcementSchema.safeParse(json);
    if (!single.success) {
      logger.warn('ignoring a malformed announcement');
      return;
    }
    const announcement = single.data as Announcement;
    if (announcement.changed) {
      accept(announcement.snapshot);
      return;
    }
    const current = entries.get(announcement.section)?.snapshot;
    if (current && current.epoch === announcement.epoch && current.version === announcement.version) {
      accept({ ...current, computed_at: announcement.computed_at });
    } else if (!current || isNewer(current, announcement)) {
      // We missed the change this refresh follows (e.g. while reconnecting): fetch it.
      void resyncSections([announcement.section]);
    }
  }

  /**
   * A set is applied whole in this one synchronous pass, so no request and no socket sees part of it.
   * When a member only refreshes a version we never received (missed while reconnecting), the set's
   * sections are read again together: Redis wrote them in one step, so one MGET reads them consistently.
   */
  function applySet(set: SetAnnouncement): void {
    const missed = set.items.some((item) => {
      if (item.changed) return false;
      const current = entries.get(item.section)?.snapshot;
      const same = current && current.epoch === item.epoch && current.version === item.version;
      return !same && (!current || isNewer(current, item));
    });
    if (missed) {
      void resyncSections(set.items.map((item) => (item.changed ? item.snapshot.section : item.section)));
      return;
    }
    const changes: AppliedSet['changes'] = [];
    for (const item of set.items) {
      let applied: AppliedSet['changes'][number] | undefined;
      if (item.changed) applied = accept(item.snapshot, set.change);
      else {
        const current = entries.get(item.section)?.snapshot;
        if (current) applied = accept({ ...current, computed_at: item.computed_at }, set.change);
      }
      if (applied) changes.push(applied);
    }
    for (const { section, kind, entry } of changes) events.emit('change', section, kind, entry, set.change);
    if (changes.length) events.emit('set', { change: set.change, changes } satisfies AppliedSet);
  }

  async function resyncSections(sections: readonly SectionName[]): Promise<void> {
    // Not connected (yet): the 'ready' handler re-syncs once it is, so there is nothing to report.
    if (redis.status !== 'ready') {
      connected = false;
      return;
    }
    try {
      const raws = await redis.mget(...sections.map((s) => keys.snapshot(s)));
      sections.forEach((section, i) => {
        const raw = raws[i] ?? null;
        // The text read last time, unchanged since: accepting it again would change nothing, and the
        // periodic re-sync would otherwise parse ~800 KB (the bot_* sections) every few seconds on the
        // loop that writes the sockets.
        if (raw !== null && raw === lastRead.get(section)) return;
        const snapshot = parseSnapshot(raw, keys.snapshot(section));
        if (snapshot && snapshot.section === section) {
          accept(snapshot);
          if (raw !== null) lastRead.set(section, raw);
        }
      });
      connected = true;
      loaded = true;
    } catch (error) {
      connected = false;
      logger.warn({ err: (error as Error).message }, 'snapshot resync failed; serving what we have');
    }
  }

  const resync = () => resyncSections(catalog.names);

  // After a reconnect ioredis re-subscribes by itself, but what was announced meanwhile is lost.
  const onSubscriberReady = () => {
    if (!stopped) void resync();
  };
  const onReady = () => {
    connected = true;
    if (!stopped) void resync();
  };
  const onClose = () => {
    connected = false;
  };

  return {
    catalog,
    get: (section) => entries.get(section) as never,
    get loaded() {
      return loaded;
    },
    get connected() {
      return connected && redis.status === 'ready';
    },
    onChange(listener) {
      events.on('change', listener);
      return () => events.off('change', listener);
    },
    onSet(listener) {
      events.on('set', listener);
      return () => events.off('set', listener);
    },
    waitFor(predicate, timeoutMs) {
      if (predicate()) return Promise.resolve(true);
      return new Promise((resolve) => {
        const check = () => {
          if (!predicate()) return;
          finish(true);
        };
        const finish = (value: boolean) => {
          clearTimeout(timeout);
          events.off('change', check);
          resolve(value);
        };
        const timeout = setTimeout(() => finish(false), timeoutMs);
        events.on('change', check);
      });
    },
    resync,
    async start() {
      subscription = subscribeAnnouncements(subscriber, keys.announceChannel, onAnnouncement);
      subscription.onResubscribed(onSubscriberReady);
      redis.on('ready', onReady);
      redis.on('close', onClose);
      // While Redis is away the subscriber queues the command and sends it on connect; start() waits
      // for it only a bounded time. Reading after the subscription is active closes the gap in which
      // an announcement could be missed.
      const subscribed = subscription.ready.then(
        () => {
          if (!stopped) void resync();
        },
        (error: Error) => logger.warn({ err: error.message }, 'cannot subscribe to announcements yet'),
      );
      const startTimeoutMs = options.startTimeoutMs ?? 2000;
      await Promise.all([untilReady(redis, startTimeoutMs), within(subscribed, startTimeoutMs)]);
      await resync();
      timer = setInterval(() => void resync(), options.resyncIntervalMs ?? 5000);
      timer.unref();
    },
    async stop() {
      stopped = true;
      if (timer) clearInterval(timer);
      subscription?.close();
      redis.off('ready', onReady);
      redis.off('close', onClose);
      events.removeAllListeners();
    },
  };
}

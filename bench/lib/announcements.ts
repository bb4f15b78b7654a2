import { createRedisClient, subscribeAnnouncements } from '@snapboard/redis';
import { keysFor } from '@snapboard/shared';
import { wallMs } from './procs.ts';

/**
 * Listens to the worker's announce channel and notes when each new version was announced: the
 * starting line of every fan-out and freshness figure. The bench process is otherwise idle while it
 * listens, so the time it notes is within a fraction of a millisecond of the PUBLISH.
 */

export interface Announced {
  /** The change set it came with (SPEC §10), when it came with one. */
  change?: string;
  section: string;
  version: number;
  changed: boolean;
  at: number;
  /** The announced snapshot's data (changed announcements only). */
  data?: unknown;
}

export interface AnnouncementLog {
  /** Everything announced since `start` (or since creation). */
  readonly entries: Announced[];
  /** Forget what was noted so far. */
  start(): void;
  /**
   * "section:version" → first announcement time, for new versions only, of `sections`: those the
   * subscribers hold (a version of a section nobody subscribed to is nobody's to miss).
   */
  changedTimes(sections: readonly string[]): Record<string, number>;
  onAnnouncement(listener: (entry: Announced) => void): () => void;
  close(): Promise<void>;
}

export async function listenToAnnouncements(redisUrl: string, keyPrefix: string): Promise<AnnouncementLog> {
  const subscriber = createRedisClient(
    { mode: 'single', url: redisUrl },
    { name: 'bench-announcements', maxRetriesPerRequest: null, subscriber: true },
  );
  const channel = keysFor(keyPrefix).announceChannel;
  let entries: Announced[] = [];
  const listeners = new Set<(entry: Announced) => void>();
  const subscription = subscribeAnnouncements(subscriber, channel, (message) => {
    const at = wallMs();
    try {
      type Item = {
        changed: boolean;
        section?: string;
        version?: number;
        snapshot?: { section: string; version: number; data: unknown };
      };
      const parsed = JSON.parse(message) as Item & { change?: string; items?: Item[] };
      // A change set announces its members together; a single announcement is a set of one.
      const items = parsed.items ?? [parsed];
      for (const item of items) {
        const entry: Announced = item.changed
          ? {
              change: parsed.change,
              section: item.snapshot!.section,
              version: item.snapshot!.version,
              changed: true,
              at,
              data: item.snapshot!.data,
            }
          : { change: parsed.change, section: item.section!, version: item.version!, changed: false, at };
        entries.push(entry);
        for (const listener of listeners) listener(entry);
      }
    } catch {
      // Not ours to judge here; the API's own tests cover malformed announcements.
    }
  });
  await subscription.ready;
  return {
    get entries() {
      return entries;
    },
    start() {
      entries = [];
    },
    changedTimes(sections) {
      const times: Record<string, number> = {};
      for (const e of entries) {
        if (e.changed && sections.includes(e.section)) times[`${e.section}:${e.version}`] ??= e.at;
      }
      return times;
    },
    onAnnouncement(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async close() {
      subscriber.disconnect();
    },
  };
}

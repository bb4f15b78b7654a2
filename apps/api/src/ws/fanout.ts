import type { Duplex } from 'node:stream';
import {
  DEFAULT_LIMIT,
  type ResumeVersions,
  SECTION_NAMES,
  SECTIONS,
  type SectionName,
  type ServerMessage,
} from '@snapboard/shared';
import { WebSocket } from 'ws';
import type { ReplicaEntry, SnapshotReplica } from '../snapshots.ts';
import type { WsMetrics } from './metrics.ts';

/**
 * Who gets which snapshot, and when. See docs/decisions/0004-websocket-fanout-and-backpressure.md.
 *
 * - A change is serialized once per (section, limit) and the same Buffer is written to every matching
 *   socket; the cache is keyed by the replica entry, so it can never serve a stale frame.
 * - A subscriber whose socket holds more than `softBufferBytes` unsent is *behind*: it is not written
 *   to; the sections it missed are remembered (a set, not a queue) and it gets the newest version of
 *   each when its socket drains. Memory per socket is therefore bounded by the soft bound plus one
 *   round of frames, whatever the client does.
 * - Behind for longer than `hardBehindMs`, or holding more than `hardBufferBytes`: closed with 1013.
 * - Per section a subscriber is only ever sent a version newer than the one it last got (or told us
 *   it has), so versions never go backwards, even when it resumes on an instance that lags.
 */

export interface DeliveryLimits {
  softBufferBytes: number;
  hardBufferBytes: number;
  hardBehindMs: number;
}

const SEND_OPTIONS = { binary: false, compress: false } as const;

interface Position {
  epoch: string;
  version: number;
}

export class Subscriber {
  /** Subscribed sections → the list limit this subscriber asked for. */
  readonly limits = new Map<SectionName, number>();
  /** The last version written to (or held by) this subscriber, per section. */
  readonly sent = new Map<SectionName, Position>();
  /** Sections with a newer version than `sent`, withheld while the subscriber was behind. */
  readonly pending = new Set<SectionName>();
  behindSince: number | undefined;
  skips = 0;
  snapshotsSent = 0;
  closing = false;
  /** Cuts off a peer that does not finish the close handshake in time. */
  killTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly id: number,
    readonly ws: WebSocket,
    /** The TCP socket under `ws`: its 'drain' event is the signal to catch a subscriber up. */
    readonly socket: Duplex,
    readonly ip: string,
  ) {}

  get open(): boolean {
    return !this.closing && this.ws.readyState === WebSocket.OPEN;
  }
}

export interface Fanout {
  /** Write one control message (welcome, pong, error, ...) to one subscriber. */
  send(sub: Subscriber, message: ServerMessage): void;
  subscribe(sub: Subscriber, sections: readonly SectionName[], limit: number, versions: ResumeVersions): void;
  unsubscribe(sub: Subscriber, sections: readonly SectionName[]): void;
  remove(sub: Subscriber): void;
  /** The subscriber's socket drained: send it the newest of what it missed. */
  flush(sub: Subscriber, now: number): void;
  /** Catch up subscribers that drained without an event, and close those behind for too long. */
  sweep(now: number): void;
  subscriptions(section: SectionName): number;
  readonly peakBufferedBytes: number;
  stop(): void;
}

export function createFanout(options: {
  replica: SnapshotReplica;
  metrics: WsMetrics;
  limits: DeliveryLimits;
  /** Close a subscriber that cannot keep up (1013). */
  onTooSlow(sub: Subscriber, why: 'bytes' | 'time'): void;
}): Fanout {
  const { replica, metrics, limits, onTooSlow } = options;
  const bySection = new Map<SectionName, Set<Subscriber>>(SECTION_NAMES.map((name) => [name, new Set()]));
  const behind = new Set<Subscriber>();
  const frames = new Map<SectionName, { entry: ReplicaEntry; byLimit: Map<number, Buffer> }>();
  let peakBufferedBytes = 0;

  function frameFor(section: SectionName, entry: ReplicaEntry, limit: number): Buffer {
    let cached = frames.get(section);
    if (cached?.entry !== entry) {
      cached = { entry, byLimit: new Map() };
      frames.set(section, cached);
    }
    const { epoch, version, computed_at, data } = entry.snapshot;
    // Limits at or above the list's length all get the same frame; unlimited sections have one frame.
    const list = SECTIONS[section].limited && Array.isArray(data) ? data : undefined;
    const key = list ? Math.min(limit, list.length) : -1;
    let frame = cached.byLimit.get(key);
    if (!frame) {
      const cut = list ? list.slice(0, key) : data;
      frame = Buffer.from(JSON.stringify({ type: 'snapshot', section, epoch, version, computed_at, data: cut }));
      cached.byLimit.set(key, frame);
      metrics.serialized();
    }
    return frame;
  }

  function write(sub: Subscriber, payload: Buffer | string): boolean {
    if (!sub.open) return false;
    // Compression is off server-wide, so ws frames the shared Buffer without copying it.
    sub.ws.send(payload, SEND_OPTIONS);
    const buffered = sub.ws.bufferedAmount;
    if (buffered > peakBufferedBytes) peakBufferedBytes = buffered;
    if (buffered > limits.hardBufferBytes) onTooSlow(sub, 'bytes');
    return true;
  }

  function markBehind(sub: Subscriber, now: number): void {
    if (sub.behindSince === undefined) {
      sub.behindSince = now;
      behind.add(sub);
    } else if (now - sub.behindSince > limits.hardBehindMs) {
      onTooSlow(sub, 'time');
    }
  }

  /** Send `entry` to `sub` if it is news to it and it is keeping up; true when a frame was written. */
  function offer(sub: Subscriber, section: SectionName, entry: ReplicaEntry, now: number): boolean {
    if (!sub.open) return false;
    const { epoch, version } = entry.snapshot;
    const sent = sub.sent.get(section);
    if (sent && sent.epoch === epoch && version <= sent.version) {
      sub.pending.delete(section);
      return false;
    }
    if (sub.ws.bufferedAmount > limits.softBufferBytes) {
      // Already pending: the version withheld earlier will never be sent; this one replaces it.
      if (sub.pending.has(section)) {
        sub.skips++;
        metrics.skipped();
      }
      sub.pending.add(section);
      markBehind(sub, now);
      return false;
    }
    if (!write(sub, frameFor(section, entry, sub.limits.get(section) ?? DEFAULT_LIMIT))) return false;
    sub.sent.set(section, { epoch, version });
    sub.pending.delete(section);
    sub.snapshotsSent++;
    return true;
  }

  function sendControl(sub: Subscriber, message: ServerMessage): void {
    if (write(sub, JSON.stringify(message))) metrics.sent(message.type);
  }

  function flush(sub: Subscriber, now: number): void {
    if (!sub.open || sub.ws.bufferedAmount > limits.softBufferBytes) return;
    sub.behindSince = undefined;
    behind.delete(sub);
    let written = 0;
    for (const section of [...sub.pending]) {
      const entry = replica.get(section);
      if (entry && sub.limits.has(section)) written += Number(offer(sub, section, entry, now));
      else sub.pending.delete(section);
    }
    if (written) metrics.sent('snapshot', written);
  }

  function onChange(section: SectionName, entry: ReplicaEntry): void {
    const subs = bySection.get(section);
    if (!subs || subs.size === 0) return;
    const started = process.hrtime.bigint();
    const now = Date.now();
    let written = 0;
    for (const sub of subs) written += Number(offer(sub, section, entry, now));
    // One labelled increment per change, not per socket: label lookups cost more than the write.
    if (written) metrics.sent('snapshot', written);
    metrics.fanoutSeconds.observe(Number(process.hrtime.bigint() - started) / 1e9);
  }

  // Only a version change is news to a subscriber; a refresh of computed_at alone sends nothing
  // (new subscribers still get the fresh computed_at, as frames are cached per replica entry).
  const unlisten = replica.onChange((section, kind, entry) => {
    if (kind === 'version') onChange(section, entry);
  });

  function drop(sub: Subscriber, section: SectionName): void {
    bySection.get(section)?.delete(sub);
    sub.limits.delete(section);
    sub.sent.delete(section);
    sub.pending.delete(section);
  }

  return {
    send: sendControl,
    subscribe(sub, sections, limit, versions) {
      for (const section of sections) {
        bySection.get(section)?.add(sub);
        sub.limits.set(section, limit);
        // What the client says it holds replaces what we think it holds: a resubscribe without
        // versions (e.g. to change the limit) is answered with the current snapshot again.
        const given = versions[section];
        if (given) sub.sent.set(section, { epoch: given.epoch, version: given.version });
        else sub.sent.delete(section);
      }
      sendControl(sub, { type: 'subscribed', sections: [...sections] });
      const now = Date.now();
      let written = 0;
      for (const section of sections) {
        const entry = replica.get(section);
        // No snapshot yet: it is pushed when the worker first publishes one.
        if (entry) written += Number(offer(sub, section, entry, now));
      }
      if (written) metrics.sent('snapshot', written);
    },
    unsubscribe(sub, sections) {
      for (const section of sections) drop(sub, section);
      sendControl(sub, { type: 'unsubscribed', sections: [...sections] });
    },
    remove(sub) {
      for (const section of [...sub.limits.keys()]) drop(sub, section);
      behind.delete(sub);
    },
    flush,
    sweep(now) {
      for (const sub of behind) {
        if (!sub.open) behind.delete(sub);
        else if (sub.ws.bufferedAmount <= limits.softBufferBytes) flush(sub, now);
        else if (sub.behindSince !== undefined && now - sub.behindSince > limits.hardBehindMs) {
          behind.delete(sub);
          onTooSlow(sub, 'time');
        }
      }
    },
    subscriptions: (section) => bySection.get(section)?.size ?? 0,
    get peakBufferedBytes() {
      return peakBufferedBytes;
    },
    stop() {
      unlisten();
      frames.clear();
    },
  };
}

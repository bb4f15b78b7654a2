import type { Duplex } from 'node:stream';
import { DEFAULT_LIMIT, type ResumeVersions, type SectionName, type ServerMessage } from '@snapboard/shared';
import { WebSocket } from 'ws';
import type { ReplicaEntry, SnapshotReplica } from '../snapshot-replica.ts';
import { type BatchMemo, createFrameCache, newBatchMemo, type Position } from './frames.ts';
import type { WsMetrics } from './metrics.ts';
import type { ClientRequest } from './protocol.ts';

/**
 * Who gets which snapshot, and when: delivery and back-pressure. See
 * docs/decisions/0004-websocket-fanout-and-backpressure.md. The bytes themselves (snapshot, patch and
 * batch frames, each built once and shared by every socket that needs it) come from frames.ts.
 *
 * - A subscriber whose socket holds more than `softBufferBytes` unsent is *behind*: it is not written
 *   to; the sections it missed are remembered (a set, not a queue) and it gets the newest version of
 *   each when its socket drains. Memory per socket is therefore bounded by the soft bound plus one
 *   round of frames, whatever the client does.
 * - Behind for longer than `hardBehindMs`, or holding more than `hardBufferBytes`: closed with 1013.
 * - Per section a subscriber is only ever sent a version newer than the one it last got (or told us
 *   it has), so versions never go backwards, even when it resumes on an instance that lags.
 * - A subscriber that asked for patches, and holds the version before this one because this server
 *   wrote it at its current limit, is sent a `patch` frame for a list section when that is smaller
 *   than the snapshot (docs/decisions/0006-websocket-patch-frames.md).
 */

export interface DeliveryLimits {
  softBufferBytes: number;
  hardBufferBytes: number;
  hardBehindMs: number;
  /** Subscribers a fan-out round writes before it lets other work in (DEFAULT_ROUND_SLICE). */
  roundSlice?: number;
}

/**
 * At 10,000 subscribers a round takes 100–250 ms of CPU; written 500 at a time (a few ms each), a set
 * announced meanwhile joins it within milliseconds instead of waiting for its end.
 */
export const DEFAULT_ROUND_SLICE = 500;

const SEND_OPTIONS = { binary: false, compress: false } as const;

/** The longest a change waits for others announced with it (docs/decisions/0006). */
const MAX_COALESCE_MS = 20;

type FrameKind = 'snapshot' | 'patch';

export class Subscriber {
  /** Subscribed sections → the list limit this subscriber asked for. */
  readonly limits = new Map<SectionName, number>();
  /**
   * The last version written to (or held by) this subscriber, per section. After a round it may be
   * one map shared by every subscriber the round left in the same state (`sentShared`): it is then
   * replaced, never changed (fanout.ts `ownSent`).
   */
  sent: ReadonlyMap<SectionName, Position> = new Map();
  sentShared = false;
  /**
   * Names the state this subscriber shares with others since the last round (what it holds, and its
   * limits, patches and fields): subscribers with the same token get the same frames. Cleared by any
   * change of its own.
   */
  cohort: object | undefined;
  /** Sections with a newer version than `sent`, withheld while the subscriber was behind. */
  readonly pending = new Set<SectionName>();
  /** Sections for which this subscriber applies patch frames. */
  readonly patches = new Set<SectionName>();
  /** Sent each change set as one `batch` frame (SPEC §10) rather than its frames one by one. */
  batches = false;
  /** Applies a patch's field update (patch.ts `FieldUpdate`): sent those where they are smallest. */
  fields = false;
  behindSince: number | undefined;
  skips = 0;
  /** Snapshot and patch frames written to it. */
  updatesSent = 0;
  /** Payload bytes written to it, of every kind: a command's answer is the difference across handling it. */
  bytesWritten = 0;
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
  /** Payload bytes the answer to `request` would write now, at most (what the byte budget is asked for). */
  answerSize(request: ClientRequest): number;
  subscribe(
    sub: Subscriber,
    sections: readonly SectionName[],
    limit: number,
    versions: ResumeVersions,
    options?: { patches?: boolean; batches?: boolean; fields?: boolean },
  ): void;
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
  const slice = Math.max(1, Math.floor(limits.roundSlice ?? DEFAULT_ROUND_SLICE));
  const { catalog } = replica;
  const bySection = new Map<SectionName, Set<Subscriber>>(catalog.names.map((name) => [name, new Set()]));
  const behind = new Set<Subscriber>();
  const cache = createFrameCache(catalog, metrics);
  const { frameFor, patchFor } = cache;
  let peakBufferedBytes = 0;

  function write(sub: Subscriber, payload: Buffer | string): boolean {
    if (!sub.open) return false;
    // Compression is off server-wide, so ws frames the shared Buffer without copying it.
    sub.ws.send(payload, SEND_OPTIONS);
    sub.bytesWritten += typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;
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

  interface Picked {
    section: SectionName;
    entry: ReplicaEntry;
    frame: Buffer;
    kind: FrameKind;
  }

  /**
   * The frame that brings `sub` to `entry`, if that is news to it. `behind` is decided once per
   * subscriber per round, before anything is written: a round goes out whole or is withheld whole, so a
   * subscriber that falls behind never holds half of a change set.
   */
  function pick(sub: Subscriber, section: SectionName, entry: ReplicaEntry, behind: boolean, now: number) {
    const { epoch, version } = entry.snapshot;
    const sent = sub.sent.get(section);
    if (sent && sent.epoch === epoch && version <= sent.version) {
      sub.pending.delete(section);
      return undefined;
    }
    if (behind) {
      // Already pending: the version withheld earlier will never be sent; this one replaces it.
      if (sub.pending.has(section)) {
        sub.skips++;
        metrics.skipped();
      }
      sub.pending.add(section);
      markBehind(sub, now);
      return undefined;
    }
    const limit = sub.limits.get(section) ?? DEFAULT_LIMIT;
    const patch = sent && sub.patches.has(section) ? patchFor(section, entry, limit, sent, sub.fields) : undefined;
    const picked: Picked = {
      section,
      entry,
      frame: patch ?? frameFor(section, entry, limit),
      kind: patch ? 'patch' : 'snapshot',
    };
    return picked;
  }

  /** `sub.sent`, its own to change: a map shared with its cohort is copied first. */
  function ownSent(sub: Subscriber): Map<SectionName, Position> {
    sub.cohort = undefined;
    if (sub.sentShared) {
      sub.sent = new Map(sub.sent);
      sub.sentShared = false;
    }
    return sub.sent as Map<SectionName, Position>;
  }

  function delivered(sub: Subscriber, { section, entry }: Picked): void {
    // One shared object per entry: a round no longer allocates one per subscriber and section.
    ownSent(sub).set(section, cache.positionOf(entry));
    sub.pending.delete(section);
    sub.updatesSent++;
  }

  /** Send `entry` to `sub` if it is news to it and it is keeping up; what was written, if anything. */
  function offer(sub: Subscriber, section: SectionName, entry: ReplicaEntry, behind: boolean, now: number) {
    if (!sub.open) return undefined;
    const picked = pick(sub, section, entry, behind, now);
    if (!picked || !write(sub, picked.frame)) return undefined;
    delivered(sub, picked);
    return picked.kind;
  }

  const isBehind = (sub: Subscriber) => sub.ws.bufferedAmount > limits.softBufferBytes;

  /** Frames written in one pass, counted once per kind: label lookups cost more than the writes. */
  function tally(): {
    add(kind: FrameKind | undefined): void;
    count(snapshots: number, patches: number): void;
    batch(): void;
    done(): void;
  } {
    let snapshots = 0;
    let patches = 0;
    let batches = 0;
    return {
      add(kind) {
        if (kind === 'snapshot') snapshots++;
        else if (kind === 'patch') patches++;
      },
      batch() {
        batches++;
      },
      count(snapshotFrames, patchFrames) {
        snapshots += snapshotFrames;
        patches += patchFrames;
      },
      done() {
        if (snapshots) metrics.sent('snapshot', snapshots);
        if (patches) metrics.sent('patch', patches);
        if (batches) metrics.sent('batch', batches);
      },
    };
  }

  function sendControl(sub: Subscriber, message: ServerMessage): void {
    if (write(sub, JSON.stringify(message))) metrics.sent(message.type);
  }

  function flush(sub: Subscriber, now: number): void {
    if (!sub.open || sub.ws.bufferedAmount > limits.softBufferBytes) return;
    sub.behindSince = undefined;
    behind.delete(sub);
    const written = tally();
    sub.socket.cork();
    for (const section of [...sub.pending]) {
      const entry = replica.get(section);
      if (entry && sub.limits.has(section)) written.add(offer(sub, section, entry, false, now));
      else sub.pending.delete(section);
    }
    sub.socket.uncork();
    written.done();
  }

  /**
   * Changes announced together (one trade close moves most sections within milliseconds, and they
   * queue up behind a fan-out in progress) are written together: each socket is corked for the round,
   * so it gets one write for all of them instead of one per section. At 10,000 subscribers the
   * per-write cost, not the bytes, is what the fan-out spends its time on.
   */
  let queued: Array<[SectionName, ReplicaEntry]> = [];
  let scheduled: (() => void) | undefined;
  let lastDeliveryMs = 0;

  function onChange(section: SectionName, entry: ReplicaEntry): void {
    if (!bySection.get(section)?.size) return;
    queued.push([section, entry]);
    if (scheduled) return;
    // Waiting for the rest of a burst costs the first change some latency and saves every change
    // that joins a write per socket. Worth it only where a delivery is expensive (many subscribers),
    // and never for longer than one takes: with few subscribers this is the next turn of the loop.
    const waitMs = Math.min(MAX_COALESCE_MS, lastDeliveryMs);
    if (waitMs < 1) {
      const immediate = setImmediate(deliverQueued);
      scheduled = () => clearImmediate(immediate);
    } else {
      const timer = setTimeout(deliverQueued, waitMs);
      scheduled = () => clearTimeout(timer);
    }
  }

  function deliverQueued(): void {
    scheduled = undefined;
    const changes = queued;
    queued = [];
    // A section that changed twice is delivered in two rounds, so every version reaches those
    // keeping up, in order.
    let round = new Map<SectionName, ReplicaEntry>();
    for (const [section, entry] of changes) {
      if (round.has(section)) {
        enqueue(undefined, round);
        round = new Map();
      }
      round.set(section, entry);
    }
    enqueue(undefined, round);
  }

  /**
   * What a batch subscriber keeping up held of a round's sections, and what that earned it: the next
   * subscriber in the same state (most are: they got the same rounds) is sent the same frames without
   * choosing them again. States compare by identity, as positions are one object per entry.
   */
  interface BatchState {
    /** The first subscriber's cohort token before the round: the same token is the same state. */
    cohort: object | undefined;
    /** Its whole state before the round, over every section it subscribes to. */
    subscribed: SectionName[];
    held: (Position | undefined)[];
    limits: number[];
    patches: boolean[];
    sentSize: number;
    patchesSize: number;
    fields: boolean;
    picked: Picked[];
    frame: Buffer | undefined;
    snapshots: number;
    patchFrames: number;
    /** What the first subscriber holds after the round, shared by the rest, and their new token. */
    sentAfter: ReadonlyMap<SectionName, Position>;
    cohortAfter: object;
  }

  /** Whether `sub` is in the state `state` was taken from, over every section either subscribes to. */
  function sameState(sub: Subscriber, state: BatchState): boolean {
    if (
      sub.fields !== state.fields ||
      sub.limits.size !== state.subscribed.length ||
      sub.sent.size !== state.sentSize ||
      sub.patches.size !== state.patchesSize
    ) {
      return false;
    }
    for (let i = 0; i < state.subscribed.length; i++) {
      const section = state.subscribed[i] as SectionName;
      if (
        sub.limits.get(section) !== state.limits[i] ||
        sub.sent.get(section) !== state.held[i] ||
        sub.patches.has(section) !== state.patches[i]
      ) {
        return false;
      }
    }
    return true;
  }

  function stateOf(sub: Subscriber): BatchState {
    const subscribed = [...sub.limits.keys()];
    return {
      cohort: sub.cohort,
      subscribed,
      held: subscribed.map((section) => sub.sent.get(section)),
      limits: [...sub.limits.values()],
      patches: subscribed.map((section) => sub.patches.has(section)),
      sentSize: sub.sent.size,
      patchesSize: sub.patches.size,
      fields: sub.fields,
      picked: [],
      frame: undefined,
      snapshots: 0,
      patchFrames: 0,
      sentAfter: sub.sent,
      cohortAfter: {},
    };
  }

  /** The first subscriber in a state was sent `state`'s frames: the others in that state follow it. */
  function lead(sub: Subscriber, state: BatchState): void {
    for (const p of state.picked) if (p.kind === 'patch') state.patchFrames++;
    state.snapshots = state.picked.length - state.patchFrames;
    state.sentAfter = sub.sent;
    sub.sentShared = true;
    sub.cohort = state.cohortAfter;
  }

  function follow(sub: Subscriber, state: BatchState): void {
    sub.sent = state.sentAfter;
    sub.sentShared = true;
    sub.cohort = state.cohortAfter;
  }

  /** Every subscriber of any of the round's sections, once each. */
  function subscribersOf(sections: readonly SectionName[]): Iterable<Subscriber> {
    if (sections.length === 1) return [...(bySection.get(sections[0] as SectionName) ?? [])];
    const affected = new Set<Subscriber>();
    for (const section of sections) for (const sub of bySection.get(section) ?? []) affected.add(sub);
    return affected;
  }

  /** One set (or burst of single changes, `change` undefined) as a round writes it. */
  interface RoundSet {
    change: string | undefined;
    sections: SectionName[];
    entries: ReplicaEntry[];
    batches: BatchMemo;
    /** The state the last batch subscriber was in, and what it was sent: the next may follow it. */
    last: BatchState | undefined;
  }

  const roundSet = (change: string | undefined, sections: SectionName[], entries: ReplicaEntry[]): RoundSet => ({
    change,
    sections,
    entries,
    batches: newBatchMemo(),
    last: undefined,
  });

  /**
   * A round in progress. It writes `slice` subscribers at a time and lets the event loop in between,
   * so a set announced meanwhile is not left waiting for the whole round: it joins `sets`, and the
   * subscribers not reached yet get both in one write. Those reached before it joined get it from the
   * next round (`following`), in which the others, holding it already, are skipped.
   */
  interface Round {
    sets: RoundSet[];
    subs: Subscriber[];
    next: number;
    /** CPU spent on it so far: what the fan-out histogram records, once per round. */
    ns: bigint;
    written: ReturnType<typeof tally>;
  }
  let active: Round | undefined;
  let following: RoundSet[] = [];
  let resume: NodeJS.Immediate | undefined;
  /** Rounds are finished in one go from now on (shutdown). */
  let draining = false;

  function enqueue(change: string | undefined, round: Map<SectionName, ReplicaEntry>): void {
    if (!round.size) return;
    const sections = [...round.keys()];
    const entries = [...round.values()];
    if (active) {
      active.sets.push(roundSet(change, sections, entries));
      following.push(roundSet(change, sections, entries));
      metrics.joined();
      return;
    }
    start([roundSet(change, sections, entries)]);
  }

  function start(sets: RoundSet[]): void {
    const subs = [...subscribersOf([...new Set(sets.flatMap((set) => set.sections))])];
    active = { sets, subs, next: 0, ns: 0n, written: tally() };
    runSlice();
  }

  function runSlice(): void {
    resume = undefined;
    const round = active;
    if (!round) return;
    const started = process.hrtime.bigint();
    const now = Date.now();
    const end = draining ? round.subs.length : Math.min(round.subs.length, round.next + slice);
    for (let i = round.next; i < end; i++) deliverTo(round.subs[i] as Subscriber, round.sets, now, round.written);
    round.next = end;
    round.ns += process.hrtime.bigint() - started;
    if (end < round.subs.length) {
      resume = setImmediate(runSlice);
      return;
    }
    round.written.done();
    metrics.fanoutSeconds.observe(Number(round.ns) / 1e9);
    lastDeliveryMs = Number(round.ns) / 1e6;
    active = undefined;
    if (following.length) {
      const sets = following;
      following = [];
      start(sets);
    }
  }

  /** Everything announced goes out now, in order (shutdown: ahead of any close frame). */
  function drain(): void {
    draining = true;
    if (resume) clearImmediate(resume);
    while (active) runSlice();
  }

  /** The round's sets, in order, to one subscriber: one write for all of them. */
  function deliverTo(sub: Subscriber, sets: readonly RoundSet[], now: number, written: ReturnType<typeof tally>) {
    if (!sub.open) return;
    // Decided once for the whole round: it goes out whole or is withheld whole, so a subscriber that
    // falls behind never holds half of a change set.
    const behind = isBehind(sub);
    const corked = sets.length > 1;
    if (corked) sub.socket.cork();
    for (const set of sets) deliverSet(sub, set, behind, now, written);
    if (corked) sub.socket.uncork();
  }

  function deliverSet(
    sub: Subscriber,
    set: RoundSet,
    behind: boolean,
    now: number,
    written: ReturnType<typeof tally>,
  ): void {
    const { change, sections, entries } = set;
    if (change !== undefined && sub.batches) {
      const last = set.last;
      const reuse =
        !behind &&
        last !== undefined &&
        ((sub.cohort !== undefined && sub.cohort === last.cohort) || sameState(sub, last));
      if (reuse) {
        // What pick() does for a version the subscriber already holds, and delivered() for the rest.
        if (sub.pending.size) for (const section of sections) sub.pending.delete(section);
        if (!last.frame) follow(sub, last);
        else if (write(sub, last.frame)) {
          follow(sub, last);
          sub.updatesSent += last.picked.length;
          written.count(last.snapshots, last.patchFrames);
          written.batch();
        }
        return;
      }
      const state = stateOf(sub);
      const frames: Buffer[] = [];
      for (let i = 0; i < sections.length; i++) {
        const section = sections[i] as SectionName;
        const p = sub.limits.has(section) ? pick(sub, section, entries[i] as ReplicaEntry, behind, now) : undefined;
        if (p) {
          state.picked.push(p);
          frames.push(p.frame);
        }
      }
      if (frames.length) state.frame = cache.batchFrame(change, frames, set.batches);
      const wrote = state.frame !== undefined && write(sub, state.frame);
      if (wrote) {
        for (const p of state.picked) {
          delivered(sub, p);
          written.add(p.kind);
        }
        written.batch();
      }
      // A subscriber behind had its sections marked pending instead, and one whose write did not go
      // out holds what it held: neither is a model for the next.
      if (behind || (state.frame !== undefined && !wrote)) set.last = undefined;
      else {
        lead(sub, state);
        set.last = state;
      }
      return;
    }
    sub.socket.cork();
    for (let i = 0; i < sections.length; i++) {
      const section = sections[i] as SectionName;
      if (sub.limits.has(section)) written.add(offer(sub, section, entries[i] as ReplicaEntry, behind, now));
    }
    sub.socket.uncork();
  }

  // Only a version change is news to a subscriber; a refresh of computed_at alone sends nothing
  // (new subscribers still get the fresh computed_at, as frames are cached per replica entry).
  // A change that came with a set is delivered by the set's own round (below), at once: the set is
  // already the whole burst, so there is nothing to wait for.
  const unlistenChanges = replica.onChange((section, kind, entry, change) => {
    if (kind === 'version' && change === undefined) onChange(section, entry);
  });
  const unlistenSets = replica.onSet((set) => {
    const round = new Map<SectionName, ReplicaEntry>();
    for (const { section, kind, entry } of set.changes) {
      if (kind === 'version' && bySection.get(section)?.size) round.set(section, entry);
    }
    if (!round.size) return;
    // Changes announced one by one before this set go out first, in order.
    if (scheduled) {
      scheduled();
      deliverQueued();
    }
    enqueue(set.change, round);
  });
  const unlisten = () => {
    unlistenChanges();
    unlistenSets();
  };

  function drop(sub: Subscriber, section: SectionName): void {
    bySection.get(section)?.delete(sub);
    sub.limits.delete(section);
    ownSent(sub).delete(section);
    sub.pending.delete(section);
    sub.patches.delete(section);
  }

  const sizeOf = (message: ServerMessage) => Buffer.byteLength(JSON.stringify(message));

  return {
    send: sendControl,
    answerSize(request) {
      if (request.type === 'ping') return sizeOf({ type: 'pong', id: request.id });
      if (request.type === 'unsubscribe') return sizeOf({ type: 'unsubscribed', sections: request.sections });
      let size = sizeOf({ type: 'subscribed', sections: request.sections });
      for (const section of new Set(request.sections)) {
        const entry = replica.get(section);
        if (!entry) continue;
        const { epoch, version } = entry.snapshot;
        const given = request.versions[section];
        if (given && given.epoch === epoch && version <= given.version) continue;
        // A patch is never sent in answer to a subscribe (what the client claims is not exact), and a
        // subscriber behind gets less than this: the snapshot frame is the most it can be sent.
        size += frameFor(section, entry, request.limit).length;
      }
      return size;
    },
    subscribe(sub, sections, limit, versions, { patches = false, batches = false, fields = false } = {}) {
      sub.batches = batches;
      sub.fields = fields;
      const sent = ownSent(sub);
      for (const section of sections) {
        bySection.get(section)?.add(sub);
        sub.limits.set(section, limit);
        if (patches) sub.patches.add(section);
        else sub.patches.delete(section);
        // What the client says it holds replaces what we think it holds: a resubscribe without
        // versions (e.g. to change the limit) is answered with the current snapshot again. A claimed
        // version is not patched against: we cannot know at which limit the client holds it.
        const given = versions[section];
        if (given) sent.set(section, { epoch: given.epoch, version: given.version, exact: false });
        else sent.delete(section);
      }
      sub.socket.cork();
      sendControl(sub, { type: 'subscribed', sections: [...sections] });
      const now = Date.now();
      const written = tally();
      for (const section of sections) {
        const entry = replica.get(section);
        // No snapshot yet: it is pushed when the worker first publishes one.
        if (entry) written.add(offer(sub, section, entry, isBehind(sub), now));
      }
      sub.socket.uncork();
      written.done();
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
      // Changes already announced still go out, ahead of any close frame.
      if (scheduled) {
        scheduled();
        deliverQueued();
      }
      drain();
      cache.clear();
    },
  };
}

import { type Catalog, diffFields, encodeFieldPatch, encodePatch, type SectionName } from '@snapboard/shared';
import type { ReplicaEntry } from '../snapshot-replica.ts';

/**
 * The bytes a subscriber is sent for a section's replica entry: snapshot frames per list length,
 * patch frames from the version before (docs/decisions/0006-websocket-patch-frames.md) and batch
 * frames of a change set (SPEC §10). Each is built once and the same Buffer is written to every
 * socket that needs it; the cache is keyed by the replica entry, so it can never serve a stale frame.
 * Who gets which frame, and when, is fanout.ts's business.
 */

/** What a subscriber holds of a section. */
export interface Position {
  epoch: string;
  version: number;
  /** Written by this server at the subscriber's current limit (not just claimed by the client), so a
   * patch against it fits exactly what the subscriber holds. */
  exact: boolean;
}

interface SectionFrames {
  entry: ReplicaEntry;
  /** The last entry before `entry` with another version, in the same epoch: what patches start from. */
  base: ReplicaEntry | undefined;
  /** Snapshot frames by list length. */
  byLimit: Map<number, Buffer>;
  /** Patch frames by patchKey(new length, base length, fields); null where a patch would not be smaller. */
  patches: Map<number, Buffer | null>;
  /**
   * The entry's predecessor's frames, while a round still writes them: a set that joins a round in
   * progress (fanout.ts) has its frames asked for between those of the set before.
   */
  older: SectionFrames | undefined;
}

export interface FrameCache {
  /** The snapshot frame of `entry` for a subscriber with this list limit. */
  frameFor(section: SectionName, entry: ReplicaEntry, limit: number): Buffer;
  /** The patch from what `sent` says the subscriber holds to `entry`, when there is one worth sending. */
  patchFor(
    section: SectionName,
    entry: ReplicaEntry,
    limit: number,
    sent: Position,
    fields: boolean,
  ): Buffer | undefined;
  /**
   * The `batch` frame of change set `change` holding `frames` in order. `shared` is the caller's
   * per-set cache (newBatchMemo): subscribers given the same frames share one batch frame.
   */
  batchFrame(change: string, frames: readonly Buffer[], shared: BatchMemo): Buffer;
  /** What a subscriber holds once it was written `entry` by this server: one object per entry, shared. */
  positionOf(entry: ReplicaEntry): Position;
  clear(): void;
}

/**
 * Batch frames of one set by the ids of their frames. The fan-out asks only once per subscriber state
 * (fanout.ts), so a lookup by key is all it needs.
 */
export type BatchMemo = Map<string, Buffer>;

export const newBatchMemo = (): BatchMemo => new Map();

/** A patch's cache key without a string per subscriber: list lengths are far below 2^20. */
const patchKey = (nextLength: number, baseLength: number, fields: boolean) =>
  (nextLength * 1_048_576 + baseLength) * 2 + (fields ? 1 : 0);

const COMMA = Buffer.from(',');
const CLOSE_BATCH = Buffer.from(']}');

/**
 * The byte length of the snapshot frame of `snapshot` whose data is the list of the items `texts` are
 * the JSON of, without building it: JSON.stringify writes an array as its items' JSON joined by commas
 * between brackets.
 */
export function snapshotFrameBytes(
  {
    section,
    epoch,
    version,
    computed_at,
  }: Pick<ReplicaEntry['snapshot'], 'section' | 'epoch' | 'version' | 'computed_at'>,
  texts: readonly string[],
): number {
  const empty = JSON.stringify({ type: 'snapshot', section, epoch, version, computed_at, data: [] });
  return Buffer.byteLength(empty) + Buffer.byteLength(texts.join(','));
}

export function createFrameCache(catalog: Catalog, metrics: { serialized(): void }): FrameCache {
  const frames = new Map<SectionName, SectionFrames>();
  /** Each list item's JSON, per replica entry: what patches are compared and built from. */
  const itemTexts = new WeakMap<ReplicaEntry, string[]>();

  /** The frame cache of the section's current entry; the entry it replaces becomes the patch base. */
  function framesOf(section: SectionName, entry: ReplicaEntry): SectionFrames {
    const cached = frames.get(section);
    if (cached?.entry === entry) return cached;
    if (cached?.older?.entry === entry) return cached.older;
    // A refresh of computed_at is a new entry with the same version: the base stays the version before.
    let base = cached && (cached.entry.snapshot.version === entry.snapshot.version ? cached.base : cached.entry);
    if (base && base.snapshot.epoch !== entry.snapshot.epoch) base = undefined;
    // Two entries per section at most: the one before keeps no older one of its own.
    if (cached) cached.older = undefined;
    const next: SectionFrames = { entry, base, byLimit: new Map(), patches: new Map(), older: cached };
    frames.set(section, next);
    return next;
  }

  /** How many items of a list section a subscriber with `limit` is sent (the whole list when unlimited). */
  function cutLength(section: SectionName, list: readonly unknown[], limit: number): number {
    return catalog.sections[section].limited ? Math.min(limit, list.length) : list.length;
  }

  /**
   * Which of an entry's snapshot frames a subscriber with `limit` gets (`byLimit`'s key): limits at or
   * above the list's length all get the same frame; unlimited sections have one frame.
   */
  function frameKey(section: SectionName, data: unknown, limit: number): number {
    return catalog.sections[section].limited && Array.isArray(data) ? cutLength(section, data, limit) : -1;
  }

  function frameFor(section: SectionName, entry: ReplicaEntry, limit: number): Buffer {
    const cached = framesOf(section, entry);
    const { epoch, version, computed_at, data } = entry.snapshot;
    const key = frameKey(section, data, limit);
    let frame = cached.byLimit.get(key);
    if (!frame) {
      const cut = key >= 0 ? (data as unknown[]).slice(0, key) : catalog.socketData(section, data);
      frame = Buffer.from(JSON.stringify({ type: 'snapshot', section, epoch, version, computed_at, data: cut }));
      cached.byLimit.set(key, frame);
      metrics.serialized();
    }
    return frame;
  }

  /**
   * The JSON of the first `length` items of `entry`'s list. Only as many as some subscriber's limit
   * reaches are serialized: a patch for 20 of bot_trades' 500 trades needs 20.
   */
  function textsOf(entry: ReplicaEntry, length: number): string[] {
    const list = entry.snapshot.data as unknown[];
    let texts = itemTexts.get(entry);
    if (!texts) {
      texts = [];
      itemTexts.set(entry, texts);
    }
    for (let i = texts.length; i < length; i++) texts.push(JSON.stringify(list[i]));
    return texts.length === length ? texts : texts.slice(0, length);
  }

  function patchFor(
    section: SectionName,
    entry: ReplicaEntry,
    limit: number,
    sent: Position,
    fields: boolean,
  ): Buffer | undefined {
    const cached = framesOf(section, entry);
    const base = cached.base;
    if (!base || !sent.exact || sent.epoch !== base.snapshot.epoch || sent.version !== base.snapshot.version) {
      return undefined;
    }
    const nextData = entry.snapshot.data;
    const baseData = base.snapshot.data;
    if (!Array.isArray(nextData) || !Array.isArray(baseData)) return undefined;
    const nextLength = cutLength(section, nextData, limit);
    const baseLength = cutLength(section, baseData, limit);
    const key = patchKey(nextLength, baseLength, fields);
    let frame = cached.patches.get(key);
    if (frame === undefined) {
      frame = buildPatch(section, entry, base, nextLength, baseLength, limit, fields) ?? null;
      cached.patches.set(key, frame);
    }
    return frame ?? undefined;
  }

  function buildPatch(
    section: SectionName,
    entry: ReplicaEntry,
    base: ReplicaEntry,
    nextLength: number,
    baseLength: number,
    limit: number,
    fields: boolean,
  ): Buffer | undefined {
    const { epoch, version, computed_at } = entry.snapshot;
    const head = { section, epoch, version, base_version: base.snapshot.version, computed_at };
    const baseTexts = textsOf(base, baseLength);
    const nextTexts = textsOf(entry, nextLength);
    let text = encodePatch(head, baseTexts, nextTexts);
    if (fields) {
      const update = diffFields(
        (base.snapshot.data as unknown[]).slice(0, baseLength),
        (entry.snapshot.data as unknown[]).slice(0, nextLength),
        baseTexts,
        nextTexts,
      );
      const byFields = update && encodeFieldPatch(head, nextLength, update);
      if (byFields !== undefined && (text === undefined || byFields.length < text.length)) text = byFields;
    }
    if (text === undefined) return undefined;
    const frame = Buffer.from(text);
    if (frame.length >= snapshotBytes(section, entry, limit, nextTexts)) return undefined;
    metrics.serialized();
    return frame;
  }

  /**
   * The length of `frameFor(section, entry, limit)`, which lists exactly the items `texts` are the JSON
   * of: a patch is sent only when it is smaller, and building a snapshot frame that nobody keeping up
   * is sent, only to measure it, cost the first subscriber of a set more than the patch (pnl_history's
   * 720 points).
   */
  function snapshotBytes(section: SectionName, entry: ReplicaEntry, limit: number, texts: readonly string[]): number {
    const built = framesOf(section, entry).byLimit.get(frameKey(section, entry.snapshot.data, limit));
    return built?.length ?? snapshotFrameBytes(entry.snapshot, texts);
  }

  /** Small ids of frames, so a batch's cache key is short whatever the frames' size. */
  const frameIds = new WeakMap<Buffer, number>();
  let nextFrameId = 0;
  function idOf(frame: Buffer): number {
    let id = frameIds.get(frame);
    if (id === undefined) {
      id = nextFrameId++;
      frameIds.set(frame, id);
    }
    return id;
  }

  function batchFrame(change: string, parts: readonly Buffer[], shared: BatchMemo): Buffer {
    let key = '';
    for (const part of parts) key += `${idOf(part)},`;
    let frame = shared.get(key);
    if (!frame) {
      const chunks: Buffer[] = [Buffer.from(`{"type":"batch","change":"${change}","items":[`)];
      parts.forEach((part, i) => {
        if (i) chunks.push(COMMA);
        chunks.push(part);
      });
      chunks.push(CLOSE_BATCH);
      frame = Buffer.concat(chunks);
      shared.set(key, frame);
      metrics.serialized();
    }
    return frame;
  }

  const positions = new WeakMap<ReplicaEntry, Position>();
  function positionOf(entry: ReplicaEntry): Position {
    let position = positions.get(entry);
    if (!position) {
      position = Object.freeze({ epoch: entry.snapshot.epoch, version: entry.snapshot.version, exact: true });
      positions.set(entry, position);
    }
    return position;
  }

  return { frameFor, patchFor, batchFrame, positionOf, clear: () => frames.clear() };
}

/**
 * List patches: a list section's new data as a splice of the version before it, so that a subscriber
 * who holds that version is sent what moved instead of the whole list (see
 * docs/decisions/0006-websocket-patch-frames.md). A patch reads
 *
 *     data = prepend ++ base.slice(keep[0], keep[1]) ++ append
 *
 * which covers the changes list sections make: a new close at the head of recent_trades, the last
 * hour's point of pnl_history moving (or the window sliding by an hour), a position opened or closed.
 * Items are compared by their JSON text, which both sides of the wire already have.
 */

export interface ListSplice {
  /** How many items of the new list come before the kept run; those after it are appended. */
  prepend: number;
  /** The kept run of the base list, as [start, end). */
  keep: [number, number];
}

/** How far into the new list to look for the start of a kept run: changes add a few items at the head. */
const MAX_HEAD = 8;

/**
 * The splice that keeps the longest run of `base` in `next`, or undefined when nothing can be kept.
 * Linear in the lists' lengths. Each of the few heads is looked up by a scan of `base` rather than
 * through an index of all of it: a run usually starts at base's first or second item, and hashing
 * every item's text (pnl_history's 720) cost more than the rest of the patch.
 */
export function diffLists(base: readonly string[], next: readonly string[]): ListSplice | undefined {
  if (base.length === 0 || next.length === 0) return undefined;
  let best: ListSplice | undefined;
  let bestLength = 0;
  for (let head = 0; head < Math.min(MAX_HEAD, next.length) && next.length - head > bestLength; head++) {
    const start = base.indexOf(next[head] as string);
    if (start === -1) continue;
    let length = 1;
    while (
      start + length < base.length &&
      head + length < next.length &&
      base[start + length] === next[head + length]
    ) {
      length++;
    }
    if (length > bestLength) {
      bestLength = length;
      best = { prepend: head, keep: [start, start + length] };
    }
  }
  return best;
}

/**
 * `base` with a patch applied, or undefined when the patch does not fit it (a kept run beyond its
 * end): then the holder has something else than the patch's base and needs the full snapshot.
 */
export function applyListPatch<T>(
  base: readonly T[],
  patch: { keep: readonly [number, number]; prepend: readonly T[]; append: readonly T[]; update?: unknown },
): T[] | undefined {
  const [start, end] = patch.keep;
  if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end < start || end > base.length) {
    return undefined;
  }
  const spliced = [...patch.prepend, ...base.slice(start, end), ...patch.append];
  return patch.update === undefined ? spliced : applyFieldUpdate(spliced, patch.update);
}

/**
 * The JSON text of the `patch` frame (protocol.ts `PatchMessage`) that turns `base` into `next`, both
 * given as their items' JSON text, or undefined when no run of `base` survives in `next`. Items are
 * spliced in as the text they were compared by, so the frame is valid JSON by construction and no
 * item is serialized twice.
 */
export function encodePatch(
  head: { section: string; epoch: string; version: number; base_version: number; computed_at: string },
  base: readonly string[],
  next: readonly string[],
): string | undefined {
  const splice = diffLists(base, next);
  if (!splice) return undefined;
  const [start, end] = splice.keep;
  const fields = patchHead(head, [start, end]);
  const prepend = next.slice(0, splice.prepend).join(',');
  const append = next.slice(splice.prepend + end - start).join(',');
  return `${fields.slice(0, -1)},"prepend":[${prepend}],"append":[${append}]}`;
}

type PatchHead = { section: string; epoch: string; version: number; base_version: number; computed_at: string };

/** A patch frame's fixed fields as JSON text, in the order the protocol documents them. */
function patchHead(head: PatchHead, keep: [number, number]): string {
  const { section, epoch, version, base_version, computed_at } = head;
  return JSON.stringify({ type: 'patch', section, epoch, version, base_version, computed_at, keep });
}

/**
 * Field updates (an opt-in beyond patches, `"fields": true` in subscribe): items that stayed where
 * they were, with the same keys, but whose values moved — a price tick moves five fields of every open
 * position and nothing else. Columnar, so field names are sent once per frame, not once per item:
 * `fields` names the fields that moved in any item, and each row of `items` is the item's index
 * followed by the new value of every named field.
 */
export interface FieldUpdate {
  fields: string[];
  items: unknown[][];
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * The field update that turns `base` into `next` (both lists of objects; their items' JSON text given
 * alongside), or undefined when the lists differ in anything but field values: other lengths, or an
 * item at some index with other keys or keys in another order.
 */
export function diffFields(
  base: readonly unknown[],
  next: readonly unknown[],
  baseTexts: readonly string[],
  nextTexts: readonly string[],
): FieldUpdate | undefined {
  if (base.length !== next.length || base.length === 0) return undefined;
  const moved = new Set<string>();
  const changed: number[] = [];
  for (let i = 0; i < next.length; i++) {
    if (baseTexts[i] === nextTexts[i]) continue;
    const b = base[i];
    const n = next[i];
    if (!isPlainObject(b) || !isPlainObject(n)) return undefined;
    const keys = Object.keys(n);
    const baseKeys = Object.keys(b);
    if (keys.length !== baseKeys.length || keys.some((key, k) => baseKeys[k] !== key)) return undefined;
    for (const key of keys) if (JSON.stringify(b[key]) !== JSON.stringify(n[key])) moved.add(key);
    changed.push(i);
  }
  const fields = [...moved];
  return { fields, items: changed.map((i) => [i, ...fields.map((f) => (next[i] as Record<string, unknown>)[f])]) };
}

/** The JSON text of a `patch` frame that keeps the whole list and carries `update`. */
export function encodeFieldPatch(head: PatchHead, length: number, update: FieldUpdate): string {
  return `${patchHead(head, [0, length]).slice(0, -1)},"prepend":[],"append":[],"update":${JSON.stringify(update)}}`;
}

/**
 * `list` with a field update applied (items copied, never changed in place), or undefined when the
 * update does not fit it: an index out of range, a row of the wrong length, a field the item lacks.
 */
export function applyFieldUpdate<T>(list: readonly T[], update: unknown): T[] | undefined {
  if (!isPlainObject(update) || !Array.isArray(update.fields) || !Array.isArray(update.items)) return undefined;
  const fields = update.fields as unknown[];
  if (!fields.every((f): f is string => typeof f === 'string')) return undefined;
  const out = [...list];
  for (const row of update.items as unknown[]) {
    if (!Array.isArray(row) || row.length !== fields.length + 1) return undefined;
    const index = row[0];
    if (!Number.isInteger(index) || (index as number) < 0 || (index as number) >= out.length) return undefined;
    const item = out[index as number];
    if (!isPlainObject(item)) return undefined;
    const copy: Record<string, unknown> = { ...item };
    for (let k = 0; k < fields.length; k++) {
      const field = fields[k] as string;
      if (!(field in copy)) return undefined;
      copy[field] = row[k + 1];
    }
    out[index as number] = copy as T;
  }
  return out;
}

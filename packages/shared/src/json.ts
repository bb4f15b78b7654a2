/**
 * JSON with object keys sorted at every level: equal values give equal strings whatever the order in
 * which their objects were built. The worker hashes it (a snapshot's content hash), the SDK compares
 * with it; zod-free, so the browser bundle can take it.
 *
 * The keys are sorted once for the whole value and handed to JSON.stringify as its property list,
 * which writes each object's properties in that list's order: the same text as sorting a copy of
 * every object (the form this had first), at about half the cost, for plain data (what JSON.parse or
 * zod gives: own enumerable properties). Keys that are array indices come first, in numeric order,
 * as an object built with sorted keys enumerates them.
 */
export function stableStringify(value: unknown): string {
  const keys = new Set<string>();
  collectKeys(value, '', keys);
  // A property list cannot tell an own "__proto__" (JSON.parse makes one) from the accessor every
  // object inherits, which it would write for every object: such data goes through sorted copies.
  if (keys.has('__proto__')) return JSON.stringify(value, sortedCopy);
  return JSON.stringify(value, [...keys].sort(compareKeys));
}

function sortedCopy(_key: string, value: unknown): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  const sorted: Record<string, unknown> = Object.create(null);
  for (const key of Object.keys(value).sort(compareKeys)) sorted[key] = (value as Record<string, unknown>)[key];
  return sorted;
}

function collectKeys(value: unknown, key: string, keys: Set<string>): void {
  if (value === null || typeof value !== 'object') return;
  // JSON.stringify serializes what toJSON returns (a Date's is a string).
  const json = value as { toJSON?: (key: string) => unknown };
  const v = typeof json.toJSON === 'function' ? json.toJSON(key) : value;
  if (v === null || typeof v !== 'object') return;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) collectKeys(v[i], String(i), keys);
    return;
  }
  for (const k of Object.keys(v)) {
    keys.add(k);
    collectKeys((v as Record<string, unknown>)[k], k, keys);
  }
}

const ARRAY_INDEX = /^(?:0|[1-9]\d*)$/;

function isArrayIndex(key: string): boolean {
  return ARRAY_INDEX.test(key) && Number(key) < 4_294_967_295;
}

function compareKeys(a: string, b: string): number {
  const ia = isArrayIndex(a);
  const ib = isArrayIndex(b);
  if (ia && ib) return Number(a) - Number(b);
  if (ia !== ib) return ia ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

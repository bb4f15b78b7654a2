/**
 * JSON with object keys sorted at every level: equal values give equal strings whatever the order in
 * which their objects were built. The worker hashes it (a snapshot's content hash), the SDK compares
 * with it; zod-free, so the browser bundle can take it.
 */
export function stableStringify(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
    const sorted: Record<string, unknown> = {};
    for (const key of Object.keys(v).sort()) sorted[key] = (v as Record<string, unknown>)[key];
    return sorted;
  });
}

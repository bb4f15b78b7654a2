import type { SectionSnapshot } from '@snapboard/client';

/**
 * The snapshots the page's HTML carries for its first paint (decision 0017): the server writes them
 * into a JSON data block, the script reads them before it makes any request and hands them to the
 * SDK, whose socket then resumes from their versions. No DOM at import: the server imports this too.
 */

export type FirstPaintSnapshot = SectionSnapshot & {
  /** The section's cadence in seconds, as the server is configured. */
  ttl: number;
};

export interface FirstPaint {
  /** The list length the lists were cut to: the page uses them only when it asks for the same. */
  limit: number;
  snapshots: FirstPaintSnapshot[];
}

export const FIRST_PAINT_ID = 'first-paint';

/**
 * JSON that cannot end or change the data block it sits in: `<` (so no `</script>` and no `<!--`),
 * `>` and `&` become \u escapes, as do U+2028/U+2029 (line terminators to older JavaScript parsers).
 * JSON.parse reads them back unchanged.
 */
export function scriptSafeJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

export function firstPaintBlock(firstPaint: FirstPaint): string {
  return `<script type="application/json" id="${FIRST_PAINT_ID}">${scriptSafeJson(firstPaint)}</script>`;
}

/** In the browser: the snapshots the page carries for `limit`, or none when it carries none for it. */
export function readFirstPaint(doc: Document, limit: number): FirstPaintSnapshot[] {
  const text = doc.getElementById(FIRST_PAINT_ID)?.textContent;
  if (!text) return [];
  try {
    const parsed = JSON.parse(text) as Partial<FirstPaint>;
    return parsed.limit === limit && Array.isArray(parsed.snapshots) ? parsed.snapshots : [];
  } catch {
    // A page cut short in transit: start empty, as before, and let the socket fill it.
    return [];
  }
}

import { PATHS } from '@snapboard/shared';
import type { HeaderList } from './cors.ts';

/**
 * What the Hono routes and the fast path (fast-path.ts) must agree on byte for byte: the read
 * endpoints' response headers and the If-None-Match test. Their paths are shared's `PATHS`.
 */

export const DEPRECATION_HEADERS: HeaderList = [
  ['deprecation', 'true'],
  ['link', `<${PATHS.v2}/>; rel="successor-version"`],
];

export const JSON_TYPE = 'application/json';

/**
 * Headers of a read answer: a plain object in a fixed order, so that @hono/node-server writes it
 * exactly as the fast path does (it passes plain objects to writeHead untouched).
 * `length` undefined means a 304 (no body headers). Two lists at most (a route's own, then CORS),
 * given positionally so that no array is made per request.
 */
export function readHeaders(
  etag: string,
  length: number | undefined,
  extra?: HeaderList,
  more?: HeaderList,
): Record<string, string> {
  const headers: Record<string, string> = {};
  if (length !== undefined) {
    headers['content-type'] = JSON_TYPE;
    headers['content-length'] = String(length);
  }
  headers['cache-control'] = 'no-cache';
  headers['etag'] = etag;
  if (extra)
    for (let i = 0; i < extra.length; i++)
      headers[(extra[i] as [string, string])[0]] = (extra[i] as [string, string])[1];
  if (more)
    for (let i = 0; i < more.length; i++) headers[(more[i] as [string, string])[0]] = (more[i] as [string, string])[1];
  return headers;
}

/** RFC 9110 §13.1.2: weak comparison, a list of tags or `*`. */
export function etagMatches(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  if (ifNoneMatch === etag) return true;
  const opaque = etag.startsWith('W/') ? etag.slice(2) : etag;
  for (const raw of ifNoneMatch.split(',')) {
    const tag = raw.trim();
    if (tag === '*') return true;
    if ((tag.startsWith('W/') ? tag.slice(2) : tag) === opaque) return true;
  }
  return false;
}

export interface ReadAnswer {
  status: 200 | 304;
  /** Frozen: shared by every answer of the same prepared entry. */
  headers: Readonly<Record<string, string>>;
  /** The same headers as name, value, name, value…: what the fast path hands node:http (decision 0014). */
  flat: readonly string[];
  body: Buffer | null;
}

/** The body of a 200: fixed bytes, or the v2 body rendered at the request's time (views.ts). */
export type ReadBody = Buffer | { render(nowMs: number, cached?: boolean): Buffer };

interface HeaderSlot {
  etag: string;
  length: number | undefined;
  extra: HeaderList | undefined;
  more: HeaderList | undefined;
  headers: Readonly<Record<string, string>>;
  flat: readonly string[];
}

/**
 * The headers of a prepared body's 200 and 304, built on its first answer and shared by the rest
 * (issue 16: building them per request was a measurable part of the hot path). Keyed by the body, so
 * they go when its entry is replaced; a different CORS list (another origin) rebuilds the slot.
 */
const headerSlots = new WeakMap<object, [HeaderSlot | undefined, HeaderSlot | undefined]>();

/**
 * 304 when the client holds the current ETag, else 200 with the body (rendered only then, at `at`;
 * `cached` false only for a refresh that completed).
 */
export function readAnswer(
  etag: string,
  ifNoneMatch: string | undefined,
  body: ReadBody,
  at: number,
  cached: boolean,
  extra?: HeaderList,
  more?: HeaderList,
): ReadAnswer {
  const notModified = etagMatches(ifNoneMatch, etag);
  const bytes = notModified ? null : Buffer.isBuffer(body) ? body : body.render(at, cached);
  const length = bytes === null ? undefined : bytes.length;
  let slots = headerSlots.get(body);
  if (slots === undefined) {
    slots = [undefined, undefined];
    headerSlots.set(body, slots);
  }
  const i = notModified ? 1 : 0;
  let slot = slots[i];
  if (
    slot === undefined ||
    slot.etag !== etag ||
    slot.length !== length ||
    slot.extra !== extra ||
    slot.more !== more
  ) {
    const headers = Object.freeze(readHeaders(etag, length, extra, more));
    slot = { etag, length, extra, more, headers, flat: Object.freeze(Object.entries(headers).flat()) };
    slots[i] = slot;
  }
  return { status: notModified ? 304 : 200, headers: slot.headers, flat: slot.flat, body: bytes };
}

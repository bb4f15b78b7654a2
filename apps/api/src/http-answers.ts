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
 * `length` undefined means a 304 (no body headers).
 */
export function readHeaders(etag: string, length: number | undefined, ...extra: HeaderList[]): Record<string, string> {
  const headers: Record<string, string> = {};
  if (length !== undefined) {
    headers['content-type'] = JSON_TYPE;
    headers['content-length'] = String(length);
  }
  headers['cache-control'] = 'no-cache';
  headers['etag'] = etag;
  for (const list of extra) for (const [name, value] of list) headers[name] = value;
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
  headers: Record<string, string>;
  body: Buffer | null;
}

/** 304 when the client holds the current ETag, else 200 with the body (made only then). */
export function readAnswer(
  etag: string,
  ifNoneMatch: string | undefined,
  body: () => Buffer,
  ...extra: HeaderList[]
): ReadAnswer {
  if (etagMatches(ifNoneMatch, etag))
    return { status: 304, headers: readHeaders(etag, undefined, ...extra), body: null };
  const bytes = body();
  return { status: 200, headers: readHeaders(etag, bytes.length, ...extra), body: bytes };
}

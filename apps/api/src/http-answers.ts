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
  headers: Record<string, string>;
  body: Buffer | null;
}

/** The body of a 200: fixed bytes, or the v2 body rendered at the request's time (views.ts). */
export type ReadBody = Buffer | { render(nowMs: number, cached?: boolean): Buffer };

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
  if (etagMatches(ifNoneMatch, etag))
    return { status: 304, headers: readHeaders(etag, undefined, extra, more), body: null };
  const bytes = Buffer.isBuffer(body) ? body : body.render(at, cached);
  return { status: 200, headers: readHeaders(etag, bytes.length, extra, more), body: bytes };
}

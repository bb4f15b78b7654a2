import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ReadAnswer } from './http-answers.ts';
import { Query, type ReadRoute } from './read-routes.ts';
import type { RequestFinish } from './request-log.ts';

/**
 * The hot path (docs/decisions/0003, 0014): GETs of the read routes answered from prepared buffers
 * straight on node:http, without building a WHATWG Request/Response. It runs the same route table as
 * the Hono app (read-routes.ts): the same query parsing, the same answer, the same metrics and log
 * line. What it cannot answer synchronously — another method, a path not spelled exactly as in the
 * table, a repeated header it reads, bad input (an error answer), refresh=true, no snapshot yet — it
 * declines (returns false) untouched, and Hono answers instead, so every error and edge case has
 * exactly one implementation. What it answers is byte-identical to Hono's (test/fast-path.test.ts).
 */

export interface FastPathDeps {
  reads: readonly ReadRoute[];
  finish: RequestFinish;
  now: () => number;
}

export interface FastPath {
  /** Answer the request and return true, or return false to hand it to Hono untouched. */
  (req: IncomingMessage, res: ServerResponse): boolean;
  /** Requests answered so far (tests check that the fast path really served). */
  readonly served: number;
}

interface Entry {
  route: ReadRoute;
  name: string | undefined;
}

export function createFastPath(deps: FastPathDeps): FastPath {
  const { reads, finish, now } = deps;
  const byPath = new Map<string, Entry>();
  for (const route of reads) {
    for (const { path, name } of route.paths) {
      const entry = { route, name };
      byPath.set(path, entry);
      byPath.set(`${path}/`, entry);
    }
  }
  let served = 0;
  const handle = (req: IncomingMessage, res: ServerResponse): boolean => {
    if (req.method !== 'GET') return false;
    const url = req.url ?? '';
    const q = url.indexOf('?');
    const entry = byPath.get(q === -1 ? url : url.slice(0, q));
    if (entry === undefined) return false;
    const started = performance.now();
    // Read the headers it needs from rawHeaders: cheaper than building req.headers, and a repeated
    // one (which node would merge before Hono reads it) is left to Hono.
    let origin: string | undefined;
    let ifNoneMatch: string | undefined;
    let requestIdHeader: string | undefined;
    const raw = req.rawHeaders;
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i] as string;
      if (name.length === 6 && name.toLowerCase() === 'origin') {
        if (origin !== undefined) return false;
        origin = raw[i + 1];
      } else if (name.length === 13 && name.toLowerCase() === 'if-none-match') {
        if (ifNoneMatch !== undefined) return false;
        ifNoneMatch = raw[i + 1];
      } else if (name.length === 12 && name.toLowerCase() === 'x-request-id') {
        if (requestIdHeader !== undefined) return false;
        requestIdHeader = raw[i + 1];
      }
    }
    let answer: ReadAnswer;
    try {
      const params = entry.route.parse(q === -1 ? Query.EMPTY : Query.parse(url.slice(q + 1)), entry.name);
      if (params.refresh) return false;
      answer = entry.route.answer(params, ifNoneMatch, origin, now(), false);
    } catch {
      // Bad input or warming up: the answer is an error envelope, which only Hono writes.
      return false;
    }
    res.writeHead(answer.status, answer.headers);
    res.end(answer.body);
    served++;
    finish('GET', entry.route.pattern, url, answer.status, started, undefined, requestIdHeader);
    return true;
  };
  return Object.defineProperty(handle, 'served', { get: () => served }) as FastPath;
}

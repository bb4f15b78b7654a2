import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ReadAnswer } from './http-answers.ts';
import { Query, type ReadParams, type ReadRoute } from './read-routes.ts';
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
  /**
   * Answer the request and return true, or return false to hand it to Hono untouched. A plain
   * function (not one carrying the counters below as properties, which made it a dictionary-mode
   * object that the server's listener could not call as cheaply).
   */
  handle(req: IncomingMessage, res: ServerResponse): boolean;
  /** Requests answered so far (tests check that the fast path really served). */
  readonly served: number;
  /** Request targets whose parse it keeps (at most PARSED_MAX). */
  readonly remembered: number;
}

interface Entry {
  route: ReadRoute;
  name: string | undefined;
}

interface Parsed {
  entry: Entry;
  params: ReadParams;
}

/**
 * Request targets already parsed: a poller repeats its URL, so each distinct one is parsed once
 * (issue 16: parsing was a measurable part of an answer). A route's parse depends on nothing but the
 * target. Bounded, since targets are the client's to choose: at the bound the map starts over.
 */
export const PARSED_MAX = 256;

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
  const parsed = new Map<string, Parsed>();
  /** The target's route and params; undefined when Hono must answer (not a read path, bad input, refresh). */
  const parse = (url: string): Parsed | undefined => {
    const q = url.indexOf('?');
    const entry = byPath.get(q === -1 ? url : url.slice(0, q));
    if (entry === undefined) return undefined;
    let params: ReadParams;
    try {
      params = entry.route.parse(q === -1 ? Query.EMPTY : Query.parse(url.slice(q + 1)), entry.name);
    } catch {
      // Bad input: the answer is an error envelope, which only Hono writes.
      return undefined;
    }
    if (params.refresh) return undefined;
    if (parsed.size >= PARSED_MAX) parsed.clear();
    const hit = { entry, params };
    parsed.set(url, hit);
    return hit;
  };
  let served = 0;
  const handle = (req: IncomingMessage, res: ServerResponse): boolean => {
    if (req.method !== 'GET') return false;
    const started = performance.now();
    const url = req.url ?? '';
    const target = parsed.get(url) ?? parse(url);
    if (target === undefined) return false;
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
    const { route } = target.entry;
    let answer: ReadAnswer;
    try {
      answer = route.answer(target.params, ifNoneMatch, origin, now(), false);
    } catch {
      // Warming up: the answer is an error envelope, which only Hono writes.
      return false;
    }
    // The flat form: node:http writes it exactly as the object Hono passes (same names, same order).
    res.writeHead(answer.status, answer.flat as string[]);
    res.end(answer.body);
    served++;
    finish('GET', route.pattern, url, answer.status, started, undefined, requestIdHeader);
    return true;
  };
  return {
    handle,
    get served() {
      return served;
    },
    get remembered() {
      return parsed.size;
    },
  };
}

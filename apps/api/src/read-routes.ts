import type { IncomingMessage } from 'node:http';
import type { SectionName } from '@snapboard/shared';
import type { Context } from 'hono';
import { tryDecode } from 'hono/utils/url';
import type { TradeFilter } from './endpoint-answers.ts';
import type { ApiEnv } from './env.ts';
import type { ReadAnswer } from './http-answers.ts';
import type { RouteTable } from './router.ts';

/**
 * The one table of the public read routes (docs/decisions/0014). Each route says, once, how its query
 * is read and how it is answered from prepared bytes; the Hono app (for every request) and the fast
 * path (fast-path.ts, for the GETs it can answer synchronously) both run exactly that. So the two
 * entry points cannot disagree on a parameter, a header or the deprecated path's rule: they differ
 * only in how the request arrives and the answer leaves, which decision 0003's byte-identity test
 * (test/fast-path.test.ts) pins down.
 */

/**
 * A query string's parameters in order, with Hono's `c.req.queries()` semantics. Kept as one flat
 * array of decoded names and values: a Map per request cost several times as much (the hot path
 * parses every query, and most have one parameter).
 */
export class Query {
  static readonly EMPTY = new Query([]);

  private constructor(private readonly pairs: readonly string[]) {}

  /** No parameter at all. */
  get empty(): boolean {
    return this.pairs.length === 0;
  }

  /** Every value given for `name`, in order; undefined when it is absent. */
  values(name: string): string[] | undefined {
    let out: string[] | undefined;
    for (let i = 0; i < this.pairs.length; i += 2) {
      if (this.pairs[i] !== name) continue;
      out ??= [];
      out.push(this.pairs[i + 1] as string);
    }
    return out;
  }

  /**
   * Parse the part of a request target after `?` (a fragment, which no client should send, is cut as
   * Hono cuts it). Empty names are skipped; a name without `=` has the value `''`.
   */
  static parse(raw: string): Query {
    if (raw === '') return Query.EMPTY;
    const hash = raw.indexOf('#');
    if (hash !== -1) raw = raw.slice(0, hash);
    const pairs: string[] = [];
    let start = 0;
    while (start <= raw.length) {
      let end = raw.indexOf('&', start);
      if (end === -1) end = raw.length;
      const eq = raw.indexOf('=', start);
      const hasValue = eq !== -1 && eq < end;
      const name = decodePart(raw.slice(start, hasValue ? eq : end));
      if (name !== '') pairs.push(name, hasValue ? decodePart(raw.slice(eq + 1, end)) : '');
      start = end + 1;
    }
    return pairs.length === 0 ? Query.EMPTY : new Query(pairs);
  }
}

/** `+` is a space and `%XX` is decoded where it is valid UTF-8, exactly as Hono decodes queries. */
function decodePart(value: string): string {
  if (value.indexOf('+') !== -1) value = value.replace(/\+/g, ' ');
  return value.indexOf('%') !== -1 ? tryDecode(value, decodeURIComponent) : value;
}

/** The query of a request target (`/path?query` or an absolute URL). */
export function queryOf(target: string): string {
  const q = target.indexOf('?');
  return q === -1 ? '' : target.slice(q + 1);
}

/**
 * What a read asks for, once its query is validated. Plain data, so that answering a request creates
 * no function (tsx keeps names, which costs a defineProperty per function created).
 */
export interface ReadParams {
  /** Items of the limited lists (v2, sections); the default where the route takes none. */
  readonly limit: number;
  /** `refresh=true`: the answer must first wait for the refresh gate, which only the Hono route does. */
  readonly refresh: boolean;
  /** The section of `/sections/{name}`, validated. */
  readonly name?: SectionName;
  readonly filter?: TradeFilter;
  readonly days?: number;
}

export interface ReadRoute {
  /** The route pattern as Hono matches it: also the `route` label of metrics and the request log. */
  readonly pattern: string;
  /**
   * The exact paths the fast path answers for it, each also with a trailing slash: the pattern, or
   * for `:name` one path per known name (an unknown name is left to Hono's 404).
   */
  readonly paths: readonly { path: string; name?: string }[];
  /** Validate the query (and the path's `:name`): throws the ApiError a client gets for bad input. */
  parse(query: Query, name: string | undefined): ReadParams;
  /**
   * The answer at `at` (ms), from prepared bytes; `fresh` when it waited for a forced recompute that
   * finished. Throws the warming-up ApiError while a snapshot it needs is missing.
   */
  answer(
    params: ReadParams,
    ifNoneMatch: string | undefined,
    origin: string | undefined,
    at: number,
    fresh: boolean,
  ): ReadAnswer;
}

/** The params of a read without filter or days, one object per (limit, refresh), made once. */
const PLAIN: ReadParams[][] = [[], []];
export function plainParams(limit: number, refresh: boolean): ReadParams {
  const row = PLAIN[refresh ? 1 : 0] as ReadParams[];
  let params = row[limit];
  if (!params) {
    params = Object.freeze({ limit, refresh });
    row[limit] = params;
  }
  return params;
}

/** What the Hono side needs beyond the table: the refresh gate (async, so never on the fast path). */
export interface ReadRouteHooks {
  /** Wait for (or join) the forced recompute `refresh=true` asks for: true when it finished. */
  refresh(c: Context<ApiEnv>): Promise<boolean>;
  now: () => number;
}

/**
 * The query of the request as node:http received it, the same string the fast path parses; in-process
 * requests (`app.request()`, tests) have no IncomingMessage and use the URL Hono built.
 */
function rawQuery(c: Context<ApiEnv>): string {
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  return queryOf(incoming?.url ?? c.req.url);
}

const respond = (answer: ReadAnswer) =>
  new Response(answer.body as Uint8Array<ArrayBuffer> | null, { status: answer.status, headers: answer.headers });

/** Register every route of the table as a Hono GET (HEAD, OPTIONS, CORS and 405 come with it). */
export function registerReadRoutes(routes: RouteTable, table: readonly ReadRoute[], hooks: ReadRouteHooks): void {
  const { now } = hooks;
  for (const route of table) {
    const hasName = route.pattern.includes(':name');
    routes.on('GET', route.pattern, { cors: true }, async (c) => {
      const params = route.parse(Query.parse(rawQuery(c)), hasName ? (c.req.param('name') ?? '') : undefined);
      const fresh = params.refresh ? await hooks.refresh(c) : false;
      return respond(route.answer(params, c.req.header('if-none-match'), c.req.header('origin'), now(), fresh));
    });
  }
}

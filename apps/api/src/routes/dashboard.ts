import type { IncomingMessage } from 'node:http';
import { type RecomputeQueue, requestRecompute } from '@snapboard/queue';
import {
  ApiError,
  type Catalog,
  type Config,
  DEFAULT_LIMIT,
  keysForConfig,
  MAX_LIMIT,
  PATHS,
  type SectionName,
} from '@snapboard/shared';
import type { Context } from 'hono';
import type { Registry } from 'prom-client';
import { clientAddress } from '../client-address.ts';
import type { Cors } from '../cors.ts';
import type { ApiEnv } from '../env.ts';
import { DEPRECATION_HEADERS, readAnswer } from '../http-answers.ts';
import type { Views } from '../prepared-answers.ts';
import { plainParams, type Query, type ReadParams, type ReadRoute } from '../read-routes.ts';
import { createRefreshGate, type ForcedRecompute, type GateRedis } from '../refresh-gate.ts';
import { limitParamSchema, refreshParamSchema } from '../schemas.ts';
import type { SnapshotReplica } from '../snapshot-replica.ts';

/**
 * The public read endpoints (SPEC §6), as entries of the one read-route table (read-routes.ts) that
 * both the Hono app and the fast path run. Bodies come prepared from prepared-answers.ts.
 */

export interface RefreshDeps {
  replica: SnapshotReplica;
  queue: RecomputeQueue;
  config: Pick<Config, 'refreshWaitMs' | 'refreshMinIntervalMs' | 'keyPrefix' | 'redis' | 'trustProxyHops'>;
  /** Where the refresh gate lives. */
  redis: GateRedis;
  registry: Registry;
  now: () => number;
}

/**
 * The forced recompute `refresh=true` asks for: every section (SPEC §6, §10). The refresh gate wraps
 * `start` and decides whether it runs at all; what it does is the queue's business.
 */
export function forcedRecompute(queue: RecomputeQueue, sections: readonly SectionName[]): ForcedRecompute {
  return {
    start: () => requestRecompute(queue, sections, 'refresh'),
    async pending() {
      const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
      return Object.values(counts).some((count) => count > 0);
    },
  };
}

/** The address a refresh came from, for the one log line per interval (undefined in-process). */
function requestAddress(c: Context<ApiEnv>, hops: number): string {
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  return clientAddress(incoming?.socket.remoteAddress, c.req.header('x-forwarded-for'), hops);
}

const RETRY_AFTER_S = '2';

export function warmingUp(missing: readonly SectionName[]): ApiError {
  return new ApiError(
    'warming_up',
    `No snapshot yet for ${missing.join(', ') || 'the requested sections'}; the worker publishes them shortly.`,
    { 'retry-after': RETRY_AFTER_S },
  );
}

/** One value per parameter: `limit=1&limit=2` is ambiguous, so it is refused rather than guessed. */
function single(query: Query, name: string): string | undefined {
  const values = query.values(name);
  if (values === undefined) return undefined;
  if (values.length !== 1) {
    throw new ApiError(name === 'limit' ? 'invalid_limit' : 'invalid_parameter', `${name} must be given at most once`);
  }
  return values[0];
}

/** Plain digits in range: what limitParamSchema accepts, without its per-call cost on the hot path. */
const PLAIN_LIMIT = /^[1-9][0-9]{0,2}$/;

export function parseLimit(query: Query): number {
  const raw = single(query, 'limit');
  if (raw === undefined) return DEFAULT_LIMIT;
  if (PLAIN_LIMIT.test(raw)) {
    const limit = Number(raw);
    if (limit <= MAX_LIMIT) return limit;
  }
  const parsed = limitParamSchema.safeParse(raw);
  if (!parsed.success) throw new ApiError('invalid_limit', `limit ${parsed.error.issues[0]?.message ?? 'is invalid'}`);
  return parsed.data;
}

function parseRefresh(query: Query): boolean {
  const raw = single(query, 'refresh');
  if (raw === undefined) return false;
  const parsed = refreshParamSchema.safeParse(raw);
  if (!parsed.success) throw new ApiError('invalid_parameter', 'refresh must be true or false');
  return parsed.data;
}

/**
 * The refresh gate's side of `refresh=true` (Hono only: it waits). Resolves true when the answer
 * waited for (or found finished) this interval's forced recompute.
 */
export function createDashboardRefresh(deps: RefreshDeps): (c: Context<ApiEnv>) => Promise<boolean> {
  const { replica, queue, config, now } = deps;
  const { catalog } = replica;
  const gate = createRefreshGate({
    redis: deps.redis,
    key: keysForConfig(config).refreshGate,
    minIntervalMs: config.refreshMinIntervalMs,
    waitMs: config.refreshWaitMs,
    recompute: forcedRecompute(queue, catalog.names),
    computedSince: (sinceMs) =>
      catalog.names.every((name) => (replica.get(name)?.computedAtMs ?? Number.NEGATIVE_INFINITY) >= sinceMs),
    waitFor: (predicate, timeoutMs) => replica.waitFor(predicate, timeoutMs),
    registry: deps.registry,
    now,
  });
  return async (c) => {
    const { fresh } = await gate.refresh(c.get('logger'), requestAddress(c, config.trustProxyHops));
    return fresh;
  };
}

/** A section's params, one object per (name, limit), made once: a request allocates none. */
const SECTION_PARAMS = new Map<SectionName, ReadParams[]>();
function sectionParams(name: SectionName, limit: number): ReadParams {
  let row = SECTION_PARAMS.get(name);
  if (!row) {
    row = [];
    SECTION_PARAMS.set(name, row);
  }
  let params = row[limit];
  if (!params) {
    params = Object.freeze({ limit, refresh: false, name });
    row[limit] = params;
  }
  return params;
}

/**
 * The read routes of SPEC §6 every catalog has (v2, the deprecated path, one section), for the one
 * route table; lite's is an endpoint of that section's own (section-endpoints.ts).
 */
export function dashboardReadRoutes(deps: { views: Views; cors: Cors; catalog: Catalog }): ReadRoute[] {
  const { views, cors, catalog } = deps;

  /** v2 and the deprecated path: the same body, the latter at the default limit with its two headers. */
  const dashboard = (
    params: ReadParams,
    ifNoneMatch: string | undefined,
    origin: string | undefined,
    at: number,
    fresh: boolean,
    deprecated: boolean,
  ) => {
    const prepared = views.v2(params.limit, at);
    if (!prepared) throw warmingUp(views.missing(catalog.v2));
    const corsHeaders = cors.headers(origin);
    return deprecated
      ? readAnswer(prepared.etag, ifNoneMatch, prepared, at, !fresh, DEPRECATION_HEADERS, corsHeaders)
      : readAnswer(prepared.etag, ifNoneMatch, prepared, at, !fresh, corsHeaders);
  };

  return [
    {
      pattern: PATHS.v2,
      paths: [{ path: PATHS.v2 }],
      parse(query) {
        if (query.empty) return plainParams(DEFAULT_LIMIT, false);
        const limit = parseLimit(query);
        return plainParams(limit, parseRefresh(query));
      },
      answer: (params, ifNoneMatch, origin, at, fresh) => dashboard(params, ifNoneMatch, origin, at, fresh, false),
    },
    {
      // The old view's path: the v2 body at the default limit (its clients never sent one).
      pattern: PATHS.deprecated,
      paths: [{ path: PATHS.deprecated }],
      parse: (query) => plainParams(DEFAULT_LIMIT, !query.empty && parseRefresh(query)),
      answer: (params, ifNoneMatch, origin, at, fresh) => dashboard(params, ifNoneMatch, origin, at, fresh, true),
    },
    {
      pattern: PATHS.section,
      paths: catalog.names.map((name) => ({ path: PATHS.section.replace(':name', name), name })),
      parse(query, name = '') {
        if (!catalog.has(name)) {
          throw new ApiError('unknown_section', `Unknown section ${JSON.stringify(name.slice(0, 64))}.`);
        }
        return sectionParams(name, query.empty ? DEFAULT_LIMIT : parseLimit(query));
      },
      answer(params, ifNoneMatch, origin, at) {
        const name = params.name as SectionName;
        const prepared = views.section(name, params.limit, at);
        if (!prepared) throw warmingUp([name]);
        return readAnswer(prepared.etag, ifNoneMatch, prepared.body, at, true, cors.headers(origin));
      },
    },
  ];
}

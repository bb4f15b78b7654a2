import type { IncomingMessage } from 'node:http';
import { type RecomputeQueue, requestRecompute } from '@snapboard/queue';
import { ApiError, type Config, DEFAULT_LIMIT, keysForConfig, PATHS, type SectionName } from '@snapboard/shared';
import type { Context } from 'hono';
import type { Registry } from 'prom-client';
import { clientAddress } from '../client-address.ts';
import type { Cors } from '../cors.ts';
import type { ApiEnv } from '../env.ts';
import { DEPRECATION_HEADERS, type ReadAnswer, readAnswer } from '../http-answers.ts';
import type { Views } from '../prepared-answers.ts';
import { createRefreshGate, type ForcedRecompute, type GateRedis } from '../refresh-gate.ts';
import type { RouteTable } from '../router.ts';
import { limitParamSchema, refreshParamSchema } from '../schemas.ts';
import type { SnapshotReplica } from '../snapshot-replica.ts';

/**
 * The public read endpoints (SPEC §6). Bodies come prepared from prepared-answers.ts; the fast path answers the
 * plain GETs of v2, lite and the deprecated path before Hono sees them and must match these
 * handlers byte for byte (test/fast-path.test.ts).
 */

export interface DashboardDeps {
  views: Views;
  cors: Cors;
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
function single(c: Context<ApiEnv>, name: string): string | undefined {
  const values = c.req.queries(name);
  if (values === undefined) return undefined;
  if (values.length !== 1) {
    throw new ApiError(name === 'limit' ? 'invalid_limit' : 'invalid_parameter', `${name} must be given at most once`);
  }
  return values[0];
}

export function parseLimit(c: Context<ApiEnv>): number {
  const raw = single(c, 'limit');
  if (raw === undefined) return DEFAULT_LIMIT;
  const parsed = limitParamSchema.safeParse(raw);
  if (!parsed.success) throw new ApiError('invalid_limit', `limit ${parsed.error.issues[0]?.message ?? 'is invalid'}`);
  return parsed.data;
}

function parseRefresh(c: Context<ApiEnv>): boolean {
  const raw = single(c, 'refresh');
  if (raw === undefined) return false;
  const parsed = refreshParamSchema.safeParse(raw);
  if (!parsed.success) throw new ApiError('invalid_parameter', 'refresh must be true or false');
  return parsed.data;
}

const respond = (answer: ReadAnswer) =>
  new Response(answer.body as Uint8Array<ArrayBuffer> | null, { status: answer.status, headers: answer.headers });

export function registerDashboardRoutes(routes: RouteTable, deps: DashboardDeps): void {
  const { views, cors, replica, queue, config, now } = deps;
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

  /** refresh=true: true when the answer waited for (or found finished) this interval's forced recompute. */
  async function refresh(c: Context<ApiEnv>): Promise<boolean> {
    const { fresh } = await gate.refresh(c.get('logger'), requestAddress(c, config.trustProxyHops));
    return fresh;
  }

  /** A prepared body with its ETag: 304 when the client holds it, CORS headers as configured. */
  function answerPrepared(c: Context<ApiEnv>, prepared: { etag: string; body: Buffer }): Response {
    return respond(
      readAnswer(
        prepared.etag,
        c.req.header('if-none-match'),
        () => prepared.body,
        cors.headers(c.req.header('origin')),
      ),
    );
  }

  async function dashboard(c: Context<ApiEnv>, limit: number, deprecated: boolean): Promise<Response> {
    const fresh = parseRefresh(c) ? await refresh(c) : false;
    const at = now();
    const prepared = views.v2(limit, at);
    if (!prepared) throw warmingUp(views.missing(catalog.v2));
    const extra = deprecated ? [DEPRECATION_HEADERS] : [];
    return respond(
      readAnswer(
        prepared.etag,
        c.req.header('if-none-match'),
        () => prepared.render(at, !fresh),
        ...extra,
        cors.headers(c.req.header('origin')),
      ),
    );
  }

  routes.on('GET', PATHS.v2, { cors: true }, (c) => dashboard(c, parseLimit(c), false));

  // The old view's path: the v2 body at the default limit (its clients never sent one).
  routes.on('GET', PATHS.deprecated, { cors: true }, (c) => dashboard(c, DEFAULT_LIMIT, true));

  routes.on('GET', PATHS.lite, { cors: true }, (c) => {
    const prepared = views.lite();
    if (!prepared) throw warmingUp(['lite']);
    return answerPrepared(c, prepared);
  });

  routes.on('GET', PATHS.section, { cors: true }, (c) => {
    const name = c.req.param('name') ?? '';
    if (!catalog.has(name)) {
      throw new ApiError('unknown_section', `Unknown section ${JSON.stringify(name.slice(0, 64))}.`);
    }
    const limit = parseLimit(c);
    const prepared = views.section(name, limit, now());
    if (!prepared) throw warmingUp([name]);
    return answerPrepared(c, prepared);
  });
}

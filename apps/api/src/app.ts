import type { RecomputeQueue } from '@snapboard/queue';
import type { RedisClient } from '@snapboard/redis';
import { ApiError, type Config, checkTtls, type ErrorCode, keysForConfig, PATHS } from '@snapboard/shared';
import { type Context, Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { createOpsAuth } from './auth.ts';
import { createCors } from './cors.ts';
import { createEndpointAnswers, type EndpointAnswers } from './endpoint-answers.ts';
import type { ApiEnv } from './env.ts';
import { JSON_TYPE } from './http-answers.ts';
import { createApiMetrics, type HttpMetrics } from './metrics.ts';
import { buildOpenApiDocument } from './openapi.ts';
import { createViews, type Views } from './prepared-answers.ts';
import { type ReadRoute, registerReadRoutes } from './read-routes.ts';
import { createRequestFinish, type RequestFinish, requestId } from './request-log.ts';
import { routeTable } from './router.ts';
import { createDashboardRefresh, dashboardReadRoutes } from './routes/dashboard.ts';
import { registerHealthRoutes } from './routes/health.ts';
import { mountQueueBoard, registerOpsRoutes } from './routes/ops.ts';
import { registerPaperTradingWrites } from './routes/paper-trading.ts';
import { sectionEndpointRoutes } from './routes/section-endpoints.ts';
import { catalogSchemas } from './schemas.ts';
import type { SnapshotReplica } from './snapshot-replica.ts';

/**
 * The HTTP app: reads snapshots from the in-memory replica, queues recomputes, never touches the
 * database. Everything it needs is passed in, so tests build one per file with their own Redis prefix
 * and call `app.request()`. server.ts puts the fast path (fast-path.ts) in front of it.
 */

export interface AppDeps {
  replica: SnapshotReplica;
  queue: RecomputeQueue;
  config: Config;
  logger: Logger;
  /** The Prometheus registry /metrics serves; the WebSocket server registers in it too. */
  registry: Registry;
  /** Where the worker keeps its counters (read at scrape time) and the refresh gate lives (SPEC §13). */
  redis: RedisClient;
  /** The dashboard page (`GET /` and its assets), mounted at `/` when given. */
  page?: Hono<ApiEnv>;
  now?: () => number;
  /** What /metrics answers; `registry.metrics()` by default (cluster.ts gathers every process's). */
  scrape?: () => Promise<string>;
}

export interface App {
  hono: Hono<ApiEnv>;
  /** Shorthand for `hono.request`, for in-process tests. */
  request: Hono<ApiEnv>['request'];
  fetch: Hono<ApiEnv>['fetch'];
  /** Shared with the fast path so both serve the same prepared bytes and count the same metrics. */
  views: Views;
  /** The sections' own endpoints (lite's, SPEC §11's), likewise shared with the fast path. */
  endpoints: EndpointAnswers;
  /** The one read-route table (read-routes.ts): the Hono routes are registered from it, the fast path runs it. */
  reads: readonly ReadRoute[];
  /** Metrics and the request log of one answered request, for the Hono app and the fast path alike. */
  finish: RequestFinish;
  metrics: HttpMetrics;
  close(): void;
}

export function createApp(deps: AppDeps): App {
  const { replica, queue, config, logger, registry } = deps;
  // The sections served are the replica's: every list, schema and document below derives from them.
  const { catalog } = replica;
  checkTtls(config, catalog.names);
  const now = deps.now ?? Date.now;
  const cors = createCors(config);
  const views = createViews({ replica, config });
  const endpoints = createEndpointAnswers({ replica });
  const metrics = createApiMetrics({ registry, replica, redis: deps.redis, keys: keysForConfig(config), now });
  const auth = createOpsAuth(config.opsToken);
  const schemas = catalogSchemas(catalog);
  const openapi = JSON.stringify(buildOpenApiDocument(catalog, schemas));

  const app = new Hono<ApiEnv>({ strict: false });
  const routes = routeTable(app, cors);

  const finish = createRequestFinish(metrics, logger);

  app.use(async (c, next) => {
    const started = performance.now();
    const id = requestId(c.req.header('x-request-id'));
    c.set('requestId', id);
    c.set('logger', logger.child({ req_id: id }));
    await next();
    const status = c.res.status;
    const route = c.get('route') ?? (status === 404 ? 'unmatched' : 'other');
    finish(c.req.method, route, c.req.url, status, started, id);
  });

  const reads = [
    ...dashboardReadRoutes({ views, cors, catalog }),
    ...sectionEndpointRoutes({ catalog, answers: endpoints, cors }),
  ];
  registerReadRoutes(routes, reads, {
    refresh: createDashboardRefresh({ replica, queue, config, redis: deps.redis, registry, now }),
    now,
  });
  registerPaperTradingWrites(routes);
  registerOpsRoutes(routes, { queue, auth, now, catalog, schemas });
  registerHealthRoutes(routes, { replica, registry, now, scrape: deps.scrape });
  routes.on('GET', PATHS.openapi, { cors: true }, (c) => {
    const headers: Record<string, string> = { 'content-type': JSON_TYPE, 'cache-control': 'no-cache' };
    for (const [name, value] of cors.headers(c.req.header('origin'))) headers[name] = value;
    return c.body(openapi, 200, headers);
  });
  routes.finish();
  mountQueueBoard(app, { queue, auth });
  if (deps.page) app.route('/', deps.page);

  const isCorsPath = (c: Context<ApiEnv>) => routes.corsPatterns.has(c.get('route') ?? '');

  app.notFound((c) => {
    c.set('route', 'unmatched');
    return c.json(new ApiError('not_found', 'No such endpoint.').toBody(), 404);
  });

  app.onError((err, c) => {
    const apiError = toApiError(err);
    // An ApiError is an answer the code chose (warming_up included); anything else is a bug.
    if (!(err instanceof ApiError) && apiError.status >= 500) {
      c.get('logger')?.error({ err }, 'unhandled error');
    }
    const headers: Record<string, string> = { ...apiError.headers };
    if (isCorsPath(c)) for (const [name, value] of cors.headers(c.req.header('origin'))) headers[name] = value;
    return c.json(apiError.toBody(), apiError.status, headers);
  });

  return {
    hono: app,
    request: app.request.bind(app),
    fetch: app.fetch.bind(app),
    views,
    endpoints,
    reads,
    finish,
    metrics,
    close: () => {
      views.stop();
      endpoints.stop();
    },
  };
}

const CODE_BY_STATUS: Partial<Record<number, ErrorCode>> = {
  400: 'invalid_parameter',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  429: 'too_many_requests',
  431: 'headers_too_large',
};

/** Every failure becomes one envelope; only what is not a client's fault is a 5xx. */
function toApiError(err: Error): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof HTTPException && err.status < 500) {
    return new ApiError(CODE_BY_STATUS[err.status] ?? 'invalid_parameter', err.message || 'Bad request.');
  }
  return new ApiError('internal_error', 'Internal error.');
}

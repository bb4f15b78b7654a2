import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { HonoAdapter } from '@bull-board/hono';
import { serveStatic } from '@hono/node-server/serve-static';
import { type RecomputeQueue, requestRecompute } from '@snapboard/queue';
import { ApiError, type Catalog, PATHS, type SectionName } from '@snapboard/shared';
import type { Context, Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { OpsAuth } from '../auth.ts';
import type { ApiEnv } from '../env.ts';
import type { RouteTable } from '../router.ts';
import type { CatalogSchemas } from '../schemas.ts';

/**
 * Ops: force recomputes (the old "clear cache" is one of them: snapshots are never deleted) and the
 * Bull Board UI, all behind OPS_TOKEN. Requests coalesce in the queue (one waiting job per section),
 * so a storm of calls costs the database nothing extra.
 */

export interface OpsDeps {
  queue: RecomputeQueue;
  auth: OpsAuth;
  now: () => number;
  /** The sections "all" means, and the body schema naming them. */
  catalog: Catalog;
  schemas: Pick<CatalogSchemas, 'recomputeBodySchema'>;
}

const MAX_BODY_BYTES = 16 * 1024;
/** A queue that does not answer in this time is reported as unavailable rather than awaited. */
const QUEUE_TIMEOUT_MS = 3000;

const limitBody = bodyLimit({
  maxSize: MAX_BODY_BYTES,
  onError: () => {
    throw new ApiError('payload_too_large', `The body must be at most ${MAX_BODY_BYTES} bytes.`);
  },
});

async function requestedSections(c: Context<ApiEnv>, deps: OpsDeps): Promise<SectionName[]> {
  const text = await c.req.text();
  if (text.trim() === '') return [...deps.catalog.names];
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ApiError('invalid_body', 'The body must be JSON such as {"sections":["overview"]}, or empty for all.');
  }
  const parsed = deps.schemas.recomputeBodySchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? `${issue.path.join('.')}: ` : '';
    throw new ApiError('invalid_body', `${where}${issue?.message ?? 'invalid body'}`.slice(0, 300));
  }
  return parsed.data.sections ?? [...deps.catalog.names];
}

export function registerOpsRoutes(routes: RouteTable, deps: OpsDeps): void {
  const { queue, auth, now } = deps;

  const recompute = (what: (count: number) => string) => async (c: Context<ApiEnv>) => {
    const sections = await requestedSections(c, deps);
    let timer: NodeJS.Timeout | undefined;
    const jobs = await Promise.race([
      requestRecompute(queue, sections, 'manual'),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('timed out')), QUEUE_TIMEOUT_MS);
      }),
    ])
      .catch((error: Error) => {
        c.get('logger').warn({ err: error.message }, 'ops: the recompute queue is unavailable');
        throw new ApiError('queue_unavailable', 'The recompute queue (Redis) is unavailable; try again shortly.', {
          'retry-after': '5',
        });
      })
      .finally(() => clearTimeout(timer));
    c.get('logger').info({ sections: jobs.map((j) => j.section) }, 'ops: recompute queued');
    c.header('cache-control', 'no-store');
    return c.json({ success: true, message: what(jobs.length), jobs, timestamp: new Date(now()).toISOString() }, 202);
  };

  routes.on(
    'POST',
    PATHS.clearCache,
    {},
    auth.requireToken,
    limitBody,
    recompute((n) => `Dashboard cache cleared: recompute queued for ${n} section${n === 1 ? '' : 's'}.`),
  );
  routes.on(
    'POST',
    PATHS.recompute,
    {},
    auth.requireToken,
    limitBody,
    recompute((n) => `Recompute queued for ${n} section${n === 1 ? '' : 's'}.`),
  );
}

/** Bull Board under PATHS.queues, behind the same token (see auth.ts for the browser cookie). */
export function mountQueueBoard(app: Hono<ApiEnv>, deps: { queue: RecomputeQueue; auth: OpsAuth }): void {
  const adapter = new HonoAdapter(serveStatic).setBasePath(PATHS.queues);
  // @bull-board/hono pins its own copy of @bull-board/api's types; the runtime contract is the same.
  type ServerAdapter = Parameters<typeof createBullBoard>[0]['serverAdapter'];
  createBullBoard({
    queues: [new BullMQAdapter(deps.queue, { readOnlyMode: false })],
    serverAdapter: adapter as unknown as ServerAdapter,
  });
  const guard = deps.auth.requireUi(PATHS.queues);
  app.use(PATHS.queues, guard);
  app.use(`${PATHS.queues}/*`, guard);
  app.use(PATHS.queues, async (c, next) => {
    c.set('route', `${PATHS.queues}/*`);
    await next();
  });
  app.use(`${PATHS.queues}/*`, async (c, next) => {
    c.set('route', `${PATHS.queues}/*`);
    await next();
  });
  app.route(PATHS.queues, adapter.registerPlugin() as unknown as Hono<ApiEnv>);
}

import { randomBytes } from 'node:crypto';
import type { Level, Logger } from 'pino';
import type { HttpMetrics } from './metrics.ts';

/**
 * One log line per request: id, method, route, status, duration. Successful reads are the bulk of the
 * traffic, so they log at `debug` and cost one level check when that is off (LOG_LEVEL=info, the
 * default); ops calls and client errors log at `info`, 503s (a state, reported on purpose) at `warn`,
 * other server errors at `error`.
 */

const BOOT = randomBytes(3).toString('hex');
let counter = 0;

/** The caller's X-Request-Id when it is a sane token, else a process-unique one. */
export function requestId(incoming: string | undefined): string {
  if (incoming && incoming.length <= 64 && /^[A-Za-z0-9._:-]+$/.test(incoming)) return incoming;
  counter = (counter + 1) % Number.MAX_SAFE_INTEGER;
  return `${BOOT}-${counter.toString(36)}`;
}

export function requestLogLevel(method: string, status: number): Level {
  // A 503 is a state the API reports on purpose (warming up, not ready, queue unreachable), answered
  // to every poll and probe while it lasts: worth seeing, not an error of the API's own.
  if (status === 503) return 'warn';
  if (status >= 500) return 'error';
  if (status >= 400) return 'info';
  return method === 'GET' || method === 'HEAD' || method === 'OPTIONS' ? 'debug' : 'info';
}

/** The path of an absolute URL or a request target, without its query (which may carry a token). */
export function pathOf(url: string): string {
  const start = url.charCodeAt(0) === 47 ? 0 : url.indexOf('/', url.indexOf('//') + 2);
  if (start === -1) return '/';
  const query = url.indexOf('?', start);
  return query === -1 ? url.slice(start) : url.slice(start, query);
}

export interface RequestLine {
  id: string;
  method: string;
  route: string;
  /** The path only: a query string may carry the ops token (`/ops/queues?token=`). */
  path: string;
  status: number;
  ms: number;
}

export function logRequest(logger: Logger, level: Level, line: RequestLine): void {
  logger[level](
    {
      req_id: line.id,
      method: line.method.slice(0, 16),
      route: line.route,
      path: line.path.slice(0, 200),
      status: line.status,
      ms: Math.round(line.ms * 1000) / 1000,
    },
    'request',
  );
}

/**
 * The end of every answered request, the Hono app's and the fast path's alike: one observation in
 * the latency histogram and, when its level is on, one log line. `started` is `performance.now()` at
 * arrival; `target` the URL or request target (only its path is logged). `id` is the request's id when
 * one was made already; otherwise one is made from `idHeader` (X-Request-Id) only if the line is written.
 */
export type RequestFinish = (
  method: string,
  route: string,
  target: string,
  status: number,
  started: number,
  id: string | undefined,
  idHeader?: string,
) => void;

export function createRequestFinish(metrics: HttpMetrics, logger: Logger): RequestFinish {
  return (method, route, target, status, started, id, idHeader) => {
    const seconds = (performance.now() - started) / 1000;
    metrics.observe(method, route, status, seconds);
    const level = requestLogLevel(method, status);
    if (!logger.isLevelEnabled(level)) return;
    logRequest(logger, level, {
      id: id ?? requestId(idHeader),
      method,
      route,
      path: pathOf(target),
      status,
      ms: seconds * 1000,
    });
  };
}

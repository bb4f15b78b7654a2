import { createServer, type Server, STATUS_CODES } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getRequestListener, RequestError } from '@hono/node-server';
import { createRecomputeQueue } from '@snapboard/queue';
import { closeRedisClient, createRedisClient, throttledErrors } from '@snapboard/redis';
import { ApiError, CATALOG, type Catalog, type Config, checkTtls, keysForConfig } from '@snapboard/shared';
import type { Logger } from 'pino';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { type App, createApp } from './app.ts';
import { createFastPath } from './fast-path.ts';
import { createPageRoutes } from './routes/page.ts';
import { createSnapshotReplica, type SnapshotReplica } from './snapshot-replica.ts';
import type { ConnectionGate } from './ws/admission.ts';
import { attachWebSocketServer, type WsServer } from './ws/server.ts';

/**
 * The API process minus signal handling: Redis connections, replica, queue, the app behind the fast
 * path on one node:http server (which also carries the WebSocket endpoint), bound to
 * config.host:config.port. `close()` undoes all of it in order.
 */

export interface StartOptions {
  config: Config;
  logger: Logger;
  /** The sections served (the product's catalog by default); `config` must be loaded with the same. */
  catalog?: Catalog;
  /** Serve the read routes' GETs from prepared buffers before Hono (default true; tests compare both). */
  fastPath?: boolean;
  /** Mount the dashboard page at `/` (default true; it builds its bundle in memory at start). */
  page?: boolean;
  /** Attach the WebSocket endpoint (default true). */
  websocket?: boolean;
  now?: () => number;
  /** How often the replica re-reads every snapshot as a safety net (ms). */
  resyncIntervalMs?: number;
  /** Who counts WebSocket connections: this process by default, the primary under API_PROCESSES. */
  gate?: ConnectionGate;
  /** What /metrics answers: this process's registry by default, every process's under API_PROCESSES. */
  scrape?: () => Promise<string>;
}

export interface RunningApi {
  url: string;
  server: Server;
  app: App;
  replica: SnapshotReplica;
  registry: Registry;
  ws: WsServer | undefined;
  /** Requests the fast path answered (0 when it is off). */
  fastPathServed(): number;
  close(): Promise<void>;
}

/** Connections close when idle; busy ones get this long to finish before they are cut. */
const DRAIN_MS = 5000;

export async function startApi(options: StartOptions): Promise<RunningApi> {
  const { config, logger } = options;
  // Before any connection is made: createApp checks the same, after the replica has started.
  checkTtls(config, (options.catalog ?? CATALOG).names);
  const keys = keysForConfig(config);
  const now = options.now ?? Date.now;

  // Commands fail fast while Redis is away (the replica keeps serving what it has); the subscriber
  // queues its SUBSCRIBE until connected and re-subscribes by itself after a reconnect.
  const redis = createRedisClient(config.redis, {
    name: 'snapboard-api',
    maxRetriesPerRequest: 1,
    offlineQueue: false,
  });
  const subscriber = createRedisClient(config.redis, {
    name: 'snapboard-api-sub',
    maxRetriesPerRequest: null,
    subscriber: true,
  });
  // The queue only adds jobs (a producer): it fails fast too (BullMQ's production guide).
  const queueConnection = createRedisClient(config.redis, {
    name: 'snapboard-api-queue',
    maxRetriesPerRequest: 1,
    offlineQueue: false,
  });
  // Every reconnect attempt fails the same way while Redis is down: one line per kind and 10 s.
  const redisErrors = throttledErrors(logger);
  const onRedisError = (error: Error) => redisErrors('redis connection error; serving the last snapshots', error);
  redis.on('error', onRedisError);
  subscriber.on('error', onRedisError);
  queueConnection.on('error', onRedisError);

  const queue = createRecomputeQueue(queueConnection, keys);
  queue.on('error', onRedisError);

  const replica = createSnapshotReplica({
    redis,
    subscriber,
    keys,
    logger,
    catalog: options.catalog,
    resyncIntervalMs: options.resyncIntervalMs,
  });
  await replica.start();

  /** The replica, the queue and the Redis connections, in the order they must go. */
  const closeConnections = async () => {
    await replica.stop();
    await queue.close().catch(() => {});
    // BullMQ leaves a connection it was given open: it is ours to close.
    await closeRedisClient(queueConnection);
    redis.disconnect();
    subscriber.disconnect();
  };

  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  let app: App;
  try {
    app = createApp({
      replica,
      queue,
      config,
      logger,
      registry,
      redis,
      now,
      page: options.page === false ? undefined : createPageRoutes({ replica }),
      scrape: options.scrape,
    });
  } catch (error) {
    // A catalog the app refuses (a route declared twice…) must not leave the process held open by
    // the connections made above.
    await closeConnections();
    throw error;
  }

  const honoListener = getRequestListener(app.fetch, {
    hostname: config.host,
    // A request node-server cannot even turn into a Request (bad Host, bad URL) is the client's fault.
    errorHandler: (error) => {
      const apiError =
        error instanceof RequestError
          ? new ApiError('malformed_request', 'Malformed request (URL or Host).')
          : new ApiError('internal_error', 'Internal error.');
      if (apiError.status >= 500) logger.error({ err: error }, 'request failed outside the app');
      return Response.json(apiError.toBody(), { status: apiError.status });
    },
  });
  const fast = options.fastPath === false ? undefined : createFastPath({ reads: app.reads, finish: app.finish, now });
  const answerFast = fast?.handle;
  const server = createServer(
    answerFast
      ? (req, res) => {
          if (!answerFast(req, res)) void honoListener(req, res);
        }
      : (req, res) => void honoListener(req, res),
  );
  server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
    // What node:http does by default (answer unless a response already started, then close), with
    // the envelope: requests it cannot parse (bad method, framing, oversized headers) get a JSON error.
    const inFlight = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (error.code === 'ECONNRESET' || !socket.writable || inFlight?.headersSent) return socket.destroy();
    const problem =
      error.code === 'HPE_HEADER_OVERFLOW'
        ? new ApiError('headers_too_large', 'Request headers too large.')
        : error.code === 'HPE_CHUNK_EXTENSIONS_OVERFLOW'
          ? new ApiError('payload_too_large', 'Chunk extensions too large.')
          : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
            ? new ApiError('request_timeout', 'The request took too long to arrive.')
            : new ApiError('malformed_request', 'Malformed HTTP request.');
    const body = JSON.stringify(problem.toBody());
    socket.end(
      `HTTP/1.1 ${problem.status} ${STATUS_CODES[problem.status]}\r\nconnection: close\r\n` +
        `content-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      () => socket.destroy(),
    );
  });
  const ws =
    options.websocket === false
      ? undefined
      : attachWebSocketServer({ server, replica, config, logger, registry, gate: options.gate });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const cut = setTimeout(() => server.closeAllConnections(), DRAIN_MS);
      cut.unref();
      await ws?.close();
      await closed;
      clearTimeout(cut);
      app.close();
      await closeConnections();
    })();
    return closing;
  };

  return { url, server, app, replica, registry, ws, fastPathServed: () => fast?.served ?? 0, close };
}

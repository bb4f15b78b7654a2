import { type IncomingMessage, type Server, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import {
  type Config,
  type ErrorBody,
  type ErrorCode,
  MAX_FRAME_BYTES,
  type SectionName,
  WS_CLOSE,
  WS_PATH,
  type WsErrorCode,
} from '@snapboard/shared';
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import { type RawData, WebSocket, WebSocketServer } from 'ws';
import { clientAddress } from '../client-address.ts';
import type { SnapshotReplica } from '../snapshot-replica.ts';
import { type Admission, type ConnectionGate, createConnectionLedger } from './admission.ts';
import { createFanout, DEFAULT_ROUND_SLICE, Subscriber } from './fanout.ts';
import { type CommandLimits, ConnectionLimiter, type LimitKind } from './limits.ts';
import { createWsMetrics, type DisconnectReason, type RejectReason, type WsTally } from './metrics.ts';
import { type ClientRequest, parseClientFrame } from './protocol.ts';

/**
 * The `/ws` endpoint of SPEC §7 on the API's own http.Server (ws in noServer mode on 'upgrade').
 * Upgrade gatekeeping (path, origin, connection limits) and connection lifecycle (messages,
 * error budget, heartbeats, shutdown) live here; who gets which snapshot lives in fanout.ts.
 */

export interface WsLimits {
  /** Larger client frames close the connection with 1009. */
  maxPayloadBytes: number;
  /** Unsent bytes above which a subscriber is behind and skips to the newest version. */
  softBufferBytes: number;
  /** Unsent bytes above which a subscriber is closed with 1013. */
  hardBufferBytes: number;
  /** Behind (without draining) for longer than this: closed with 1013. */
  hardBehindMs: number;
  /** Interval of server pings; a peer that has not answered the previous one is dropped. */
  heartbeatMs: number;
  /** More than `errorBurst` error frames within `errorWindowMs` closes the connection with 1008. */
  errorBurst: number;
  errorWindowMs: number;
  /** How long a closing handshake may take before the socket is destroyed. */
  closeGraceMs: number;
  /** At most one `rate_limited` error frame per this many ms (SPEC §13). */
  rateLimitNoticeMs: number;
  /** Over a command limit continuously for this long: closed with 1008 (SPEC §13). */
  rateLimitCloseMs: number;
  /** Subscribers a fan-out round writes before it lets other work in (fanout.ts). */
  roundSlice: number;
}

export const DEFAULT_WS_LIMITS: WsLimits = {
  maxPayloadBytes: MAX_FRAME_BYTES,
  softBufferBytes: 256 * 1024,
  hardBufferBytes: 1024 * 1024,
  hardBehindMs: 10_000,
  heartbeatMs: 30_000,
  errorBurst: 20,
  errorWindowMs: 10_000,
  closeGraceMs: 5_000,
  rateLimitNoticeMs: 1_000,
  rateLimitCloseMs: 10_000,
  roundSlice: DEFAULT_ROUND_SLICE,
};

export interface WsServerOptions {
  server: Server;
  replica: SnapshotReplica;
  config: Pick<
    Config,
    | 'corsOrigins'
    | 'wsMaxConnections'
    | 'wsMaxConnectionsPerIp'
    | 'trustProxyHops'
    | 'wsCommandsPerSecond'
    | 'wsAnswerBytesPerSecond'
  >;
  logger: Logger;
  /** The API's registry, so /metrics shows the WebSocket figures; a private one when absent. */
  registry?: Registry;
  limits?: Partial<WsLimits>;
  /**
   * Who counts connections against WS_MAX_CONNECTIONS(_PER_IP): this process by default; the
   * node:cluster primary when several API processes share the port (cluster.ts).
   */
  gate?: ConnectionGate;
}

export interface WsServerStats extends WsTally {
  connections: number;
  subscriptions: Record<SectionName, number>;
  /** Bytes written but not yet taken by the kernel, summed over sockets, now. */
  bufferedBytes: number;
  /** The most any one socket has held unsent, right after a write. */
  peakBufferedBytes: number;
}

export interface WsServer {
  /** Stop accepting, close every socket with `code` (default 1001) after what it was sent, then resolve. */
  close(code?: number): Promise<void>;
  stats(): WsServerStats;
}

export function attachWebSocketServer(options: WsServerOptions): WsServer {
  const { server, replica, config, logger } = options;
  const limits: WsLimits = { ...DEFAULT_WS_LIMITS, ...options.limits };
  const registry = options.registry ?? new Registry();
  const commandLimits: CommandLimits = {
    commandsPerSecond: config.wsCommandsPerSecond,
    answerBytesPerSecond: config.wsAnswerBytesPerSecond,
    noticeIntervalMs: limits.rateLimitNoticeMs,
    abuseCloseMs: limits.rateLimitCloseMs,
  };
  const clients = new Set<Subscriber>();
  // Upgrades accepted and not yet closed are counted, handshakes included.
  const gate =
    options.gate ?? createConnectionLedger({ total: config.wsMaxConnections, perIp: config.wsMaxConnectionsPerIp });
  let nextId = 0;
  let closing: Promise<void> | undefined;

  const { catalog } = replica;
  const metrics = createWsMetrics(registry, {
    sections: catalog.names,
    connections: () => clients.size,
    subscriptions: (section) => fanout.subscriptions(section),
  });
  const fanout = createFanout({
    replica,
    metrics,
    limits,
    onTooSlow(sub, why) {
      logger.info({ ws: sub.id, why, buffered: sub.ws.bufferedAmount }, 'ws slow reader closed');
      disconnect(sub, WS_CLOSE.tryAgainLater, 'slow reader', 'slow_reader');
    },
  });
  const wss = new WebSocketServer({
    noServer: true,
    clientTracking: false,
    perMessageDeflate: false,
    maxPayload: limits.maxPayloadBytes,
  });

  function disconnect(sub: Subscriber, code: number, reason: string, why: DisconnectReason): void {
    if (sub.closing) return;
    metrics.disconnected(why);
    sub.closing = true;
    sub.ws.close(code, reason);
    // A peer that never answers the close frame (or never reads up to it) is cut off, freeing its buffer.
    sub.killTimer = setTimeout(() => sub.ws.terminate(), limits.closeGraceMs);
    sub.killTimer.unref();
  }

  function reject(
    socket: Duplex,
    status: number,
    code: ErrorCode,
    message: string,
    why: RejectReason,
    headers = '',
  ): void {
    metrics.rejected(why);
    const body = JSON.stringify({ error: { code, message } } satisfies ErrorBody);
    socket.once('finish', () => socket.destroy());
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\n${headers}\r\n${body}`,
    );
  }

  /**
   * Browsers always send Origin on a WebSocket handshake; other clients usually send none and cannot
   * be told apart by it anyway. So: no Origin → allowed; same host as the request → allowed (the
   * dashboard page); else only an origin listed in CORS_ORIGINS (or `*`). See decision 0004.
   */
  function originAllowed(req: IncomingMessage): boolean {
    const origin = req.headers.origin;
    if (origin === undefined) return true;
    if (config.corsOrigins.includes('*') || config.corsOrigins.includes(origin)) return true;
    try {
      return new URL(origin).host.toLowerCase() === (req.headers.host ?? '').toLowerCase();
    } catch {
      return false;
    }
  }

  function onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', (error) => logger.debug({ err: error.message }, 'ws socket error'));
    const path = (req.url ?? '').split('?', 1)[0];
    if (path !== WS_PATH && path !== `${WS_PATH}/`) {
      reject(socket, 404, 'not_found', 'no WebSocket endpoint here; use /ws', 'not_found');
      return;
    }
    if (closing) {
      reject(socket, 503, 'not_ready', 'server is shutting down', 'shutting_down', 'Retry-After: 1\r\n');
      return;
    }
    if (!originAllowed(req)) {
      reject(socket, 403, 'forbidden', 'origin not allowed', 'origin');
      return;
    }
    const ip = clientAddress(req.socket.remoteAddress, req.headers['x-forwarded-for'], config.trustProxyHops);
    const verdict = gate.admit(ip);
    if (typeof verdict === 'string') admitted(req, socket, head, ip, verdict);
    else
      verdict.then(
        (answer) => admitted(req, socket, head, ip, answer),
        // The primary did not answer (it is restarting us or shutting down): not now.
        () => admitted(req, socket, head, ip, 'total_limit'),
      );
  }

  function admitted(req: IncomingMessage, socket: Duplex, head: Buffer, ip: string, verdict: Admission): void {
    if (verdict === 'total_limit') {
      reject(socket, 503, 'not_ready', 'too many WebSocket connections', 'total_limit', 'Retry-After: 5\r\n');
      return;
    }
    if (verdict === 'per_ip_limit') {
      reject(
        socket,
        429,
        'too_many_requests',
        'too many connections from this address',
        'per_ip_limit',
        'Retry-After: 5\r\n',
      );
      return;
    }
    // Counted from now until the TCP socket closes (the gate may have answered after it did).
    if (socket.destroyed || closing) {
      gate.release(ip);
      if (!socket.destroyed) {
        reject(socket, 503, 'not_ready', 'server is shutting down', 'shutting_down', 'Retry-After: 1\r\n');
      }
      return;
    }
    socket.once('close', () => gate.release(ip));
    wss.handleUpgrade(req, socket, head, (ws) => onConnection(ws, socket, ip));
  }

  function onConnection(ws: WebSocket, socket: Duplex, ip: string): void {
    const sub = new Subscriber(++nextId, ws, socket, ip);
    const openedAt = Date.now();
    const errorTimes: number[] = [];
    const limiter = new ConnectionLimiter(commandLimits, openedAt);
    let alive = true;
    clients.add(sub);

    ws.on('message', (data, isBinary) => {
      alive = true;
      onMessage(sub, toBuffer(data), isBinary, errorTimes, limiter);
    });
    ws.on('pong', () => {
      alive = true;
    });
    ws.on('error', (error: Error & { code?: string }) => {
      // ws closes the socket itself (1009 for oversize frames, 1002/1007 for protocol errors).
      if (error.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') metrics.disconnected('too_big');
      logger.debug({ ws: sub.id, err: error.message }, 'ws protocol error');
    });
    ws.on('close', (code) => {
      clearTimeout(sub.killTimer);
      clients.delete(sub);
      fanout.remove(sub);
      logger.info(
        { ws: sub.id, ip, ms: Date.now() - openedAt, code, updates: sub.updatesSent, skips: sub.skips },
        'ws closed',
      );
    });
    socket.on('drain', () => fanout.flush(sub, Date.now()));
    heartbeats.set(sub, () => {
      if (sub.closing) return;
      if (!alive) {
        metrics.disconnected('dead_peer');
        ws.terminate();
        return;
      }
      alive = false;
      ws.ping();
    });
    ws.once('close', () => heartbeats.delete(sub));

    fanout.send(sub, { type: 'welcome', sections: [...catalog.names], server_time: new Date().toISOString() });
  }

  function onMessage(
    sub: Subscriber,
    data: Buffer,
    isBinary: boolean,
    errorTimes: number[],
    limiter: ConnectionLimiter,
  ): void {
    if (!sub.open) return;
    const now = Date.now();
    if (!limiter.admitCommand(now)) {
      overLimit(sub, limiter, 'commands', now);
      return;
    }
    const parsed = parseClientFrame(data, isBinary, catalog);
    if (!parsed.ok) {
      sendError(sub, parsed.code, parsed.message, errorTimes);
      return;
    }
    const request = parsed.request;
    if (!limiter.admitAnswer(fanout.answerSize(request), now)) {
      overLimit(sub, limiter, 'bytes', now);
      return;
    }
    const before = sub.bytesWritten;
    handle(sub, request);
    const answered = sub.bytesWritten - before;
    limiter.charge(answered);
    metrics.answered(answered);
  }

  /**
   * A command over a limit is dropped. The client is told at most once per rateLimitNoticeMs, outside
   * the error budget (decision 0004's flood rule would otherwise close it before rateLimitCloseMs), and
   * the log names its address once per episode, not per frame.
   */
  function overLimit(sub: Subscriber, limiter: ConnectionLimiter, limit: LimitKind, now: number): void {
    metrics.commandRejected(limit);
    const drop = limiter.dropped(now);
    if (drop.episodeStarted) {
      logger.warn({ ws: sub.id, ip: sub.ip, limit }, 'ws client over its command limits: commands dropped');
    }
    if (drop.abusive) {
      logger.warn(
        { ws: sub.id, ip: sub.ip, limit, over_ms: limits.rateLimitCloseMs },
        'ws client over its command limits for too long: closed',
      );
      disconnect(sub, WS_CLOSE.policyViolation, 'over the command limits', 'rate_limit');
      return;
    }
    if (drop.notify) {
      const message =
        limit === 'commands'
          ? `over ${config.wsCommandsPerSecond} commands a second: command dropped; slow down`
          : `over ${config.wsAnswerBytesPerSecond} bytes a second of answers: command dropped; slow down`;
      fanout.send(sub, { type: 'error', code: 'rate_limited', message });
      metrics.errorSent('rate_limited');
    }
  }

  function handle(sub: Subscriber, request: ClientRequest): void {
    switch (request.type) {
      case 'subscribe':
        fanout.subscribe(sub, request.sections, request.limit, request.versions, {
          patches: request.patches,
          batches: request.batches,
          fields: request.fields,
        });
        break;
      case 'unsubscribe':
        fanout.unsubscribe(sub, request.sections);
        break;
      case 'ping':
        fanout.send(sub, { type: 'pong', id: request.id });
        break;
    }
  }

  function sendError(sub: Subscriber, code: WsErrorCode, message: string, errorTimes: number[]): void {
    fanout.send(sub, { type: 'error', code, message });
    metrics.errorSent(code);
    const now = Date.now();
    errorTimes.push(now);
    while (errorTimes.length > 0 && now - (errorTimes[0] ?? now) > limits.errorWindowMs) errorTimes.shift();
    if (errorTimes.length > limits.errorBurst) {
      disconnect(sub, WS_CLOSE.policyViolation, 'too many bad messages', 'error_flood');
    }
  }

  const heartbeats = new Map<Subscriber, () => void>();
  const heartbeatTimer = setInterval(() => {
    for (const beat of heartbeats.values()) beat();
  }, limits.heartbeatMs);
  heartbeatTimer.unref();
  const sweepTimer = setInterval(
    () => fanout.sweep(Date.now()),
    Math.max(50, Math.min(1000, Math.floor(limits.hardBehindMs / 4))),
  );
  sweepTimer.unref();

  server.on('upgrade', onUpgrade);

  async function shutdown(code: number): Promise<void> {
    clearInterval(heartbeatTimer);
    clearInterval(sweepTimer);
    fanout.stop();
    const closed = [...clients].map(
      (sub) =>
        new Promise<void>((resolve) => {
          if (sub.ws.readyState === WebSocket.CLOSED) resolve();
          else sub.ws.once('close', () => resolve());
        }),
    );
    // Each close frame is queued behind what the socket already holds, so clients get that first.
    for (const sub of clients) disconnect(sub, code, 'server shutting down', 'shutdown');
    await Promise.all(closed);
    await new Promise<void>((resolve) => wss.close(() => resolve()));
    server.off('upgrade', onUpgrade);
  }

  return {
    close(code = WS_CLOSE.goingAway) {
      closing ??= shutdown(code);
      return closing;
    },
    stats() {
      let bufferedBytes = 0;
      for (const sub of clients) bufferedBytes += sub.ws.bufferedAmount;
      return {
        ...structuredClone(metrics.tally),
        connections: clients.size,
        subscriptions: Object.fromEntries(
          catalog.names.map((section) => [section, fanout.subscriptions(section)]),
        ) as Record<SectionName, number>,
        bufferedBytes,
        peakBufferedBytes: fanout.peakBufferedBytes,
      };
    },
  };
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

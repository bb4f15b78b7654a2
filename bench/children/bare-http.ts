/**
 * Baseline (a) of the HTTP bench: a bare `node:http` server that answers with bytes captured from
 * snapboard itself (same body, same headers, 304 when If-None-Match matches). It does nothing else,
 * so its throughput is what Node can serve on this machine: the ceiling snapboard is measured against.
 *
 * IPC: receives `{type:'routes', routes}`; answers `{type:'listening', port}` the first time and
 * `{type:'routes-set'}` after each later one.
 */
import { createServer } from 'node:http';

export interface CapturedResponse {
  status: number;
  headers: [string, string][];
  /** base64 */
  body: string;
}

export interface CapturedRoute {
  path: string;
  ok: CapturedResponse;
  notModified?: CapturedResponse;
  etag?: string;
}

// Node sets these itself for every response; copying them would duplicate or contradict its own.
const SKIP = new Set(['date', 'connection', 'keep-alive', 'transfer-encoding', 'content-length']);

interface Prepared {
  status: number;
  headers: [string, string][];
  body: Buffer;
}

function prepare(response: CapturedResponse): Prepared {
  const body = Buffer.from(response.body, 'base64');
  const headers = response.headers.filter(([name]) => !SKIP.has(name.toLowerCase()));
  headers.push(['content-length', String(body.length)]);
  return { status: response.status, headers, body };
}

const routes = new Map<string, { ok: Prepared; notModified?: Prepared; etag?: string }>();

const server = createServer((req, res) => {
  const route = routes.get(req.url ?? '');
  if (!route) {
    res.writeHead(404, { 'content-type': 'application/json', 'content-length': '2' });
    res.end('{}');
    return;
  }
  const answer =
    route.notModified && route.etag && req.headers['if-none-match'] === route.etag ? route.notModified : route.ok;
  res.writeHead(answer.status, answer.headers.flat());
  res.end(answer.body);
});
server.keepAliveTimeout = 60_000;

process.on('message', (message: { type: string; routes?: CapturedRoute[] }) => {
  if (message.type !== 'routes' || !message.routes) return;
  for (const route of message.routes) {
    routes.set(route.path, {
      ok: prepare(route.ok),
      ...(route.notModified ? { notModified: prepare(route.notModified) } : {}),
      ...(route.etag ? { etag: route.etag } : {}),
    });
  }
  if (server.listening) {
    process.send?.({ type: 'routes-set' });
    return;
  }
  server.listen(0, '127.0.0.1', () => {
    const address = server.address();
    process.send?.({ type: 'listening', port: typeof address === 'object' && address ? address.port : 0 });
  });
});

process.on('SIGTERM', () => process.exit(0));
process.on('disconnect', () => process.exit(0));

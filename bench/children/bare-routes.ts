import { createServer, type Server } from 'node:http';

/**
 * The bare node:http handler of the HTTP bench: answers with bytes captured from snapboard itself
 * (same body, same headers, 304 when If-None-Match matches) and does nothing else. Run on its own
 * (bare-http.ts: what Node can serve on this machine) and inside a running snapboard API process
 * (api-bare.ts: the same handler in a process that also holds snapboard's connections, replica and
 * WebSocket server), so that the two can tell snapboard's own code from the process it runs in.
 */

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

export interface BareServer {
  server: Server;
  setRoutes(routes: readonly CapturedRoute[]): void;
}

export function createBareServer(): BareServer {
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
  return {
    server,
    setRoutes(list) {
      for (const route of list) {
        routes.set(route.path, {
          ok: prepare(route.ok),
          ...(route.notModified ? { notModified: prepare(route.notModified) } : {}),
          ...(route.etag ? { etag: route.etag } : {}),
        });
      }
    },
  };
}

/**
 * The IPC both children speak: `{type:'routes', routes}` sets the answers; the first time the server
 * starts listening and `{type:'listening', port}` comes back, later `{type:'routes-set'}`.
 */
export function serveRoutesOverIpc(bare: BareServer): void {
  process.on('message', (message: { type: string; routes?: CapturedRoute[] }) => {
    if (message.type !== 'routes' || !message.routes) return;
    bare.setRoutes(message.routes);
    if (bare.server.listening) {
      process.send?.({ type: 'routes-set' });
      return;
    }
    bare.server.listen(0, '127.0.0.1', () => {
      const address = bare.server.address();
      process.send?.({ type: 'listening', port: typeof address === 'object' && address ? address.port : 0 });
    });
  });
}

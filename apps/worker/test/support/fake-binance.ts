import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local stand-in for Binance's ticker endpoint, answering the way Binance does: a batch with one
 * unknown symbol is refused whole with 400 / -1121, prices are strings, rate limits are 429 with
 * Retry-After. `slow` symbols answer after `slowMs`.
 */
export interface FakeBinance {
  baseUrl: string;
  prices: Map<string, string>;
  slow: Set<string>;
  slowMs: number;
  /** While set, every request gets 429 with this Retry-After (seconds). */
  rateLimitSeconds: number | undefined;
  requests: URL[];
  maxInFlight: number;
  close(): Promise<void>;
}

export async function startFakeBinance(prices: Record<string, string>): Promise<FakeBinance> {
  let inFlight = 0;
  const fake: FakeBinance = {
    baseUrl: '',
    prices: new Map(Object.entries(prices)),
    slow: new Set(),
    slowMs: 1000,
    rateLimitSeconds: undefined,
    requests: [],
    maxInFlight: 0,
    close: async () => {},
  };
  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    if (res.destroyed) return;
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  };
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    fake.requests.push(url);
    if (url.pathname !== '/api/v3/ticker/price') return send(res, 404, { code: -1, msg: 'not found' });
    if (fake.rateLimitSeconds !== undefined) {
      return send(
        res,
        429,
        { code: -1003, msg: 'Too many requests' },
        { 'retry-after': String(fake.rateLimitSeconds) },
      );
    }
    const invalid = () => send(res, 400, { code: -1121, msg: 'Invalid symbol.' });
    let symbols: string[];
    const batch = url.searchParams.get('symbols');
    if (batch !== null) {
      try {
        symbols = JSON.parse(batch);
      } catch {
        return send(res, 400, { code: -1100, msg: 'Illegal characters found in parameter symbols' });
      }
      if (!Array.isArray(symbols) || symbols.some((s) => !fake.prices.has(s))) return invalid();
    } else {
      const one = url.searchParams.get('symbol');
      if (one === null || !fake.prices.has(one)) return invalid();
      symbols = [one];
    }
    if (symbols.some((s) => fake.slow.has(s))) await new Promise((r) => setTimeout(r, fake.slowMs));
    const answer = symbols.map((symbol) => ({ symbol, price: fake.prices.get(symbol) }));
    return send(res, 200, batch !== null ? answer : answer[0]);
  };
  const server: Server = createServer((req, res) => {
    inFlight++;
    fake.maxInFlight = Math.max(fake.maxInFlight, inFlight);
    res.on('close', () => inFlight--);
    void handle(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  fake.baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  fake.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return fake;
}

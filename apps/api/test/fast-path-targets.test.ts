import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFastPath, type FastPath, PARSED_MAX } from '../src/fast-path.ts';
import { readAnswer } from '../src/http-answers.ts';
import { plainParams, type ReadRoute } from '../src/read-routes.ts';

/**
 * The fast path keeps each request target's parse: pollers repeat theirs. Targets are the client's to
 * choose, so what it keeps must stay bounded however many distinct ones arrive, and a kept parse must
 * never answer a request whose headers differ (ETag, Origin) as if they were the first request's.
 */

const BODY = Buffer.from('{"n":1}');
const route: ReadRoute = {
  pattern: '/things',
  paths: [{ path: '/things' }],
  parse: (query) => {
    const limit = Number(query.values('limit')?.[0] ?? 20);
    if (!Number.isInteger(limit) || limit < 1) throw new Error('bad limit');
    return plainParams(limit, query.values('refresh')?.[0] === 'true');
  },
  answer: (_params, ifNoneMatch, _origin, at) => readAnswer('W/"t"', ifNoneMatch, BODY, at, true),
};

let server: Server;
let fast: FastPath;
let base: string;
let finished = 0;
beforeAll(async () => {
  fast = createFastPath({ reads: [route], finish: () => void finished++, now: Date.now });
  server = createServer((req, res) => {
    if (fast.handle(req, res)) return;
    res.writeHead(418, { 'content-length': '0' });
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('the fast path remembers parsed targets', () => {
  it('security: thousands of distinct targets keep at most PARSED_MAX parses, and every one is answered', async () => {
    for (let i = 0; i < PARSED_MAX * 3; i += 16) {
      const batch = Array.from({ length: 16 }, (_, j) => fetch(`${base}/things?limit=${i + j + 1}&pad=${i + j}`));
      for (const response of await Promise.all(batch)) {
        expect(response.status).toBe(200);
        await response.arrayBuffer();
      }
      expect(fast.remembered).toBeLessThanOrEqual(PARSED_MAX);
    }
    expect(fast.served).toBe(PARSED_MAX * 3);
  });

  it('edge: a remembered target answers each request by its own headers; bad input and refresh are never kept', async () => {
    const first = await fetch(`${base}/things?limit=5`);
    expect(first.status).toBe(200);
    expect(await first.text()).toBe('{"n":1}');
    const conditional = await fetch(`${base}/things?limit=5`, { headers: { 'if-none-match': 'W/"t"' } });
    expect(conditional.status).toBe(304);
    const again = await fetch(`${base}/things?limit=5`);
    expect(again.status).toBe(200);
    expect(again.headers.get('etag')).toBe('W/"t"');
    await again.arrayBuffer();
    const before = fast.remembered;
    for (const target of ['/things?limit=x', '/things?limit=x', '/things?refresh=true', '/things?refresh=true']) {
      const declined = await fetch(`${base}${target}`);
      expect(declined.status, target).toBe(418);
    }
    expect(fast.remembered).toBe(before);
  });
});

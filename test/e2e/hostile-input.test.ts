import { readFile } from 'node:fs/promises';
import { MAX_FRAME_BYTES, SECTION_NAMES, WS_ERROR_CODES } from '@snapboard/shared';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { assertAlive, useE2E } from './support/fixture.ts';
import { http } from './support/http.ts';
import type { ApiProcess, ServiceProcess } from './support/processes.ts';
import { rawGet, rawRequest } from './support/raw-http.ts';
import { sleep, waitUntil } from './support/wait.ts';
import { WsClient } from './support/ws-client.ts';

/**
 * Whatever a client sends (SPEC §6, §7): no 500, no crash, no unbounded memory. Property-based over
 * query strings, headers, paths, bodies and WebSocket frames, sent raw so no client library tidies
 * them first; plus the frame-size rules of §7.
 */

const TOKEN = 'e2e-hostile-ops-token-0123456789';
const PATHS = [
  '/api/public/dashboard/v2/',
  '/api/public/dashboard/v2',
  '/api/public/dashboard/lite/',
  '/api/public/paper-trading/dashboard/',
  '/api/public/dashboard/sections/open_positions/',
  '/api/public/dashboard/sections/pnl_history',
  '/healthz',
  '/readyz',
  '/api/openapi.json',
  '/ops/queues',
  '/',
];

async function rssBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
}

describe('hostile input', () => {
  const e2e = useE2E({ scope: 'file' });
  let worker: ServiceProcess;
  let api: ApiProcess;
  const rss: number[] = [];

  beforeAll(async () => {
    worker = e2e.worker();
    api = await e2e.api({ OPS_TOKEN: TOKEN, REFRESH_WAIT_MS: '200' });
    await waitUntil(
      'v2 served',
      async () => {
        assertAlive(worker, api);
        return (await http(`${api.baseUrl}/api/public/dashboard/v2/`)).status === 200;
      },
      { timeoutMs: 30_000 },
    );
    rss.push(await rssBytes(api.pid));
  }, 90_000);

  /** An answer is acceptable when it is not a 5xx other than 503 (warming up / not ready) and is an answer. */
  function expectSane(status: number, what: string) {
    expect(status, what).toBeGreaterThanOrEqual(200);
    expect(status === 503 || status < 500, `${what} → ${status}`).toBe(true);
  }

  const byteString = fc
    .array(fc.integer({ min: 0x21, max: 0xff }), { maxLength: 40 })
    .map((bytes) => Buffer.from(bytes).toString('latin1'));
  const queryValue = fc.oneof(
    fc.constantFrom('', '0', '1', '20', '100', '101', '-1', '1e2', '20.0', '+5', ' 5', '0x14', 'NaN', 'Infinity'),
    fc.constantFrom('true', 'false', 'TRUE', '1', 'yes', '%00', '%', '%zz', '%ff%fe', '%C0%AF', '%E2%80%AE'),
    fc.string({ maxLength: 30 }).map(encodeURIComponent),
    byteString,
    fc.nat().map(String),
    fc.string({ minLength: 1000, maxLength: 4000 }).map(encodeURIComponent),
  );
  const queryKey = fc.oneof(fc.constantFrom('limit', 'refresh', 'token', 'section', 'limit[]', ''), byteString);
  const query = fc
    .array(fc.tuple(queryKey, queryValue, fc.boolean()), { maxLength: 6 })
    .map((pairs) => pairs.map(([k, v, bare]) => (bare ? k : `${k}=${v}`)).join('&'));

  it('security: arbitrary query strings on every public path never yield a 500', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...PATHS), query, async (path, q) => {
        const answer = await rawGet(api.port, `${path}?${q}`);
        expectSane(answer.status, `GET ${path}?${q.slice(0, 200)}`);
        if (answer.status >= 400 && path.startsWith('/api/')) {
          expect(JSON.parse(answer.body), answer.body.slice(0, 200)).toHaveProperty('error.code');
        }
      }),
      { numRuns: 300 },
    );
    assertAlive(api, worker);
  }, 120_000);

  it('security: arbitrary paths, methods and section names never yield a 500', async () => {
    const segment = fc.oneof(
      fc.constantFrom(...SECTION_NAMES, '..', '.', '%2e%2e', '%2F', '', 'sections', 'v2', '__proto__', 'constructor'),
      fc.string({ maxLength: 20 }).map(encodeURIComponent),
      byteString.map((s) => s.replace(/[?#/]/g, '')),
    );
    const path = fc.array(segment, { minLength: 1, maxLength: 6 }).map((parts) => `/${parts.join('/')}`);
    const prefix = fc.constantFrom(
      '',
      '/api/public/dashboard',
      '/api/public/dashboard/sections',
      '/api/ops',
      '/ops/queues',
    );
    const method = fc.constantFrom('GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE', 'FOO');
    await fc.assert(
      fc.asyncProperty(method, prefix, path, fc.boolean(), async (m, pre, p, slash) => {
        const target = `${pre}${p}${slash ? '/' : ''}`;
        const answer = await rawRequest(
          api.port,
          Buffer.from(`${m} ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`, 'latin1'),
        );
        expectSane(answer.status, `${m} ${target}`);
      }),
      { numRuns: 300 },
    );
    assertAlive(api, worker);
  }, 120_000);

  it('security: arbitrary headers (conditional, auth, origin, host, ids) never yield a 500', async () => {
    const headerValue = fc.oneof(
      byteString,
      fc.string({ maxLength: 60 }).map((s) => s.replace(/[\r\n]/g, '')),
      fc.constantFrom('*', 'W/"x"', '"', '""', 'W/', 'Bearer', `Bearer ${TOKEN.slice(0, -1)}`, 'Bearer  ', '\t'),
      fc.string({ minLength: 2000, maxLength: 6000 }).map((s) => s.replace(/[\r\n]/g, '')),
    );
    const header = fc.tuple(
      fc.constantFrom(
        'If-None-Match',
        'Authorization',
        'Origin',
        'Host',
        'X-Request-Id',
        'Accept',
        'Accept-Encoding',
        'Content-Type',
        'Cookie',
        'Range',
        'X-Forwarded-For',
        'Content-Language',
        // Never "chunked" here: a GET announcing a chunked body that never comes is rightly waited on.
        'Transfer-Encoding',
      ),
      headerValue,
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...PATHS), fc.array(header, { maxLength: 5 }), async (path, headers) => {
        const answer = await rawGet(
          api.port,
          path,
          headers.map(([name, value]) => Buffer.from(`${name}: ${value}`, 'latin1')),
        );
        expectSane(answer.status, `GET ${path} with ${JSON.stringify(headers).slice(0, 300)}`);
      }),
      { numRuns: 300 },
    );
    // Headers past Node's limit are refused by the server itself, not by a crash.
    const huge = await rawGet(api.port, '/api/public/dashboard/lite/', [`X-Junk: ${'a'.repeat(70_000)}`]);
    expect(huge.status).toBe(431);
    assertAlive(api, worker);
  }, 120_000);

  // RFC 9112 §6.3: a request whose framing cannot be trusted gets a 400 and the connection is closed.
  // A route that has already answered (synchronously) may keep its answer; none may close silently.
  it('error: requests with broken framing get an answer (400 when not already answered) before the close', async () => {
    const cases = [
      'Transfer-Encoding: x',
      'Transfer-Encoding: gzip',
      'Transfer-Encoding: chunked, gzip',
      'Content-Length: abc',
      'Content-Length: 1\r\nContent-Length: 2',
      'Content-Length: -1',
    ];
    for (const line of cases) {
      for (const path of ['/api/public/dashboard/lite/', '/api/public/dashboard/v2/', '/readyz']) {
        const answer = await rawGet(api.port, path, [line]);
        expect(answer.status, `GET ${path} with ${JSON.stringify(line)}: closed without an answer`).not.toBe(0);
        expectSane(answer.status, `GET ${path} with ${JSON.stringify(line)}`);
      }
    }
    assertAlive(api, worker);
  });

  it('security: arbitrary bodies to the ops endpoints never yield a 500', async () => {
    const body = fc.oneof(
      fc.json(),
      fc.string({ maxLength: 200 }),
      fc
        .record({ sections: fc.array(fc.oneof(fc.constantFrom(...SECTION_NAMES), fc.string()), { maxLength: 40 }) })
        .map((v) => JSON.stringify(v)),
      fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b).toString('latin1')),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('/api/ops/recompute', '/api/public/dashboard/clear-cache/'),
        body,
        fc.constantFrom('application/json', 'text/plain', 'application/x-www-form-urlencoded', ''),
        fc.boolean(),
        async (path, text, type, authorized) => {
          const bytes = Buffer.from(text, 'latin1');
          const answer = await rawRequest(
            api.port,
            Buffer.concat([
              Buffer.from(
                `POST ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${type ? `Content-Type: ${type}\r\n` : ''}` +
                  `${authorized ? `Authorization: Bearer ${TOKEN}\r\n` : ''}Content-Length: ${bytes.length}\r\n\r\n`,
              ),
              bytes,
            ]),
          );
          expectSane(answer.status, `POST ${path} ${text.slice(0, 100)}`);
          if (!authorized) expect(answer.status).toBe(401);
        },
      ),
      { numRuns: 200 },
    );
    assertAlive(api, worker);
  }, 120_000);

  const sectionName = fc.oneof(fc.constantFrom(...SECTION_NAMES), fc.string({ maxLength: 12 }));
  const nearValid = fc.oneof(
    fc.record(
      {
        type: fc.constantFrom('subscribe', 'unsubscribe', 'ping', 'Subscribe', 'snapshot', ''),
        sections: fc.oneof(fc.array(sectionName, { maxLength: 20 }), fc.string(), fc.constant(null)),
        limit: fc.oneof(fc.integer({ min: -5, max: 200 }), fc.double(), fc.string(), fc.constant(null)),
        versions: fc.oneof(
          fc.dictionary(
            sectionName,
            fc.record({
              epoch: fc.oneof(fc.string({ maxLength: 200 }), fc.integer()),
              version: fc.oneof(fc.integer(), fc.double(), fc.string()),
            }),
          ),
          fc.json(),
        ),
        id: fc.jsonValue(),
      },
      { requiredKeys: ['type'] },
    ),
    fc.record({ type: fc.constant('ping'), id: fc.jsonValue({ maxDepth: 4 }) }),
  );
  const frame = fc.oneof(
    nearValid.map((m) => ({ text: JSON.stringify(m) })),
    fc.json({ maxDepth: 4 }).map((text) => ({ text })),
    fc.string({ maxLength: 200 }).map((text) => ({ text })),
    fc.uint8Array({ maxLength: 200 }).map((bytes) => ({ binary: Buffer.from(bytes) })),
    // Invalid UTF-8 in a text frame: ws closes with 1007 (protocol), which is the correct answer.
  );

  it('security: arbitrary WebSocket frames get an answer or an error frame; the socket stays and still works', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(frame, { minLength: 1, maxLength: 12 }), async (frames) => {
        run++;
        const client = await WsClient.connect(api.wsUrl);
        try {
          await client.waitFor('welcome', (m) => m.type === 'welcome');
          for (const f of frames) {
            if ('binary' in f) client.socket.send(f.binary, { binary: true });
            else client.send(f.text);
          }
          // A final ping answered proves every frame before it was handled and the socket lives.
          client.send({ type: 'ping', id: `probe-${run}` });
          await client.waitFor('the probe pong', (m) => m.type === 'pong' && m.id === `probe-${run}`, {
            timeoutMs: 5000,
          });
          for (const error of client.ofType('error')) {
            expect(WS_ERROR_CODES).toContain(error.code);
            expect(String(error.message).length).toBeLessThan(500);
          }
          expect(client.garbage).toEqual([]);
          expect(client.isOpen).toBe(true);
        } finally {
          await client.close();
        }
      }),
      { numRuns: 150 },
    );
    assertAlive(api, worker);
  }, 120_000);

  it('error: frames over 64 KiB close the socket with 1009; at the limit they are answered; others are unaffected', async () => {
    const bystander = await e2e.ws(api.wsUrl);
    await bystander.subscribe(['lite']);

    const atLimit = await e2e.ws(api.wsUrl);
    const pad = 'x'.repeat(MAX_FRAME_BYTES - JSON.stringify({ type: 'ping', id: '' }).length);
    atLimit.send(JSON.stringify({ type: 'ping', id: pad }));
    const pong = await atLimit.waitFor('pong to a 64 KiB frame', (m) => m.type === 'pong');
    expect(String(pong.id).length).toBe(pad.length);
    expect(atLimit.isOpen).toBe(true);

    for (const size of [MAX_FRAME_BYTES + 1, 1024 * 1024, 16 * 1024 * 1024]) {
      const big = await e2e.ws(api.wsUrl);
      big.send('x'.repeat(size));
      expect((await big.closed).code, `${size} bytes`).toBe(1009);
    }
    // Fragments that add up to too much are one big message.
    const fragmented = await e2e.ws(api.wsUrl);
    const chunk = Buffer.alloc(40 * 1024, 0x20);
    fragmented.socket.send(chunk, { binary: false, fin: false });
    fragmented.socket.send(chunk, { binary: false, fin: true });
    expect((await fragmented.closed).code).toBe(1009);

    // Not JSON at all: an error frame, and the connection stays.
    const garbled = await e2e.ws(api.wsUrl);
    garbled.send('{"type":"subscribe",');
    expect((await garbled.waitFor('error', (m) => m.type === 'error')).code).toBe('invalid_json');
    garbled.send({ type: 'subscribe', sections: ['lite'], limit: 0 });
    expect((await garbled.waitFor('error', (m) => m.code === 'invalid_limit')).type).toBe('error');
    garbled.send({ type: 'subscribe', sections: ['nope'] });
    expect((await garbled.waitFor('error', (m) => m.code === 'unknown_section')).type).toBe('error');
    garbled.send({ type: 'hello' });
    expect((await garbled.waitFor('error', (m) => m.code === 'unknown_type')).type).toBe('error');
    expect((await garbled.subscribe(['lite'])).type).toBe('subscribed');

    bystander.send({ type: 'ping', id: 'still-here' });
    await bystander.waitFor('bystander pong', (m) => m.type === 'pong' && m.id === 'still-here');
    assertAlive(api, worker);
  }, 60_000);

  it('security: after all of the above the API holds no runaway memory', async () => {
    // Another round of the heaviest traffic, then compare: growth must level off, not climb per request.
    const before = await rssBytes(api.pid);
    for (let round = 0; round < 3; round++) {
      await Promise.all(
        Array.from({ length: 50 }, async (_, i) => {
          const client = await WsClient.connect(api.wsUrl);
          client.send({ type: 'subscribe', sections: [...SECTION_NAMES], limit: 100 });
          client.send('x'.repeat(1000));
          client.send({ type: 'ping', id: i });
          await client.waitFor('pong', (m) => m.type === 'pong');
          await client.close();
        }),
      );
      await Promise.all(
        Array.from({ length: 100 }, (_, i) => rawGet(api.port, `/api/public/dashboard/v2/?limit=${(i % 100) + 1}`)),
      );
    }
    await sleep(500);
    const after = await rssBytes(api.pid);
    rss.push(before, after);
    process.stderr.write(`hostile-input API RSS (MB): ${rss.map((b) => (b / 2 ** 20).toFixed(1)).join(' → ')}\n`);
    expect(after - before).toBeLessThan(64 * 2 ** 20);
    expect(after).toBeLessThan(512 * 2 ** 20);
    const errorLines = api.logs((j) => Number(j.level) >= 50);
    expect(errorLines.map((l) => l.raw.slice(0, 300))).toEqual([]);
    assertAlive(api, worker);
  }, 120_000);
});

import { useTestEnv } from '@snapboard/devenv/testing';
import { ERROR_STATUS, SECTION_NAMES } from '@snapboard/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningApi, startApi } from '../src/server.ts';
import { buildTestApp, silent, type TestApp } from './support/app.ts';
import { newEpoch, publishAll, until } from './support/fixtures.ts';
import { rawRequest } from './support/raw.ts';

/** Nothing a client sends yields a 500: hostile input in-process and over a real socket. */

const env = useTestEnv({ database: false });
const TOKEN = 'ops-token-for-tests-0123456789';
let t: TestApp;
let api: RunningApi;

beforeAll(async () => {
  const config = env.config({ OPS_TOKEN: TOKEN, CORS_ORIGINS: 'https://a.example' });
  t = await buildTestApp(config);
  await publishAll(t.redis, t.keys, { epoch: newEpoch(), version: 1 });
  api = await startApi({ config: { ...config, port: 0 }, logger: silent, page: false, websocket: false });
  await until(() => SECTION_NAMES.every((s) => t.replica.get(s) && api.replica.get(s)));
});
afterAll(async () => {
  await api?.close();
  await t?.close();
});

function expectEnvelope(status: number, body: unknown, what: string) {
  expect(body, what).toEqual({ error: { code: expect.any(String), message: expect.any(String) } });
  const code = (body as { error: { code: keyof typeof ERROR_STATUS } }).error.code;
  expect(ERROR_STATUS[code], `${what}: ${code}`).toBe(status);
}

const huge = '9'.repeat(10_000);
const v2 = '/api/public/dashboard/v2/';

// [method, path, headers, body, expected status]
const HOSTILE: [string, string, Record<string, string>, string | undefined, number][] = [
  ['GET', `${v2}?limit=${huge}`, {}, undefined, 400],
  ['GET', `${v2}?limit=-5`, {}, undefined, 400],
  ['GET', `${v2}?limit=abc`, {}, undefined, 400],
  ['GET', `${v2}?limit=1&limit=2`, {}, undefined, 400],
  ['GET', `${v2}?limit=%00`, {}, undefined, 400],
  ['GET', `${v2}?limit=%ZZ`, {}, undefined, 400],
  ['GET', `${v2}?limit=%F0%9F%99%82`, {}, undefined, 400],
  ['GET', `${v2}?limit=1%2C2`, {}, undefined, 400],
  ['GET', `${v2}?limit[]=1`, {}, undefined, 200],
  ['GET', `${v2}?refresh=%ZZ`, {}, undefined, 400],
  ['GET', `${v2}?refresh=TRUE`, {}, undefined, 400],
  ['GET', `${v2}?refresh=true&refresh=false`, {}, undefined, 400],
  ['GET', `${v2}?_=1712345678&%ZZ=%ZZ&&=&`, {}, undefined, 200],
  ['GET', `${v2}?${'a=1&'.repeat(2000)}`, {}, undefined, 200],
  ['GET', '/api/public/dashboard/sections/%ZZ/', {}, undefined, 404],
  ['GET', '/api/public/dashboard/sections/%00/', {}, undefined, 404],
  ['GET', `/api/public/dashboard/sections/${'é'.repeat(500)}/`, {}, undefined, 404],
  ['GET', '/api/%ZZ%', {}, undefined, 404],
  ['GET', `/${'a/'.repeat(2000)}`, {}, undefined, 404],
  ['GET', '/api/public/dashboard/v2/%00', {}, undefined, 404],
  ['POST', v2, {}, '{}', 405],
  ['PUT', '/api/public/dashboard/lite/', {}, 'x', 405],
  ['DELETE', '/api/public/dashboard/sections/overview/', {}, undefined, 405],
  ['PATCH', '/healthz', {}, undefined, 405],
  ['GET', '/api/ops/recompute', {}, undefined, 405],
  ['PROPFIND', '/readyz', {}, undefined, 405],
  ['PROPFIND', '/nowhere', {}, undefined, 404],
  ['GET', v2, { 'if-none-match': `${'W/"x",'.repeat(2000)}` }, undefined, 200],
  ['GET', v2, { 'if-none-match': '*' }, undefined, 304],
  ['GET', v2, { origin: 'null' }, undefined, 200],
  ['GET', v2, { origin: 'https://a.example.evil' }, undefined, 200],
  ['GET', v2, { 'x-request-id': 'é'.repeat(100) }, undefined, 200],
  ['GET', v2, { accept: 'text/html;q=abc, */*;;;' }, undefined, 200],
  ['GET', v2, { authorization: 'Bearer nonsense' }, undefined, 200],
  ['POST', '/api/ops/recompute', { authorization: `Bearer ${TOKEN}` }, '{"sections":', 400],
  ['POST', '/api/ops/recompute', { authorization: `Bearer ${TOKEN}` }, `{"sections":["${'x'.repeat(10_000)}"]}`, 400],
  ['POST', '/api/ops/recompute', { authorization: `Bearer ${TOKEN}` }, JSON.stringify({ x: 'y'.repeat(30_000) }), 413],
  ['POST', '/api/ops/recompute', { authorization: `Bearer ${TOKEN}` }, '\u0000\u0001\uffff', 400],
  [
    'POST',
    '/api/ops/recompute',
    { authorization: `Bearer ${TOKEN}`, 'content-type': 'multipart/form-data; boundary=x' },
    '--x\r\n\r\n--x--',
    400,
  ],
  ['POST', '/api/ops/recompute', { authorization: `Bearer ${TOKEN}`, 'content-encoding': 'gzip' }, 'nope', 400],
  ['POST', '/api/public/dashboard/clear-cache/', { authorization: `Bearer ${'é'.repeat(100)}` }, undefined, 401],
  ['GET', '/ops/queues?token=a&token=b', {}, undefined, 401],
  ['GET', `/ops/queues?token=${huge}`, {}, undefined, 401],
];

const label = (method: string, path: string, headers: Record<string, string>, body?: string) =>
  `${method} ${path.length > 70 ? `${path.slice(0, 60)}…(${path.length})` : path}${
    Object.keys(headers).length ? ` +${Object.keys(headers).join(',')}` : ''
  }${body ? ` body(${body.length})` : ''}`;
const CASES = HOSTILE.map(([method, path, headers, body, status]) => ({
  name: label(method, path, headers, body),
  method,
  path,
  headers,
  body,
  status,
}));

describe('hostile input, in-process', () => {
  it.for(CASES)('error: $name → $status', async ({ method, path, headers, body, status }) => {
    const res = await t.app.request(path, { method, headers, body });
    expect(res.status).toBe(status);
    if (status >= 400) expectEnvelope(status, await res.json(), `${method} ${path.slice(0, 60)}`);
  });

  it('error: a wrong method on a known path is 405 with Allow', async () => {
    const res = await t.app.request(v2, { method: 'DELETE' });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET, HEAD, OPTIONS');
    const ops = await t.app.request('/api/ops/recompute/', { method: 'GET' });
    expect(ops.headers.get('allow')).toBe('POST, OPTIONS');
    expect((await ops.json()).error.code).toBe('method_not_allowed');
  });

  it('error: an unknown path is 404 not_found', async () => {
    const res = await t.app.request('/api/public/dashboard/v3/');
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: { code: 'not_found', message: expect.any(String) } });
  });
});

describe('hostile input, over a socket', () => {
  // As a client sends them: the target percent-encoded where it is not ASCII.
  it.for(CASES.filter(({ path }) => path.length < 8000))(
    'error: $name → $status',
    async ({ method, path, headers, body, status }) => {
      const target = path.replace(/[^\x21-\x7e]/g, (c) => encodeURIComponent(c));
      const lines = [`${method} ${target} HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: close'];
      for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
      const payload = body === undefined ? undefined : Buffer.from(body);
      if (payload) lines.push(`Content-Length: ${payload.length}`);
      const res = await rawRequest(
        api.url,
        Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'utf8'), payload ?? Buffer.alloc(0)]),
      );
      expect(res.status).toBe(status);
      if (status >= 400) expectEnvelope(status, JSON.parse(res.body.toString()), `${method} ${path.slice(0, 60)}`);
    },
  );

  it.each([
    [
      'a non-ASCII target',
      Buffer.from(`GET /api/public/dashboard/sections/${'é'.repeat(10)}/ HTTP/1.1\r\nHost: x\r\n\r\n`),
      400,
    ],
    ['an unknown method', 'FOO / HTTP/1.1\r\nHost: x\r\n\r\n', 400],
    ['a bad Transfer-Encoding', 'GET /readyz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: x\r\n\r\n', 400],
    ['two Content-Lengths', 'GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n', 400],
    ['garbage', '\u0000\u0001\u0002 garbage\r\n\r\n', 400],
    ['a 64 KiB URL', `GET /${'a'.repeat(65_536)} HTTP/1.1\r\nHost: x\r\n\r\n`, 431],
    ['a 64 KiB header', `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(65_536)}\r\n\r\n`, 431],
    ['a bad Host', `GET /healthz HTTP/1.1\r\nHost: exa mple:99999\r\nConnection: close\r\n\r\n`, 400],
    ['a bad Content-Length', 'POST /api/ops/recompute HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n', 400],
    ['an absolute-form target', `GET http://evil.example${v2} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`, 200],
    ['a double slash', 'GET //api/public//dashboard HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', 404],
    [
      'invalid UTF-8 in the path',
      Buffer.from('GET /api/\xff\xfe/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', 'latin1'),
      400,
    ],
  ])('error: %s is answered with the envelope, never 500', async (_, request, status) => {
    const res = await rawRequest(api.url, request);
    expect(res.status).toBe(status);
    if (status >= 400) expectEnvelope(status, JSON.parse(res.body.toString()), String(_));
  });

  it('happy: the server is alive and well after all of that', async () => {
    await new Promise((r) => setTimeout(r, 50));
    const res = await fetch(`${api.url}/healthz`);
    expect(res.status).toBe(200);
  });
});

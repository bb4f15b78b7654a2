import { useTestEnv } from '@snapboard/devenv/testing';
import { SECTION_NAMES } from '@snapboard/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from './support/app.ts';
import { newEpoch, publishAll, until } from './support/fixtures.ts';

const env = useTestEnv({ database: false });
let closed: TestApp;
let open: TestApp;
let star: TestApp;
const ALLOWED = 'https://dash.example';

beforeAll(async () => {
  closed = await buildTestApp(env.config());
  open = await buildTestApp(env.config({ CORS_ORIGINS: `${ALLOWED}, http://localhost:5173` }));
  star = await buildTestApp(env.config({ CORS_ORIGINS: '*' }));
  await publishAll(closed.redis, closed.keys, { epoch: newEpoch(), version: 1 });
  await until(() => [closed, open, star].every((t) => SECTION_NAMES.every((s) => t.replica.get(s))));
});
afterAll(async () => {
  for (const t of [closed, open, star]) await t?.close();
});

const PUBLIC = [
  '/api/public/dashboard/v2/',
  '/api/public/dashboard/lite/',
  '/api/public/dashboard/sections/overview/',
  '/api/public/paper-trading/dashboard/',
  '/api/openapi.json',
];
const corsHeaderNames = (res: Response) =>
  [...res.headers.keys()].filter((name) => name.startsWith('access-control-') || name === 'vary');

describe('CORS', () => {
  it('security: with CORS_ORIGINS unset no answer carries any CORS header, preflights included', async () => {
    for (const path of PUBLIC) {
      const res = await closed.app.request(path, { headers: { origin: ALLOWED } });
      expect(res.status, path).toBe(200);
      expect(corsHeaderNames(res), path).toEqual([]);
      const preflight = await closed.app.request(path, {
        method: 'OPTIONS',
        headers: { origin: ALLOWED, 'access-control-request-method': 'GET' },
      });
      expect(preflight.status).toBe(204);
      expect(corsHeaderNames(preflight)).toEqual([]);
    }
  });

  it('happy: a listed origin may read every public endpoint, ETag exposed', async () => {
    for (const path of PUBLIC) {
      const res = await open.app.request(path, { headers: { origin: ALLOWED } });
      expect(res.headers.get('access-control-allow-origin'), path).toBe(ALLOWED);
      expect(res.headers.get('vary')).toBe('Origin');
      expect(res.headers.get('access-control-expose-headers')).toContain('ETag');
    }
    const local = await open.app.request(PUBLIC[0] as string, { headers: { origin: 'http://localhost:5173' } });
    expect(local.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
  });

  it('happy: 304s, errors and warming-up answers of public endpoints carry CORS too', async () => {
    const first = await open.app.request('/api/public/dashboard/lite/', { headers: { origin: ALLOWED } });
    const notModified = await open.app.request('/api/public/dashboard/lite/', {
      headers: { origin: ALLOWED, 'if-none-match': first.headers.get('etag') as string },
    });
    expect(notModified.status).toBe(304);
    expect(notModified.headers.get('access-control-allow-origin')).toBe(ALLOWED);
    const bad = await open.app.request('/api/public/dashboard/v2/?limit=0', { headers: { origin: ALLOWED } });
    expect(bad.status).toBe(400);
    expect(bad.headers.get('access-control-allow-origin')).toBe(ALLOWED);
    const unknown = await open.app.request('/api/public/dashboard/sections/nope/', { headers: { origin: ALLOWED } });
    expect(unknown.status).toBe(404);
    expect(unknown.headers.get('access-control-allow-origin')).toBe(ALLOWED);
  });

  it('security: an unlisted origin gets Vary but no Allow-Origin', async () => {
    for (const origin of ['https://evil.example', `${ALLOWED}.evil.example`, 'null', ALLOWED.toUpperCase()]) {
      const res = await open.app.request(PUBLIC[0] as string, { headers: { origin } });
      expect(res.status).toBe(200);
      expect(res.headers.get('access-control-allow-origin'), origin).toBeNull();
      expect(res.headers.get('vary')).toBe('Origin');
    }
  });

  it('happy: a preflight from a listed origin is answered for GET with If-None-Match', async () => {
    const res = await open.app.request('/api/public/dashboard/v2', {
      method: 'OPTIONS',
      headers: {
        origin: ALLOWED,
        'access-control-request-method': 'GET',
        'access-control-request-headers': 'if-none-match',
      },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe(ALLOWED);
    expect(res.headers.get('access-control-allow-methods')).toContain('GET');
    expect(res.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('if-none-match');
    expect(res.headers.get('allow')).toBe('GET, HEAD, OPTIONS');
  });

  it('happy: CORS_ORIGINS=* lets any origin read, without credentials', async () => {
    const res = await star.app.request(PUBLIC[0] as string, { headers: { origin: 'https://any.example' } });
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(res.headers.get('access-control-allow-credentials')).toBeNull();
  });

  it('security: health, metrics and ops never get CORS', async () => {
    for (const [method, path] of [
      ['GET', '/healthz'],
      ['GET', '/readyz'],
      ['GET', '/metrics'],
      ['POST', '/api/ops/recompute'],
      ['POST', '/api/public/dashboard/clear-cache/'],
      ['GET', '/ops/queues'],
    ] as const) {
      const res = await star.app.request(path, { method, headers: { origin: 'https://any.example' } });
      expect(res.headers.get('access-control-allow-origin'), path).toBeNull();
    }
  });
});

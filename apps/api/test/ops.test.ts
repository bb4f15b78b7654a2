import { useTestEnv } from '@snapboard/devenv/testing';
import { SECTION_NAMES } from '@snapboard/shared';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from './support/app.ts';

const env = useTestEnv({ database: false });
const TOKEN = 'ops-token-for-tests-0123456789';
let t: TestApp;
let disabled: TestApp;

beforeAll(async () => {
  t = await buildTestApp(env.config({ OPS_TOKEN: TOKEN, REFRESH_WAIT_MS: '150' }));
  disabled = await buildTestApp(env.config());
});
afterAll(async () => {
  await t?.close();
  await disabled?.close();
});
afterEach(async () => {
  await t.queue.obliterate({ force: true });
  await t.redis.del(t.keys.pendingSections);
});

const post = (
  app: TestApp,
  path: string,
  init: { token?: string; body?: string; headers?: Record<string, string> } = {},
) =>
  app.app.request(path, {
    method: 'POST',
    body: init.body,
    headers: {
      ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
      ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...init.headers,
    },
  });

const OPS_PATHS = ['/api/public/dashboard/clear-cache/', '/api/ops/recompute', '/api/ops/recompute/'];

describe('authorization', () => {
  it('security: with OPS_TOKEN unset every ops endpoint is 403 ops_disabled, token or not', async () => {
    for (const path of [...OPS_PATHS]) {
      for (const token of [undefined, TOKEN]) {
        const res = await post(disabled, path, { token });
        expect(res.status, path).toBe(403);
        expect((await res.json()).error.code).toBe('ops_disabled');
      }
    }
    const ui = await disabled.app.request(`/ops/queues?token=${TOKEN}`);
    expect(ui.status).toBe(403);
    expect(await disabled.queue.getWaitingCount()).toBe(0);
  });

  it.each([
    ['no header', {}],
    ['a wrong token', { authorization: 'Bearer wrong-token-wrong-token' }],
    ['a token one character short', { authorization: `Bearer ${TOKEN.slice(0, -1)}` }],
    ['the token with a suffix', { authorization: `Bearer ${TOKEN}x` }],
    ['another scheme', { authorization: `Basic ${Buffer.from(`ops:${TOKEN}`).toString('base64')}` }],
    ['the bare token', { authorization: TOKEN }],
    ['an empty bearer', { authorization: 'Bearer ' }],
    ['a huge header', { authorization: `Bearer ${'x'.repeat(8000)}` }],
  ])('security: %s is 401 unauthorized and queues nothing', async (_, headers) => {
    for (const path of OPS_PATHS) {
      const res = await post(t, path, { headers });
      expect(res.status, path).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect((await res.json()).error.code).toBe('unauthorized');
    }
    expect(await t.queue.getWaitingCount()).toBe(0);
  });

  it('security: ops answers never carry CORS headers', async () => {
    const withCors = await buildTestApp(env.config({ OPS_TOKEN: TOKEN, CORS_ORIGINS: '*' }));
    try {
      const res = await post(withCors, '/api/ops/recompute', {
        token: TOKEN,
        headers: { origin: 'https://a.example' },
      });
      expect(res.status).toBe(202);
      expect(res.headers.get('access-control-allow-origin')).toBeNull();
      const preflight = await withCors.app.request('/api/public/dashboard/clear-cache/', {
        method: 'OPTIONS',
        headers: { origin: 'https://a.example', 'access-control-request-method': 'POST' },
      });
      expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
    } finally {
      await withCors.queue.obliterate({ force: true });
      await withCors.close();
    }
  });
});

describe('recompute requests', () => {
  it('happy: no body queues every section and answers 202 with the jobs', async () => {
    const before = Date.now();
    const res = await post(t, '/api/ops/recompute', { token: TOKEN });
    expect(res.status).toBe(202);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const body = await res.json();
    expect(body.success).toBe(true);
    expect(body.message).toMatch(new RegExp(`${SECTION_NAMES.length} sections`));
    expect(body.jobs.map((j: { section: string }) => j.section)).toEqual([...SECTION_NAMES]);
    for (const job of body.jobs) expect(job.job_id).toEqual(expect.any(String));
    expect(Date.parse(body.timestamp)).toBeGreaterThanOrEqual(before - 1);
    // One change set of every section (SPEC §10).
    expect(await t.queue.getWaitingCount()).toBe(1);
    const waiting = await t.queue.getWaiting();
    expect(waiting.map((j) => j.data)).toEqual([
      expect.objectContaining({ sections: [...SECTION_NAMES], reason: 'manual' }),
    ]);
    expect(new Set(body.jobs.map((j: { job_id: string }) => j.job_id))).toEqual(new Set([waiting[0]?.id]));
  });

  it('happy: clear-cache with named sections queues only those (snapshots are never deleted)', async () => {
    await t.redis.set(t.keys.snapshot('overview'), '{"kept":true}');
    const res = await post(t, '/api/public/dashboard/clear-cache/', {
      token: TOKEN,
      body: JSON.stringify({ sections: ['overview', 'lite', 'overview'] }),
    });
    expect(res.status).toBe(202);
    const body = await res.json();
    expect(body.jobs.map((j: { section: string }) => j.section)).toEqual(['overview', 'lite']);
    expect(body.message).toMatch(/cache cleared/i);
    expect(await t.queue.getWaitingCount()).toBe(1);
    expect(Object.keys(await t.redis.hgetall(t.keys.pendingSections)).sort()).toEqual(['lite', 'overview']);
    expect(await t.redis.get(t.keys.snapshot('overview'))).toBe('{"kept":true}');
    await t.redis.del(t.keys.snapshot('overview'));
  });

  it('happy: a whitespace body means every section; any content type is read as JSON', async () => {
    expect((await post(t, '/api/ops/recompute', { token: TOKEN, body: '  \n' })).status).toBe(202);
    const res = await t.app.request('/api/ops/recompute', {
      method: 'POST',
      body: '{"sections":["lite"]}',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(res.status).toBe(202);
  });

  it.each([
    ['not JSON', '{sections:'],
    ['an unknown section', '{"sections":["overview","nope"]}'],
    ['an empty list', '{"sections":[]}'],
    ['a string instead of a list', '{"sections":"overview"}'],
    ['a number in the list', '{"sections":[1]}'],
    ['an unknown key', '{"section":["overview"]}'],
    ['an array body', '["overview"]'],
    ['null', 'null'],
    ['a number', '42'],
    ['a long list', JSON.stringify({ sections: Array(1000).fill('lite') })],
    ['deep nesting', `${'['.repeat(5000)}${']'.repeat(5000)}`],
  ])('error: %s is 400 invalid_body and queues nothing', async (_, body) => {
    const res = await post(t, '/api/ops/recompute', { token: TOKEN, body });
    expect(res.status).toBe(400);
    expect((await res.json()).error.code).toBe('invalid_body');
    expect(await t.queue.getWaitingCount()).toBe(0);
  });

  it('error: a body over 16 KiB is 413 payload_too_large', async () => {
    const body = JSON.stringify({ sections: ['lite'], pad: 'x'.repeat(20_000) });
    const res = await post(t, '/api/ops/recompute', { token: TOKEN, body });
    expect(res.status).toBe(413);
    expect((await res.json()).error.code).toBe('payload_too_large');
  });

  it('happy: a storm of clear-cache calls queues at most one set job', async () => {
    const answers = await Promise.all(
      Array.from({ length: 30 }, () => post(t, '/api/public/dashboard/clear-cache/', { token: TOKEN })),
    );
    expect(answers.map((r) => r.status)).toEqual(Array(30).fill(202));
    expect(await t.queue.getWaitingCount()).toBe(1);
    const ids = new Set<string>();
    for (const res of answers) {
      for (const job of (await res.json()).jobs) if (job.section === 'overview') ids.add(job.job_id);
    }
    expect(ids.size).toBe(1);
  });

  it('happy: a storm of refresh=true reads queues at most one set job, of every section', async () => {
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => t.app.request('/api/public/dashboard/v2/?refresh=true')),
    );
    // No snapshots in this file: each answers warming_up after its bounded wait.
    expect(new Set(answers.map((r) => r.status))).toEqual(new Set([503]));
    expect(await t.queue.getWaitingCount()).toBe(1);
    const waiting = await t.queue.getWaiting();
    expect(waiting.map((j) => j.data.sections.sort())).toEqual([[...SECTION_NAMES].sort()]);
    expect(new Set(waiting.map((j) => j.data.reason))).toEqual(new Set(['refresh']));
  });
});

describe('Bull Board', () => {
  it('security: without a token it is 401, with a bearer token it serves the UI', async () => {
    const anonymous = await t.app.request('/ops/queues');
    expect(anonymous.status).toBe(401);
    expect((await t.app.request('/ops/queues/api/queues')).status).toBe(401);
    const res = await t.app.request('/ops/queues', { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/html/);
  });

  it('security: ?token= sets an HttpOnly SameSite=Strict cookie and redirects without the token', async () => {
    const wrong = await t.app.request('/ops/queues?token=wrong-token-wrong');
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('set-cookie')).toBeNull();

    const res = await t.app.request(`/ops/queues?token=${TOKEN}&page=2`);
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/ops/queues?page=2');
    const cookie = res.headers.get('set-cookie') as string;
    expect(cookie).toMatch(/^snapboard_ops=[^;]+;/);
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    expect(cookie).toMatch(/Path=\/ops\/queues/);
    expect(cookie).not.toContain(TOKEN);
    const pair = cookie.split(';')[0] as string;

    const page = await t.app.request('/ops/queues', { headers: { cookie: pair } });
    expect(page.status).toBe(200);
    const api = await t.app.request('/ops/queues/api/queues', { headers: { cookie: pair } });
    expect(api.status).toBe(200);
    expect(JSON.stringify(await api.json())).toContain('recompute');

    // The cookie opens the UI only: it is not the ops token.
    const value = pair.split('=')[1] as string;
    expect((await post(t, '/api/ops/recompute', { token: value })).status).toBe(401);
    expect((await t.app.request('/ops/queues', { headers: { cookie: 'snapboard_ops=forged' } })).status).toBe(401);
  });
});

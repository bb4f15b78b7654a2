import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { median, SECTION_NAMES } from '@snapboard/shared';
import { beforeAll, describe, expect, it } from 'vitest';
import { assertAlive, useE2E } from './support/fixture.ts';
import { http } from './support/http.ts';
import { listeningAddresses } from './support/listening.ts';
import { type ApiProcess, REPO_ROOT, type ServiceProcess } from './support/processes.ts';
import { waitUntil } from './support/wait.ts';
import { WsClient } from './support/ws-client.ts';

/**
 * Security of the access paths (SPEC §6, §9): ops endpoints and Bull Board refuse missing or wrong
 * tokens without leaking through timing, public answers carry no ops data, CORS is closed unless
 * configured, and servers bind to loopback unless told otherwise.
 */

const TOKEN = 'e2e-ops-token-0123456789abcdef';
const DB_PASSWORD = 'e2e-db-secret-pw';

describe('access', () => {
  const e2e = useE2E({ scope: 'file' });
  // Shared by every test: a worker, the API as deployed by default (with OPS_TOKEN), and one
  // configured the other way (no OPS_TOKEN, CORS open to one origin, bound to every interface).
  let worker: ServiceProcess;
  let api: ApiProcess;
  let other: ApiProcess;

  beforeAll(async () => {
    const u = new URL(e2e.env.databaseUrl);
    u.password = DB_PASSWORD; // trust auth ignores it; it must still never be shown
    worker = e2e.worker({ DATABASE_URL: u.toString() });
    [api, other] = await Promise.all([
      e2e.api({ OPS_TOKEN: TOKEN }, 'api'),
      e2e.api({ CORS_ORIGINS: 'https://good.example', HOST: '0.0.0.0' }, 'api-other'),
    ]);
    await waitUntil(
      'every section to be served',
      async () => {
        assertAlive(worker, api, other);
        return (await http(`${api.baseUrl}/api/public/dashboard/v2/`)).status === 200;
      },
      { timeoutMs: 30_000 },
    );
  }, 90_000);

  it('security: ops endpoints refuse a missing, malformed or wrong token, and accept the right one', async () => {
    const ops = [
      ['POST', '/api/public/dashboard/clear-cache/'],
      ['POST', '/api/ops/recompute'],
    ] as const;
    const wrong: (Record<string, string> | undefined)[] = [
      undefined,
      { authorization: '' },
      { authorization: 'Bearer' },
      { authorization: `Bearer ${TOKEN.slice(0, -1)}` },
      { authorization: `Bearer ${TOKEN}x` },
      { authorization: `Bearer ${TOKEN.toUpperCase()}` },
      { authorization: `Basic ${Buffer.from(`ops:${TOKEN}`).toString('base64')}` },
      { authorization: TOKEN },
      { 'x-ops-token': TOKEN },
      { cookie: `token=${TOKEN}` },
    ];
    for (const [method, path] of ops) {
      for (const headers of wrong) {
        const answer = await http(`${api.baseUrl}${path}`, {
          method,
          headers: { 'content-type': 'application/json', ...headers },
          body: '{}',
        });
        expect(answer.status, `${method} ${path} ${JSON.stringify(headers)}`).toBe(401);
        expect(answer.body).toMatchObject({ error: { code: 'unauthorized' } });
        expect(answer.text).not.toContain(TOKEN);
      }
      // The token in the query string is not a credential for the ops API.
      const inQuery = await http(`${api.baseUrl}${path}?token=${TOKEN}`, { method, body: '{}' });
      expect(inQuery.status).toBe(401);
      const ok = await http<{ success: boolean; jobs: { section: string }[] }>(`${api.baseUrl}${path}`, {
        method,
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ sections: ['overview'] }),
      });
      expect(ok.status, `${method} ${path} with the token`).toBe(202);
      expect(ok.body.success).toBe(true);
    }
  });

  it('security: Bull Board needs the token; the ?token= visit yields a cookie that opens the UI only', async () => {
    const ui = `${api.baseUrl}/ops/queues`;
    expect((await http(ui)).status).toBe(401);
    expect((await http(ui, { headers: { authorization: `Bearer ${TOKEN}0` } })).status).toBe(401);
    expect((await http(`${ui}?token=${TOKEN.slice(1)}`, { redirect: 'manual' })).status).toBe(401);
    expect((await http(ui, { headers: { cookie: 'snapboard_ops=forged' } })).status).toBe(401);
    expect((await http(ui, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(200);

    const visit = await fetch(`${ui}?token=${TOKEN}`, { redirect: 'manual' });
    expect(visit.status).toBe(303);
    expect(visit.headers.get('location')).not.toContain(TOKEN);
    const cookie = visit.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).not.toContain(TOKEN);
    const pair = cookie.split(';')[0]!;
    expect((await http(ui, { headers: { cookie: pair } })).status).toBe(200);
    const apiWithCookie = await http(`${api.baseUrl}/api/ops/recompute`, { method: 'POST', headers: { cookie: pair } });
    expect(apiWithCookie.status).toBe(401);
  });

  it('security: without OPS_TOKEN every ops path answers 403 ops_disabled, whatever is sent', async () => {
    for (const [method, path] of [
      ['POST', '/api/public/dashboard/clear-cache/'],
      ['POST', '/api/ops/recompute'],
      ['GET', '/ops/queues'],
    ] as const) {
      for (const headers of [{}, { authorization: 'Bearer anything-at-all-long-enough' }] as Record<string, string>[]) {
        const answer = await http(`${other.baseUrl}${path}`, { method, headers });
        expect(answer.status, `${method} ${path}`).toBe(403);
        expect(answer.body).toMatchObject({ error: { code: 'ops_disabled' } });
      }
    }
  });

  it('security: token checks take the same time whether the guess is long, short or a near miss', async () => {
    const candidates = {
      sameLength: 'x'.repeat(TOKEN.length),
      otherLength: 'x'.repeat(7),
      prefixMatch: `${TOKEN.slice(0, -1)}#`,
    };
    const samples: Record<keyof typeof candidates, number[]> = { sameLength: [], otherLength: [], prefixMatch: [] };
    const url = `${api.baseUrl}/api/ops/recompute`;
    // Interleaved so that drift in machine load hits every candidate alike.
    for (let round = 0; round < 150; round++) {
      for (const [name, guess] of Object.entries(candidates) as [keyof typeof candidates, string][]) {
        const start = process.hrtime.bigint();
        const answer = await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${guess}` } });
        await answer.arrayBuffer();
        samples[name].push(Number(process.hrtime.bigint() - start) / 1e6);
        expect(answer.status).toBe(401);
      }
    }
    const medians = Object.values(samples).map((values) => median(values)!);
    const overall = median(Object.values(samples).flat())!;
    const spread = Math.max(...medians) - Math.min(...medians);
    // A comparison that stops at the first differing byte differs by nanoseconds, which HTTP noise
    // hides; this bound catches gross differences (a slow path for one kind of guess). The
    // constant-time property itself is asserted on the implementation in the next test.
    expect(spread, `medians ${medians.map((m) => m.toFixed(3)).join(' / ')} ms`).toBeLessThan(
      Math.max(1, overall * 0.5),
    );
  });

  it('security: the API compares SHA-256 digests of tokens with timingSafeEqual, never the token itself', async () => {
    const dir = join(REPO_ROOT, 'apps/api/src');
    const files = (await readdir(dir, { recursive: true })).filter((f) => f.endsWith('.ts'));
    const sources = await Promise.all(files.map(async (f) => [f, await readFile(join(dir, f), 'utf8')] as const));
    const users = sources.filter(([, text]) => /opsToken/.test(text));
    expect(users.length).toBeGreaterThan(0);
    const auth = sources.filter(([, text]) => /timingSafeEqual/.test(text));
    expect(auth.map(([f]) => f)).not.toHaveLength(0);
    for (const [file, text] of auth) {
      expect(text, file).toMatch(/createHash\(['"]sha256['"]\)/);
    }
    for (const [file, text] of sources) {
      // No direct comparison of a secret with what the client sent.
      expect(text, file).not.toMatch(/(opsToken|token)\s*[!=]==?\s*(given|header|bearer|auth)/i);
      expect(text, file).not.toMatch(/(given|header|bearer|auth)\w*\s*[!=]==?\s*(config\.)?opsToken/i);
    }
  });

  it('security: public answers carry no ops data, no secrets and no stack traces', async () => {
    const paths = [
      '/api/public/dashboard/v2/',
      '/api/public/dashboard/lite/',
      '/api/public/paper-trading/dashboard/',
      ...SECTION_NAMES.map((s) => `/api/public/dashboard/sections/${s}/`),
      '/api/public/dashboard/sections/nope/',
      '/api/public/dashboard/v2/?limit=abc',
      '/healthz',
      '/readyz',
      '/metrics',
      '/api/openapi.json',
      '/',
      '/no/such/path',
    ];
    const forbidden = [TOKEN, DB_PASSWORD, 'postgres://', 'postgresql://', 'redis://', e2e.prefix, '    at '];
    for (const path of paths) {
      const answer = await http(`${api.baseUrl}${path}`);
      expect(answer.status, path).toBeLessThan(500);
      for (const needle of forbidden) expect(answer.text, `${path} shows ${needle}`).not.toContain(needle);
      expect([...answer.headers.values()].join('\n')).not.toContain(TOKEN);
    }
    const v2 = (await http<Record<string, unknown>>(`${api.baseUrl}/api/public/dashboard/v2/`)).body;
    expect(Object.keys(v2).sort()).toEqual(
      [
        'cache_info',
        'cached',
        'open_positions',
        'overview',
        'performance_metrics',
        'recent_trades',
        'sections',
        'timestamp',
        'top_performers',
        'trading_stats',
      ].sort(),
    );
    // Nothing secret in either process's logs either.
    for (const proc of [api, worker]) {
      const all = proc.lines.map((l) => l.raw).join('\n');
      expect(all, proc.name).not.toContain(TOKEN);
      expect(all, proc.name).not.toContain(DB_PASSWORD);
    }
  });

  it('security: CORS is closed by default, opens only to configured origins, and never for ops', async () => {
    const [closed, open] = [api, other];
    const lite = '/api/public/dashboard/lite/';
    const preflight = (origin: string, method = 'GET') => ({
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': method },
    });

    for (const origin of ['https://good.example', 'https://evil.example', 'null']) {
      const get = await http(`${closed.baseUrl}${lite}`, { headers: { origin } });
      expect(get.headers.get('access-control-allow-origin'), `closed GET from ${origin}`).toBeNull();
      const pre = await http(`${closed.baseUrl}${lite}`, preflight(origin));
      expect(pre.headers.get('access-control-allow-origin'), `closed preflight from ${origin}`).toBeNull();
    }

    const good = await http(`${open.baseUrl}${lite}`, { headers: { origin: 'https://good.example' } });
    expect(good.headers.get('access-control-allow-origin')).toBe('https://good.example');
    const goodPre = await http(`${open.baseUrl}${lite}`, preflight('https://good.example'));
    expect(goodPre.headers.get('access-control-allow-origin')).toBe('https://good.example');
    for (const origin of ['https://evil.example', 'https://good.example.evil.example', 'http://good.example']) {
      const evil = await http(`${open.baseUrl}${lite}`, { headers: { origin } });
      expect(evil.headers.get('access-control-allow-origin'), origin).toBeNull();
    }
    for (const path of ['/api/ops/recompute', '/api/public/dashboard/clear-cache/']) {
      const pre = await http(`${open.baseUrl}${path}`, preflight('https://good.example', 'POST'));
      expect(pre.headers.get('access-control-allow-origin'), path).toBeNull();
      for (const target of [open, closed]) {
        const post = await http(`${target.baseUrl}${path}`, {
          method: 'POST',
          headers: { origin: 'https://good.example', authorization: `Bearer ${TOKEN}` },
        });
        expect(post.headers.get('access-control-allow-origin'), path).toBeNull();
      }
    }

    // A browser on another site cannot open the socket either; non-browser clients send no Origin.
    await expect(WsClient.connect(closed.wsUrl, { origin: 'https://evil.example' })).rejects.toMatchObject({
      status: 403,
    });
    const plain = await WsClient.connect(closed.wsUrl);
    await plain.waitFor('welcome', (m) => m.type === 'welcome');
    await plain.close();
    const allowed = await WsClient.connect(open.wsUrl, { origin: 'https://good.example' });
    await allowed.waitFor('welcome', (m) => m.type === 'welcome');
    await allowed.close();
  });

  it('security: the API and worker listen on loopback only unless HOST says otherwise', async () => {
    const apiSockets = await listeningAddresses(api.pid);
    expect(apiSockets.length).toBeGreaterThan(0);
    for (const socket of apiSockets) expect(socket.address).toMatch(/^(127\.0\.0\.1|::1|::ffff:127\.0\.0\.1)$/);
    // The worker serves nothing; if it ever listens, loopback only.
    for (const socket of await listeningAddresses(worker.pid)) expect(socket.address).toBe('127.0.0.1');

    // The check can fail: configured to bind everywhere, the API does.
    expect((await listeningAddresses(other.pid)).map((s) => s.address)).toContain('0.0.0.0');
  });
});

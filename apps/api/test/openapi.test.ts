import { useTestEnv } from '@snapboard/devenv/testing';
import { PATHS, SECTION_NAMES } from '@snapboard/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from './support/app.ts';
import { newEpoch, publishAll, until } from './support/fixtures.ts';
import { type Conformance, loadOpenApi, type OpenApiDoc } from './support/openapi.ts';

/** The document describes every endpoint, and real answers validate against its schemas. */

const env = useTestEnv({ database: false });
const TOKEN = 'ops-token-for-tests-0123456789';
let t: TestApp;
let disabled: TestApp;
let openapi: Conformance;
let doc: OpenApiDoc;
let conforms: Conformance['conforms'];

beforeAll(async () => {
  t = await buildTestApp(env.config({ OPS_TOKEN: TOKEN }));
  disabled = await buildTestApp(env.config());
  openapi = await loadOpenApi(t);
  ({ doc, conforms } = openapi);
});
afterAll(async () => {
  await t?.close();
  await disabled?.close();
});

describe('OpenAPI document', () => {
  it('happy: is OpenAPI 3.1 and covers every endpoint', () => {
    expect(doc.openapi).toBe('3.1.0');
    for (const path of [
      '/api/public/dashboard/v2/',
      '/api/public/dashboard/lite/',
      '/api/public/dashboard/sections/{name}/',
      '/api/public/paper-trading/dashboard/',
      '/api/public/dashboard/clear-cache/',
      PATHS.recompute,
      PATHS.queues,
      PATHS.healthz,
      PATHS.readyz,
      PATHS.metrics,
      PATHS.openapi,
      '/',
    ]) {
      expect(Object.keys(doc.paths), path).toContain(path);
    }
  });

  it('happy: parameters come from the validating schemas (limit 1–100, default 20; sections enum)', () => {
    const params = doc.paths['/api/public/dashboard/v2/']?.get?.parameters as { name: string; schema: object }[];
    expect(params.find((p) => p.name === 'limit')?.schema).toMatchObject({
      type: 'integer',
      minimum: 1,
      maximum: 100,
      default: 20,
    });
    const section = doc.paths['/api/public/dashboard/sections/{name}/']?.get?.parameters as {
      name: string;
      schema: { enum: string[] };
    }[];
    expect(section.find((p) => p.name === 'name')?.schema.enum).toEqual([...SECTION_NAMES]);
  });

  it('happy: warming-up and not-ready answers match the document', async () => {
    await conforms('/api/public/dashboard/v2/', 'get', await t.app.request('/api/public/dashboard/v2/'));
    await conforms('/api/public/dashboard/lite/', 'get', await t.app.request('/api/public/dashboard/lite'));
    await conforms(PATHS.readyz, 'get', await t.app.request('/readyz'));
  });

  it('happy: real reads match the document', async () => {
    await publishAll(t.redis, t.keys, { epoch: newEpoch(), version: 1 });
    await until(() => SECTION_NAMES.every((s) => t.replica.get(s)));
    await conforms('/api/public/dashboard/v2/', 'get', await t.app.request('/api/public/dashboard/v2/'));
    await conforms('/api/public/dashboard/v2/', 'get', await t.app.request('/api/public/dashboard/v2/?limit=100'));
    await conforms('/api/public/dashboard/v2/', 'get', await t.app.request('/api/public/dashboard/v2/?limit=0'));
    await conforms(
      '/api/public/paper-trading/dashboard/',
      'get',
      await t.app.request('/api/public/paper-trading/dashboard/'),
    );
    await conforms('/api/public/dashboard/lite/', 'get', await t.app.request('/api/public/dashboard/lite/'));
    for (const name of SECTION_NAMES) {
      await conforms(
        '/api/public/dashboard/sections/{name}/',
        'get',
        await t.app.request(`/api/public/dashboard/sections/${name}/?limit=7`),
      );
    }
    await conforms(
      '/api/public/dashboard/sections/{name}/',
      'get',
      await t.app.request('/api/public/dashboard/sections/nope/'),
    );
    await conforms(PATHS.healthz, 'get', await t.app.request('/healthz'));
    await conforms(PATHS.readyz, 'get', await t.app.request('/readyz'));
  });

  it('happy: ops answers match the document', async () => {
    const post = (app: TestApp, path: string, init: RequestInit = {}) =>
      app.app.request(path, { method: 'POST', ...init });
    const auth = { authorization: `Bearer ${TOKEN}` };
    await conforms(PATHS.recompute, 'post', await post(t, PATHS.recompute, { headers: auth }));
    await conforms(
      '/api/public/dashboard/clear-cache/',
      'post',
      await post(t, '/api/public/dashboard/clear-cache/', { headers: auth, body: '{"sections":["lite"]}' }),
    );
    await conforms(
      PATHS.recompute,
      'post',
      await post(t, PATHS.recompute, { headers: auth, body: '{"sections":[7]}' }),
    );
    await conforms(PATHS.recompute, 'post', await post(t, PATHS.recompute));
    await conforms(PATHS.recompute, 'post', await post(disabled, PATHS.recompute, { headers: auth }));
    await t.queue.obliterate({ force: true });
  });

  it('error: a wrong answer would fail validation (the check has teeth)', async () => {
    const validate = openapi.validator('components', 'schemas', 'DashboardLite');
    expect(validate({ total_pnl: 1, win_rate: 2, active_trades: 3, daily_pnl: 4, timestamp: 'x' })).toBe(true);
    expect(validate({ total_pnl: '1', win_rate: 2, active_trades: 3, daily_pnl: 4, timestamp: 'x' })).toBe(false);
    expect(validate({ total_pnl: 1, win_rate: 2, active_trades: 3, daily_pnl: 4 })).toBe(false);
  });
});

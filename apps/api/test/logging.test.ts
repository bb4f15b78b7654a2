import { Writable } from 'node:stream';
import { useTestEnv } from '@snapboard/devenv/testing';
import { SECTION_NAMES } from '@snapboard/shared';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from './support/app.ts';
import { newEpoch, publishAll, until } from './support/fixtures.ts';

/** One log line per request (id, method, route, status, duration); successful reads only at debug. */

const env = useTestEnv({ database: false });
const TOKEN = 'ops-token-for-tests-0123456789';

function capture(level: 'debug' | 'info') {
  const lines: Record<string, unknown>[] = [];
  let raw = '';
  const stream = new Writable({
    write(chunk, _encoding, done) {
      raw += chunk;
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: pino({ level }, stream), lines, raw: () => raw };
}

let debug: TestApp;
let info: TestApp;
const debugLog = capture('debug');
const infoLog = capture('info');

beforeAll(async () => {
  debug = await buildTestApp(env.config({ OPS_TOKEN: TOKEN }), { logger: debugLog.logger });
  info = await buildTestApp(env.config({ OPS_TOKEN: TOKEN }), { logger: infoLog.logger });
  await publishAll(debug.redis, debug.keys, { epoch: newEpoch(), version: 1 });
  await until(() => SECTION_NAMES.every((s) => debug.replica.get(s) && info.replica.get(s)));
});
afterAll(async () => {
  await debug?.close();
  await info?.close();
});

const requestLines = (lines: Record<string, unknown>[]) => lines.filter((l) => l.msg === 'request');

describe('request log', () => {
  it('happy: at debug every request is exactly one line with id, method, route pattern, status, duration', async () => {
    const before = requestLines(debugLog.lines).length;
    await debug.app.request('/api/public/dashboard/sections/overview/', { headers: { 'x-request-id': 'abc-123' } });
    await debug.app.request('/api/public/dashboard/v2/?limit=0');
    const lines = requestLines(debugLog.lines).slice(before);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({
      level: 20,
      req_id: 'abc-123',
      method: 'GET',
      route: '/api/public/dashboard/sections/:name',
      path: '/api/public/dashboard/sections/overview/',
      status: 200,
      ms: expect.any(Number),
    });
    expect(lines[1]).toMatchObject({ level: 30, route: '/api/public/dashboard/v2', status: 400 });
    expect(lines[1]?.req_id).toEqual(expect.stringMatching(/^[0-9a-f]{6}-[0-9a-z]+$/));
  });

  it('happy: at info successful reads are not logged, client errors and ops calls are', async () => {
    const before = requestLines(infoLog.lines).length;
    await info.app.request('/api/public/dashboard/v2/');
    await info.app.request('/healthz');
    expect(requestLines(infoLog.lines)).toHaveLength(before);
    await info.app.request('/api/public/dashboard/sections/nope/');
    await info.app.request('/api/ops/recompute', { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } });
    const lines = requestLines(infoLog.lines).slice(before);
    expect(lines.map((l) => [l.route, l.status])).toEqual([
      ['/api/public/dashboard/sections/:name', 404],
      ['/api/ops/recompute', 202],
    ]);
    await info.queue.obliterate({ force: true });
  });

  it('edge: 503s the API answers on purpose (warming up, not ready) are one warn line each, no error', async () => {
    const coldLog = capture('info');
    const cold = await buildTestApp(env.config({ KEY_PREFIX: `${env.keyPrefix}:cold` }), { logger: coldLog.logger });
    try {
      expect((await cold.app.request('/api/public/dashboard/v2/')).status).toBe(503);
      expect((await cold.app.request('/api/public/dashboard/lite/')).status).toBe(503);
      expect((await cold.app.request('/readyz')).status).toBe(503);
      expect(coldLog.lines.filter((l) => Number(l.level) >= 50)).toEqual([]);
      expect(requestLines(coldLog.lines).map((l) => [l.level, l.status])).toEqual([
        [40, 503],
        [40, 503],
        [40, 503],
      ]);
    } finally {
      await cold.close();
    }
  });

  it('security: the ops token never reaches the log, even at debug', async () => {
    await debug.app.request(`/ops/queues?token=${TOKEN}`);
    await debug.app.request('/ops/queues?token=wrong-token-wrong');
    await debug.app.request('/api/ops/recompute', { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } });
    const lines = requestLines(debugLog.lines);
    expect(lines.some((l) => l.path === '/ops/queues' && l.status === 303)).toBe(true);
    expect(lines.some((l) => l.path === '/ops/queues' && l.status === 401)).toBe(true);
    expect(debugLog.raw()).not.toContain(TOKEN);
    expect(debugLog.raw()).not.toContain('wrong-token-wrong');
    await debug.queue.obliterate({ force: true });
  });
});

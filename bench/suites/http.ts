import type { CapturedResponse, CapturedRoute } from '../children/bare-routes.ts';
import type { BenchContext } from '../lib/context.ts';
import { cpuSeconds, type Managed, spawnTs } from '../lib/procs.ts';
import { type Figure, figure } from '../lib/report.ts';
import { apiEnv, startApi } from '../lib/stack.ts';
import { median } from '../lib/stats.ts';
import { type CpuScenario, cpuBoundMode } from './http-cpu.ts';

/**
 * 1. HTTP reads, in two modes, with the worker stopped so that only the servers and the generator
 * use the CPU:
 * - CPU-bound (http-cpu.ts, the one the hot path's targets are judged in): snapboard, (a) a bare
 *   node:http server answering the same bytes and the same handler inside an API process, fresh
 *   processes for every pair, each pinned to core 0, wrk pinned to core 1, server CPU per answer
 *   from /proc.
 * - autocannon (100 connections, no pipelining), in a process of its own, unpinned, against snapboard,
 *   (a), and (b) the cache-aside design snapboard replaces. Servers alternate within every round (a,
 *   snapboard, b, a, …) so a noisy neighbour hurts all three alike; figures are medians over rounds.
 *   autocannon costs more per request than the servers, so here it is mostly autocannon that is
 *   measured; the mode is kept to compare with earlier runs.
 */

const V2 = '/api/public/dashboard/v2/?limit=20';
const LITE = '/api/public/dashboard/lite/';
const DEPRECATED = '/api/public/paper-trading/dashboard/';
const SECTION = '/api/public/dashboard/sections/open_positions/';
const CPU_SCENARIOS: CpuScenario[] = [
  { name: 'v2', label: 'v2 ?limit=20', path: V2, route: '/api/public/dashboard/v2', conditional: false },
  { name: 'lite', label: 'lite', path: LITE, route: '/api/public/dashboard/lite', conditional: false },
  {
    name: 'deprecated',
    label: 'deprecated path',
    path: DEPRECATED,
    route: '/api/public/paper-trading/dashboard',
    conditional: false,
  },
  {
    name: 'section',
    label: 'sections/open_positions',
    path: SECTION,
    route: '/api/public/dashboard/sections/:name',
    conditional: false,
  },
  { name: 'v2_304', label: 'v2 304', path: V2, route: '/api/public/dashboard/v2', conditional: true },
];
// The bot's own API (SPEC §11): the three GETs of its public page.
const BOT_LIST = '/api/public/paper-trading/';
const BOT_SUMMARY = '/api/public/paper-trading/summary/';
const BOT_OPEN = '/api/public/paper-trading/open-positions/';
const BOT_SCENARIOS = [
  { name: 'bot_list', path: BOT_LIST, label: 'bot trade list' },
  { name: 'bot_summary', path: BOT_SUMMARY, label: 'bot summary' },
  { name: 'bot_open', path: BOT_OPEN, label: 'bot open positions' },
] as const;
const CONNECTIONS = 100;

type ServerName = 'bare' | 'snapboard' | 'cacheAside';

interface Round {
  serverCpu: number;
  loadCpu: number;
  rps: number;
  p99: number;
  p50: number;
  statuses: Record<string, number>;
  errors: number;
  timeouts: number;
}

interface LoadResult {
  type: 'result';
  id: number;
  rps: number;
  latencyP50: number;
  latencyP99: number;
  statuses: Record<string, number>;
  errors: number;
  timeouts: number;
  error?: string;
}

async function capture(baseUrl: string, path: string, headers: Record<string, string> = {}): Promise<CapturedResponse> {
  const response = await fetch(`${baseUrl}${path}`, { headers });
  const body = Buffer.from(await response.arrayBuffer());
  return { status: response.status, headers: [...response.headers.entries()], body: body.toString('base64') };
}

/** The answers snapboard gives right now: a 200 and, with its ETag, a 304. */
async function captureRoute(baseUrl: string, path: string): Promise<CapturedRoute> {
  const ok = await capture(baseUrl, path);
  if (ok.status !== 200) throw new Error(`GET ${path} answered ${ok.status}: ${Buffer.from(ok.body, 'base64')}`);
  const etag = ok.headers.find(([name]) => name === 'etag')?.[1];
  if (!etag) return { path, ok };
  const notModified = await capture(baseUrl, path, { 'if-none-match': etag });
  return { path, ok, etag, ...(notModified.status === 304 ? { notModified } : {}) };
}

export async function httpSuite(ctx: BenchContext): Promise<Figure[]> {
  const stack = await ctx.stack();
  const { api } = stack;
  const rounds = ctx.quick ? 2 : 3;
  const durationSec = ctx.quick ? 3 : 5;
  const children: Managed[] = [];
  // Only the servers and the load generator may use the CPU while they are measured.
  await stack.stopWorker();
  try {
    const bare = spawnTs('http-bare', 'bench/children/bare-http.ts', { ipc: true });
    const cacheAside = spawnTs('http-cache-aside', 'bench/children/cache-aside.ts', {
      ipc: true,
      env: { REDIS_URL: ctx.redisUrl, KEY_PREFIX: ctx.keyPrefix },
    });
    const load = spawnTs('http-load', 'bench/children/load-http.ts', { ipc: true });
    children.push(bare, cacheAside, load);

    const routes = async (baseUrl: string) => {
      const all: CapturedRoute[] = [];
      for (const path of [V2, LITE, DEPRECATED, SECTION, ...BOT_SCENARIOS.map((b) => b.path)])
        all.push(await captureRoute(baseUrl, path));
      return all;
    };
    const listening = (m: { type: string }) => m.type === 'listening';
    let captured = await routes(api.baseUrl);
    bare.send({ type: 'routes', routes: captured });
    const barePort = (await bare.next<{ port: number; type: string }>(listening, 20_000, 'listening')).port;
    const cacheAsidePort = (await cacheAside.next<{ port: number; type: string }>(listening, 20_000, 'listening')).port;
    const base: Record<ServerName, string> = {
      bare: `http://127.0.0.1:${barePort}`,
      snapboard: api.baseUrl,
      cacheAside: `http://127.0.0.1:${cacheAsidePort}`,
    };

    // The bare server must send what snapboard sends: check once, byte for byte.
    for (const route of captured) {
      const fromBare = await capture(base.bare, route.path);
      if (fromBare.body !== route.ok.body) throw new Error(`bare server does not echo ${route.path}`);
    }

    const cpu = await cpuBoundMode({
      quick: ctx.quick,
      log: ctx.log,
      async startServers() {
        const env = { databaseUrl: '', redisUrl: ctx.redisUrl, keyPrefix: ctx.keyPrefix };
        const started: Managed[] = [];
        try {
          const fresh = await startApi(env, 'http-cpu-api');
          started.push(fresh.process);
          const bareChild = spawnTs('http-cpu-bare', 'bench/children/bare-http.ts', { ipc: true });
          // The bare handler inside another snapboard API process (bench/children/api-bare.ts).
          const inApi = spawnTs('http-cpu-api-bare', 'bench/children/api-bare.ts', { ipc: true, env: apiEnv(env, 0) });
          started.push(bareChild, inApi);
          const answers = await routes(fresh.baseUrl);
          const ports = await Promise.all(
            [bareChild, inApi].map(async (child) => {
              child.send({ type: 'routes', routes: answers });
              return (await child.next<{ port: number; type: string }>(listening, 30_000, 'listening')).port;
            }),
          );
          return {
            snapboard: { url: fresh.baseUrl, pid: fresh.process.pid },
            bare: { url: `http://127.0.0.1:${ports[0]}`, pid: bareChild.pid },
            inApi: { url: `http://127.0.0.1:${ports[1]}`, pid: inApi.pid },
            etags: new Map(answers.map((r) => [r.path, r.notModified ? r.etag : undefined])),
            stop: () => Promise.all(started.map((c) => c.stop())).then(() => {}),
          };
        } catch (error) {
          await Promise.all(started.map((c) => c.stop()));
          throw error;
        }
      },
      scenarios: CPU_SCENARIOS,
    });

    let nextId = 0;
    const pids: Record<ServerName, number> = { bare: bare.pid, snapboard: api.process.pid, cacheAside: cacheAside.pid };
    const hit = async (
      server: ServerName,
      path: string,
      seconds: number,
      headers?: Record<string, string>,
      trackEtag = false,
    ): Promise<Round> => {
      const id = nextId++;
      const url = `${base[server]}${path}`;
      // CPU seconds per wall second of the server and of autocannon: which of them was the limit.
      const cpu0 = [cpuSeconds(pids[server]), cpuSeconds(load.pid)];
      const t0 = performance.now();
      load.send({ type: 'run', id, url, connections: CONNECTIONS, durationSec: seconds, headers, trackEtag });
      const result = await load.next<LoadResult>(
        (m) => m.type === 'result' && m.id === id,
        (seconds + 30) * 1000,
        'autocannon result',
      );
      if (result.error) throw new Error(`autocannon: ${result.error}`);
      const wall = (performance.now() - t0) / 1000;
      const cpu1 = [cpuSeconds(pids[server]), cpuSeconds(load.pid)];
      const share = (i: number) => (cpu0[i] != null && cpu1[i] != null ? (cpu1[i]! - cpu0[i]!) / wall : Number.NaN);
      return {
        serverCpu: share(0),
        loadCpu: share(1),
        rps: result.rps,
        p99: result.latencyP99,
        p50: result.latencyP50,
        statuses: result.statuses,
        errors: result.errors,
        timeouts: result.timeouts,
      };
    };

    ctx.log('http: warming up the three servers');
    for (const name of ['bare', 'snapboard', 'cacheAside'] as const) {
      await hit(name, V2, 1);
      await hit(name, LITE, 1);
      for (const bot of BOT_SCENARIOS) await hit(name, bot.path, 1);
    }

    type Scenario = 'v2' | 'lite' | 'v2_304' | 'lite_304' | (typeof BOT_SCENARIOS)[number]['name'];
    const scenarios: { name: Scenario; path: string; servers: ServerName[]; conditional: boolean }[] = [
      { name: 'v2', path: V2, servers: ['bare', 'snapboard', 'cacheAside'], conditional: false },
      { name: 'lite', path: LITE, servers: ['bare', 'snapboard', 'cacheAside'], conditional: false },
      { name: 'v2_304', path: V2, servers: ['bare', 'snapboard'], conditional: true },
      { name: 'lite_304', path: LITE, servers: ['bare', 'snapboard'], conditional: true },
      ...BOT_SCENARIOS.map((b) => ({
        name: b.name,
        path: b.path,
        servers: ['bare', 'snapboard', 'cacheAside'] as ServerName[],
        conditional: false,
      })),
    ];
    const results = new Map<string, Round[]>();
    for (let round = 0; round < rounds; round++) {
      // Re-capture each round: a version may have moved, and (a) must keep sending what snapboard sends.
      captured = await routes(api.baseUrl);
      bare.send({ type: 'routes', routes: captured });
      await bare.next((m: { type: string }) => m.type === 'routes-set', 20_000, 'routes-set');
      for (const scenario of scenarios) {
        const route = captured.find((r) => r.path === scenario.path)!;
        if (scenario.conditional && !route.notModified) continue;
        const headers = scenario.conditional ? { 'if-none-match': route.etag! } : undefined;
        for (const server of scenario.servers) {
          const r = await hit(server, scenario.path, durationSec, headers, scenario.conditional);
          const key = `${scenario.name}:${server}`;
          results.set(key, [...(results.get(key) ?? []), r]);
          ctx.log(
            `http: round ${round + 1}/${rounds} ${scenario.name.padEnd(8)} ${server.padEnd(10)} ${Math.round(r.rps)
              .toString()
              .padStart(
                6,
              )} req/s  p99 ${r.p99} ms  cpu server ${r.serverCpu.toFixed(2)} load ${r.loadCpu.toFixed(2)}  ${JSON.stringify(r.statuses)}`,
          );
        }
      }
    }

    const med = (key: string, pick: (r: Round) => number) => median((results.get(key) ?? []).map(pick));
    const samples = (key: string, pick: (r: Round) => number) => (results.get(key) ?? []).map(pick);
    const statusShare = (key: string, status: string) => {
      const all = results.get(key) ?? [];
      const total = all.reduce((n, r) => n + Object.values(r.statuses).reduce((a, b) => a + b, 0), 0);
      const matching = all.reduce((n, r) => n + (r.statuses[status] ?? 0), 0);
      return total ? matching / total : 0;
    };
    // CPU time the server spent per answer (median over rounds): unlike req/s, it does not depend on
    // how much of a core the server was given while it ran.
    const cpuPerAnswer = (key: string) => {
      const value = med(key, (r) => (r.serverCpu / r.rps) * 1e6);
      return value == null ? '?' : value.toFixed(0);
    };
    const rpsFig = (scenario: Scenario, server: ServerName) => med(`${scenario}:${server}`, (r) => r.rps);
    const figures: Figure[] = [...cpu.figures];
    const bareLabel = 'bare node:http';
    const casideLabel = 'cache-aside Hono';

    for (const scenario of ['v2', 'lite'] as const) {
      const name = scenario === 'v2' ? 'v2' : 'lite';
      const share = statusShare(`${scenario}:snapboard`, '200');
      const note = [
        share < 0.999 ? `only ${(share * 100).toFixed(1)}% of answers were 200` : '',
        `server CPU per answer: snapboard ${cpuPerAnswer(`${scenario}:snapboard`)} µs, bare ${cpuPerAnswer(`${scenario}:bare`)} µs`,
      ]
        .filter(Boolean)
        .join('; ');
      figures.push(
        figure({
          id: `http.${scenario}.throughput_vs_bare`,
          suite: 'http',
          // Judged in the CPU-bound mode (http.cpu.*): here autocannon is the bottleneck.
          label: `${name} throughput vs (a), autocannon`,
          value: rpsFig(scenario, 'snapboard'),
          unit: 'req/s',
          baseline: { label: bareLabel, value: rpsFig(scenario, 'bare') },
          samples: samples(`${scenario}:snapboard`, (r) => r.rps),
          note,
        }),
        figure({
          id: `http.${scenario}.throughput_vs_cache_aside`,
          suite: 'http',
          label: `${name} throughput vs (b)`,
          value: rpsFig(scenario, 'snapboard'),
          unit: 'req/s',
          baseline: { label: casideLabel, value: rpsFig(scenario, 'cacheAside') },
          ...(scenario === 'v2' ? { target: { on: 'ratio' as const, op: '>=' as const, limit: 3 } } : {}),
          samples: samples(`${scenario}:cacheAside`, (r) => r.rps),
        }),
        figure({
          id: `http.${scenario}.p99`,
          suite: 'http',
          label: `${name} p99 latency @100 conns, autocannon`,
          value: med(`${scenario}:snapboard`, (r) => r.p99),
          unit: 'ms',
          baseline: { label: bareLabel, value: med(`${scenario}:bare`, (r) => r.p99) },
          target: { on: 'value', op: '<=', limit: 10 },
          samples: samples(`${scenario}:snapboard`, (r) => r.p99),
        }),
      );
    }
    for (const scenario of ['v2_304', 'lite_304'] as const) {
      const name = scenario === 'v2_304' ? 'v2' : 'lite';
      const share = statusShare(`${scenario}:snapboard`, '304');
      const measured = results.has(`${scenario}:snapboard`);
      const conditionalNote = measured
        ? `${(share * 100).toFixed(1)}% of snapboard's answers were 304 (the rest 200s after a version moved); ` +
          `server CPU per answer: snapboard ${cpuPerAnswer(`${scenario}:snapboard`)} µs, bare ${cpuPerAnswer(`${scenario}:bare`)} µs`
        : 'snapboard gave no ETag/304 to measure';
      figures.push(
        figure({
          id: `http.${scenario}.throughput_vs_bare`,
          suite: 'http',
          label: `${name} 304 throughput vs (a), autocannon`,
          value: rpsFig(scenario, 'snapboard'),
          unit: 'req/s',
          baseline: { label: `${bareLabel} 304`, value: rpsFig(scenario, 'bare') },
          samples: samples(`${scenario}:snapboard`, (r) => r.rps),
          note: conditionalNote,
        }),
      );
    }
    for (const bot of BOT_SCENARIOS) {
      const share = statusShare(`${bot.name}:snapboard`, '200');
      const note = [
        share < 0.999 ? `only ${(share * 100).toFixed(1)}% of answers were 200` : '',
        `server CPU per answer: snapboard ${cpuPerAnswer(`${bot.name}:snapboard`)} µs, bare ${cpuPerAnswer(`${bot.name}:bare`)} µs, cache-aside ${cpuPerAnswer(`${bot.name}:cacheAside`)} µs`,
      ]
        .filter(Boolean)
        .join('; ');
      figures.push(
        figure({
          id: `http.${bot.name}.throughput_vs_bare`,
          suite: 'http',
          label: `${bot.label} throughput vs (a)`,
          value: rpsFig(bot.name, 'snapboard'),
          unit: 'req/s',
          baseline: { label: bareLabel, value: rpsFig(bot.name, 'bare') },
          target: { on: 'ratio', op: '>=', limit: 0.85 },
          samples: samples(`${bot.name}:snapboard`, (r) => r.rps),
          note,
        }),
        figure({
          id: `http.${bot.name}.throughput_vs_cache_aside`,
          suite: 'http',
          label: `${bot.label} throughput vs (b)`,
          value: rpsFig(bot.name, 'snapboard'),
          unit: 'req/s',
          baseline: { label: casideLabel, value: rpsFig(bot.name, 'cacheAside') },
          samples: samples(`${bot.name}:cacheAside`, (r) => r.rps),
        }),
      );
    }
    ctx.facts.http = {
      cpuBound: cpu.facts,
      connections: CONNECTIONS,
      rounds,
      durationSec,
      bodyBytes: Object.fromEntries(captured.map((r) => [r.path, Buffer.from(r.ok.body, 'base64').length])),
      rounds_detail: Object.fromEntries(results),
    };
    return figures;
  } finally {
    await Promise.all(children.map((c) => c.stop()));
    await stack.startWorker();
  }
}

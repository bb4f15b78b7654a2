import { availableParallelism } from 'node:os';
import { listenToAnnouncements } from '../lib/announcements.ts';
import type { BenchContext } from '../lib/context.ts';
import { cpuSeconds, type Managed, spawnTs, treeCpuSeconds } from '../lib/procs.ts';
import { type Figure, figure } from '../lib/report.ts';
import { type Api, startApi } from '../lib/stack.ts';
import { median, percentile } from '../lib/stats.ts';
import { createCloser } from '../lib/trades.ts';
import { type Measured, measureFanout } from './ws.ts';

/**
 * All cores of a host (SPEC §12, issue 14 item 5): snapboard's API with `API_PROCESSES=1` and `=2`
 * in the same run.
 * - HTTP: v2 (limit 20) under autocannon, 100 connections split over two load processes (so that one
 *   load process is not the limit of the two-process server), against the bare node:http floor run the
 *   same way: one process, or node:cluster with two (bench/children/bare-http-cluster.ts). The four
 *   servers alternate within every round; figures are medians over rounds. Server CPU counts the
 *   whole process tree.
 * - WebSocket fan-out at 10,000 subscribers (every page section, limit 20, patches, as the ws suite):
 *   announce → last subscriber, and API CPU per trade close, for 1 and 2 processes on fresh APIs.
 * Two processes can only beat one when a core is free for the second: on a host with two cores the
 * load generators (or the subscribers' processes) take one of them, so read the figures of this suite
 * together with the core count it prints.
 */

const V2 = '/api/public/dashboard/v2/?limit=20';
const CONNECTIONS = 100;
const LOADERS = 2;
const FANOUT_SUBSCRIBERS = 10_000;

type Config = 'bare1' | 'snapboard1' | 'bare2' | 'snapboard2';

interface Round {
  rps: number;
  p99: number;
  /** Server CPU (whole tree) per answer, µs. */
  cpuPerAnswerUs: number;
  /** CPU of the load processes, in cores. */
  loadCores: number;
  non200: number;
}

interface LoadResult {
  type: 'result';
  id: number;
  rps: number;
  latencyP99: number;
  statuses: Record<string, number>;
  errors: number;
  error?: string;
}

export async function processesSuite(ctx: BenchContext): Promise<Figure[]> {
  // The stack's worker publishes (and its API proves every section is there); the servers measured
  // here are started for this suite.
  await ctx.stack();
  const cores = availableParallelism();
  ctx.facts.processes = { cores };
  ctx.log(`processes: ${cores} cores (load average counts every other process on the host too)`);
  const figures = await httpAcrossProcesses(ctx, cores);
  figures.push(...(await fanoutAcrossProcesses(ctx, cores)));
  return figures;
}

async function httpAcrossProcesses(ctx: BenchContext, cores: number): Promise<Figure[]> {
  const rounds = ctx.quick ? 2 : 3;
  const durationSec = ctx.quick ? 3 : 5;
  const owned: Managed[] = [];
  try {
    const stackEnv = { databaseUrl: ctx.databaseUrl, redisUrl: ctx.redisUrl, keyPrefix: ctx.keyPrefix };
    const apis: Record<1 | 2, Api> = {
      1: await startApi({ ...stackEnv, extra: { API_PROCESSES: '1' } }, 'processes-api-1'),
      2: await startApi({ ...stackEnv, extra: { API_PROCESSES: '2' } }, 'processes-api-2'),
    };
    owned.push(apis[1].process, apis[2].process);
    const bare = {
      1: spawnTs('processes-bare-1', 'bench/children/bare-http.ts', { ipc: true }),
      2: spawnTs('processes-bare-2', 'bench/children/bare-http-cluster.ts', { ipc: true, args: ['2'] }),
    };
    owned.push(bare[1], bare[2]);
    const loaders = Array.from({ length: LOADERS }, (_, i) =>
      spawnTs(`processes-load-${i}`, 'bench/children/load-http.ts', { ipc: true }),
    );
    owned.push(...loaders);

    // The floor answers with snapboard's own bytes, re-captured each round (a version may move).
    const capture = async () => {
      const response = await fetch(`${apis[1].baseUrl}${V2}`);
      const body = Buffer.from(await response.arrayBuffer());
      if (response.status !== 200) throw new Error(`GET ${V2} answered ${response.status}: ${body}`);
      const ok = { status: 200, headers: [...response.headers.entries()], body: body.toString('base64') };
      for (const b of [bare[1], bare[2]]) b.send({ type: 'routes', routes: [{ path: V2, ok }] });
    };
    // A child still loading may miss what it is sent: the routes go again until both listen.
    await capture();
    const resend = setInterval(() => void capture().catch(() => {}), 2000);
    const listening = (m: { type: string }) => m.type === 'listening';
    const barePorts = await Promise.all(
      [bare[1], bare[2]].map((b) => b.next<{ type: string; port: number }>(listening, 30_000, 'listening')),
    ).finally(() => clearInterval(resend));
    const servers: Record<Config, { url: string; pid: number }> = {
      bare1: { url: `http://127.0.0.1:${barePorts[0]!.port}${V2}`, pid: bare[1].pid },
      bare2: { url: `http://127.0.0.1:${barePorts[1]!.port}${V2}`, pid: bare[2].pid },
      snapboard1: { url: `${apis[1].baseUrl}${V2}`, pid: apis[1].process.pid },
      snapboard2: { url: `${apis[2].baseUrl}${V2}`, pid: apis[2].process.pid },
    };

    let nextId = 0;
    const hit = async (config: Config, seconds: number): Promise<Round> => {
      const { url, pid } = servers[config];
      const cpu0 = [treeCpuSeconds(pid), ...loaders.map((l) => cpuSeconds(l.pid))];
      const t0 = performance.now();
      const ids = loaders.map(() => nextId++);
      for (const [i, l] of loaders.entries()) {
        l.send({ type: 'run', id: ids[i], url, connections: CONNECTIONS / LOADERS, durationSec: seconds });
      }
      const results = await Promise.all(
        loaders.map((l, i) =>
          l.next<LoadResult>((m) => m.type === 'result' && m.id === ids[i], (seconds + 30) * 1000, 'autocannon result'),
        ),
      );
      const wall = (performance.now() - t0) / 1000;
      const cpu1 = [treeCpuSeconds(pid), ...loaders.map((l) => cpuSeconds(l.pid))];
      const failed = results.find((r) => r.error);
      if (failed) throw new Error(`autocannon: ${failed.error}`);
      const spent = cpu1.map((v, i) => (v == null || cpu0[i] == null ? Number.NaN : v - cpu0[i]!));
      const rps = results.reduce((sum, r) => sum + r.rps, 0);
      return {
        rps,
        p99: Math.max(...results.map((r) => r.latencyP99)),
        cpuPerAnswerUs: ((spent[0]! / wall) * 1e6) / rps,
        loadCores: spent.slice(1).reduce((a, b) => a + b, 0) / wall,
        non200: results.reduce(
          (sum, r) =>
            sum + r.errors + Object.entries(r.statuses).reduce((n, [code, c]) => n + (code === '200' ? 0 : c), 0),
          0,
        ),
      };
    };

    const order: Config[] = ['bare1', 'snapboard1', 'bare2', 'snapboard2'];
    for (const config of order) await hit(config, 1);
    const results: Record<Config, Round[]> = { bare1: [], snapboard1: [], bare2: [], snapboard2: [] };
    for (let round = 0; round < rounds; round++) {
      await capture();
      for (const config of round % 2 === 0 ? order : [...order].reverse()) {
        const r = await hit(config, durationSec);
        results[config].push(r);
        ctx.log(
          `processes: round ${round + 1}/${rounds} v2 ${config.padEnd(10)} ${Math.round(r.rps).toString().padStart(6)} req/s ` +
            `p99 ${r.p99} ms, server CPU ${r.cpuPerAnswerUs.toFixed(1)} µs/answer, load ${r.loadCores.toFixed(2)} cores, non-200 ${r.non200}`,
        );
      }
    }
    const med = (config: Config, pick: (r: Round) => number) => median(results[config].map(pick));
    const rps = (config: Config) => med(config, (r) => r.rps);
    const cpu = (config: Config) => med(config, (r) => r.cpuPerAnswerUs)?.toFixed(1) ?? '?';
    const non200 = order.reduce((n, c) => n + results[c].reduce((m, r) => m + r.non200, 0), 0);
    const floorScaling = (rps('bare2') ?? Number.NaN) / (rps('bare1') ?? Number.NaN);
    ctx.facts.processesHttp = { rounds, durationSec, connections: CONNECTIONS, loaders: LOADERS, results };
    return [1, 2]
      .map((p) =>
        figure({
          id: `processes.http.v2.p${p}.throughput_vs_bare`,
          suite: 'processes',
          label: `v2 throughput, ${p} process${p > 1 ? 'es' : ''} vs bare node:http ×${p}`,
          value: rps(`snapboard${p}` as Config),
          unit: 'req/s',
          baseline: {
            label: `bare node:http, ${p === 1 ? '1 process' : `node:cluster ×${p}`}`,
            value: rps(`bare${p}` as Config),
          },
          target: { on: 'ratio', op: '>=', limit: 0.85 },
          samples: results[`snapboard${p}` as Config].map((r) => r.rps),
          note: `server CPU per answer: snapboard ${cpu(`snapboard${p}` as Config)} µs, bare ${cpu(`bare${p}` as Config)} µs (whole process tree)${non200 ? `; ${non200} answers not 200 in the suite` : ''}`,
        }),
      )
      .concat(
        figure({
          id: 'processes.http.v2.scaling',
          suite: 'processes',
          label: 'v2 throughput, 2 processes vs 1',
          value: rps('snapboard2'),
          unit: 'req/s',
          baseline: { label: 'API_PROCESSES=1', value: rps('snapboard1') },
          note: `the floor's own 2-vs-1: ${floorScaling.toFixed(2)}×, on ${cores} cores shared with ${LOADERS} load processes (${med('snapboard2', (r) => r.loadCores)?.toFixed(2)} cores busy loading)`,
        }),
      );
  } finally {
    await Promise.all(owned.map((m) => m.stop()));
  }
}

async function fanoutAcrossProcesses(ctx: BenchContext, cores: number): Promise<Figure[]> {
  const stack = await ctx.stack();
  const closes = ctx.quick ? 3 : 5;
  const n = FANOUT_SUBSCRIBERS;
  const announcements = await listenToAnnouncements(ctx.redisUrl, ctx.keyPrefix);
  const closer = await createCloser(ctx.databaseUrl);
  try {
    const measured: Partial<Record<1 | 2, Measured>> = {};
    for (const p of [1, 2] as const) {
      measured[p] = await measureFanout(ctx, { announcements, closer }, 'snapboard', n, true, {
        closes,
        workerPid: stack.worker.pid,
        apiEnv: { API_PROCESSES: String(p) },
      });
    }
    const one = measured[1]!;
    const two = measured[2]!;
    const summary = ({ deliveries: _d, lastMs: _l, firstMs: _f, ...rest }: Measured) => rest;
    ctx.facts.processesFanout = { subscribers: n, closes, p1: summary(one), p2: summary(two) };
    const label = n.toLocaleString('en');
    const baseline = 'API_PROCESSES=1';
    const ms = (cpuPerClose: number | null | undefined) => (cpuPerClose == null ? null : cpuPerClose * 1000);
    return [
      figure({
        id: `processes.ws.${n}.last_p50`,
        suite: 'processes',
        label: `${label} subs, 2 processes: announce → last subscriber, p50`,
        value: percentile(two.lastMs, 50),
        unit: 'ms',
        baseline: { label: baseline, value: percentile(one.lastMs, 50) },
      }),
      figure({
        id: `processes.ws.${n}.last_p99`,
        suite: 'processes',
        label: `${label} subs, 2 processes: announce → last subscriber, p99`,
        value: percentile(two.lastMs, 99),
        unit: 'ms',
        baseline: { label: baseline, value: percentile(one.lastMs, 99) },
        note: `${two.announced} versions announced, ${two.lastMs.length} measured (1 process: ${one.lastMs.length}); on ${cores} cores shared with the subscribers' processes`,
      }),
      figure({
        id: `processes.ws.${n}.cpu_per_close`,
        suite: 'processes',
        label: `${label} subs, 2 processes: API CPU per close (all processes)`,
        value: ms(two.cpuPerClose.server),
        unit: 'ms',
        baseline: { label: baseline, value: ms(one.cpuPerClose.server) },
      }),
      figure({
        id: `processes.ws.${n}.missed`,
        suite: 'processes',
        label: `${label} subs, 2 processes: versions missed`,
        value: two.missing + two.connectFailed * Math.max(1, two.announced),
        unit: '',
        baseline: { label: baseline, value: one.missing + one.connectFailed * Math.max(1, one.announced) },
        target: { on: 'value', op: '<=', limit: 0 },
        note: `${two.closed} closed by the server; ${two.connectFailed} failed to connect`,
      }),
    ];
  } finally {
    await announcements.close();
    await closer.end();
  }
}

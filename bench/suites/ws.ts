import { PAGE_SECTIONS } from '@snapboard/shared';
import { type AnnouncementLog, listenToAnnouncements } from '../lib/announcements.ts';
import type { BenchContext } from '../lib/context.ts';
import { cpuSeconds, type Managed, sleep, spawnTs, treeCpuSeconds, treeRssBytes } from '../lib/procs.ts';
import { type Figure, figure } from '../lib/report.ts';
import { startApi } from '../lib/stack.ts';
import { percentile } from '../lib/stats.ts';
import { type Closer, createCloser } from '../lib/trades.ts';

/**
 * 2. WebSocket fan-out: N subscribers to every section (limit 20) on one API process, the load from
 * client processes of their own. While they listen the bench closes a trade every few seconds (the
 * worker announces several sections per close, and open_positions on its own cadence), and for each
 * announced version measures the time from the announcement to the last subscriber holding the
 * frame. The baseline is a bare `ws` server that forwards the same announcements with nothing else
 * to do. Each N gets a fresh API process so its memory growth is its own.
 *
 * Subscribers ask for patch frames, as the SDK does (docs/decisions/0006); a full run measures the
 * snapshot-only protocol of SPEC §7 as written too, at 1,000 and 10,000, to show what patches change.
 */

const SOCKETS_PER_CLIENT_PROCESS = 5000;
const KiB = 1024;

interface Report {
  type: 'report';
  sockets: number;
  perKey: Record<string, { received: number; firstMs: number | null; lastMs: number | null }>;
  deliveries: number[];
  missing: number;
  socketsMissing: number;
  closed: number;
  closeCodes: Record<string, number>;
  bytes: { snapshot: number; patch: number; other: number };
  sample?: string;
}

export interface Measured {
  lastMs: number[];
  /** Per entry of lastMs: was the closed trade the bot's own (user_id NULL; its set adds the bot_* sections)? */
  lastBot: boolean[];
  /**
   * Per entry of lastMs, snapboard only: commit → its set's announcement heard by the bench (the worker's
   * share; the rest of lastMs is the API's and the load generator's).
   */
  lastAnnouncedMs: (number | null)[];
  /** The closes measured apart (MeasureOptions.coldCloses): commit → last and first subscriber. */
  coldLastMs: number[];
  coldFirstMs: number[];
  /** The last batch frame carrying lite a subscriber got (base64): what the floor replays. */
  sampleFrame?: string;
  /** Per version, the time to the first subscriber: what precedes the fan-out itself. */
  firstMs: number[];
  deliveries: number[];
  announced: number;
  closes: number;
  /** Frame bytes received per subscriber per trade close (everything in the window ÷ closes). */
  bytesPerClose: number;
  /** CPU seconds per trade close spent by the server and by all subscriber processes together. */
  cpuPerClose: { server: number | null; clients: number | null; worker?: number | null };
  /** snapboard only: fan-out rounds per trade close. */
  roundsPerClose: number | null;
  missing: number;
  socketsMissing: number;
  closed: number;
  connectFailed: number;
  connectMs: number;
  memPerConnBytes: number | null;
  rssBefore: number | null;
  rssAfter: number | null;
  /** From the API's /metrics (V8 heap in use, no GC forced): a hint, RSS is what is judged. */
  heapPerConnBytes: number | null;
}

/** One unlabelled figure from the API's /metrics, or null. */
async function metric(wsUrl: string, name: string): Promise<number | null> {
  try {
    const response = await fetch(wsUrl.replace(/^ws/, 'http').replace(/\/ws$/, '/metrics'));
    const match = new RegExp(`^${name} (\\d+(?:\\.\\d+)?)`, 'm').exec(await response.text());
    return match ? Number(match[1]) : null;
  } catch {
    return null;
  }
}
const heapUsed = (wsUrl: string) => metric(wsUrl, 'nodejs_heap_size_used_bytes');
/** Fan-out rounds so far: each is one corked write per affected socket (docs/decisions/0006). */
const rounds = (wsUrl: string) => metric(wsUrl, 'snapboard_ws_fanout_seconds_count');

let addressCounter = 0;
/** A loopback source address of its own for every client process: ports never run out across rounds. */
function nextLocalAddress(): string {
  addressCounter++;
  return `127.0.${1 + Math.floor(addressCounter / 250)}.${1 + (addressCounter % 250)}`;
}

/** A measurement for latest.json: its figures without the per-delivery samples. */
function summary({
  deliveries: _d,
  lastMs: _l,
  firstMs: _f,
  sampleFrame: _s,
  ...rest
}: Measured): Omit<Measured, 'deliveries' | 'lastMs' | 'firstMs' | 'sampleFrame'> {
  return rest;
}

function bytesFigure(n: number, s: Measured, baseline: Measured, baselineLabel: string): Figure {
  return figure({
    id: `ws.${n}.bytes_per_close`,
    suite: 'ws',
    label: `${n.toLocaleString('en')} subs: KiB received per subscriber per trade close`,
    value: s.bytesPerClose / KiB,
    unit: 'KiB',
    baseline: { label: baselineLabel, value: baseline.bytesPerClose / KiB },
    note: `all frames of the window ÷ ${s.closes} closes (open_positions also moves on its price cadence)`,
  });
}

export async function measureFanout(
  ctx: BenchContext,
  deps: { announcements: AnnouncementLog; closer: Closer },
  server: FanoutServer,
  n: number,
  patches: boolean,
  options: MeasureOptions,
): Promise<Measured> {
  const { announcements, closer } = deps;
  const { closes } = options;
  const owned: Managed[] = [];
  try {
    let url: string;
    let serverPid: number;
    if (server === 'floor') {
      const floor = spawnTs(`ws-floor-${n}`, 'bench/children/floor-ws.ts', {
        ipc: true,
        env: { DATABASE_URL: ctx.databaseUrl },
        args: options.frameFile ? [options.frameFile] : ['--bytes', String(Math.round(options.frameBytes ?? 1024))],
      });
      owned.push(floor);
      const { port } = await floor.next<{ type: string; port: number }>(
        (m) => m.type === 'listening',
        20_000,
        'listening',
      );
      url = `ws://127.0.0.1:${port}/ws`;
      serverPid = floor.pid;
    } else if (server === 'bare') {
      const bare = spawnTs(`ws-bare-${n}`, 'bench/children/bare-ws.ts', {
        ipc: true,
        env: { REDIS_URL: ctx.redisUrl, KEY_PREFIX: ctx.keyPrefix },
      });
      owned.push(bare);
      const { port } = await bare.next<{ type: string; port: number }>(
        (m) => m.type === 'listening',
        20_000,
        'listening',
      );
      url = `ws://127.0.0.1:${port}/ws`;
      serverPid = bare.pid;
    } else {
      const api = await startApi(
        { databaseUrl: ctx.databaseUrl, redisUrl: ctx.redisUrl, keyPrefix: ctx.keyPrefix, extra: options.apiEnv },
        `ws-api-${n}${options.apiEnv?.API_PROCESSES ? `-p${options.apiEnv.API_PROCESSES}` : ''}`,
      );
      owned.push(api.process);
      url = api.wsUrl;
      serverPid = api.process.pid;
    }
    await sleep(1500);
    const rssBefore = treeRssBytes(serverPid);
    const heapBefore = server === 'snapboard' ? await heapUsed(url) : null;

    const processes = Math.ceil(n / SOCKETS_PER_CLIENT_PROCESS);
    const clients: Managed[] = [];
    for (let i = 0; i < processes; i++) {
      const name = `ws-clients-${server}-${n}${patches ? '' : '-snapshots'}-${i}`;
      const child = spawnTs(name, 'bench/children/ws-clients.ts', {
        ipc: true,
        nodeArgs: ['--max-old-space-size=4096'],
      });
      owned.push(child);
      clients.push(child);
    }
    const share = (i: number) => Math.floor(n / processes) + (i < n % processes ? 1 : 0);
    clients.forEach((child, i) => {
      child.send({
        type: 'connect',
        url,
        count: share(i),
        limit: 20,
        sections: PAGE_SECTIONS,
        localAddress: nextLocalAddress(),
        concurrency: 100,
        patches,
        fields: options.fields ?? false,
        batches: options.batches ?? false,
      });
    });
    const connected = await Promise.all(
      clients.map((c) =>
        c.next<{ type: string; ok: number; failed: number; ms: number; errors: Record<string, number> }>(
          (m) => m.type === 'connected',
          180_000,
          'all subscribers connected',
        ),
      ),
    );
    const failed = connected.reduce((s, c) => s + c.failed, 0);
    const connectMs = Math.max(...connected.map((c) => c.ms));
    if (failed) ctx.log(`ws: ${failed} of ${n} subscribers failed to connect: ${JSON.stringify(connected[0]?.errors)}`);
    await sleep(2000);
    const rssAfter = treeRssBytes(serverPid);
    const heapAfter = server === 'snapboard' ? await heapUsed(url) : null;

    for (const c of clients) c.send({ type: 'reset' });
    await Promise.all(clients.map((c) => c.next((m: { type: string }) => m.type === 'reset-done', 30_000, 'reset')));
    const workerPid = options.workerPid;
    const cpuOf = () =>
      [serverPid, ...clients.map((c) => c.pid), workerPid].map((pid, i) =>
        pid ? (i === 0 ? treeCpuSeconds(pid) : cpuSeconds(pid)) : null,
      );
    announcements.start();
    // Each close changes most sections at once (≈55 KB of frames per subscriber, pnl_history alone
    // 36 KB): spaced so that a server able to fan out at all has drained one burst before the next.
    const intervalMs = n >= 10_000 ? 5000 : n >= 5000 ? 3000 : 2000;
    // ±20 % at random: at a fixed 3 s the closes kept one phase against open_positions' 3 s price ticks
    // (3 Dec: every close of two 5,000 windows came 1.0–1.1 s after a tick), so a run measured one phase
    // of the two only; jittered, the closes of a run fall at many.
    const gap = () => intervalMs * (0.8 + 0.4 * Math.random());
    const coldCommits: number[] = [];
    for (let i = 0; i < (options.coldCloses ?? 0); i++) {
      const close = await closer.closeOne();
      if (close) coldCommits.push(close.commitAt);
      await sleep(gap());
    }
    const cold = options.timeBase === 'commit' ? commitKeys(server, coldCommits, announcements, 0) : {};
    const cpuBefore = cpuOf();
    const roundsBefore = server === 'snapboard' ? await rounds(url) : null;
    const commits: number[] = [];
    const botAt = new Set<number>();
    for (let i = 0; i < closes; i++) {
      const close = await closer.closeOne();
      if (close) commits.push(close.commitAt);
      if (close?.userId === null) botAt.add(close.commitAt);
      await sleep(gap());
    }
    const measured =
      options.timeBase === 'commit'
        ? commitKeys(server, commits, announcements, coldCommits.length)
        : announcements.changedTimes(PAGE_SECTIONS);
    for (const key of Object.keys(cold)) delete measured[key];
    const announced = { ...cold, ...measured };
    // A frame still on its way is late, not missed: wait while deliveries make progress, and only
    // call missing what stopped arriving (no progress for 6 s) or had not come after a minute.
    const settleUntil = Date.now() + 60_000;
    let lastMissing = Number.POSITIVE_INFINITY;
    let stalled = 0;
    while (Date.now() < settleUntil) {
      await sleep(2000);
      for (const c of clients) c.send({ type: 'count', announced });
      const counts = await Promise.all(
        clients.map((c) => c.next<{ type: string; missing: number }>((m) => m.type === 'count', 60_000, 'count')),
      );
      const missingNow = counts.reduce((sum, c) => sum + c.missing, 0);
      if (missingNow === 0) break;
      stalled = missingNow < lastMissing ? 0 : stalled + 1;
      if (stalled >= 3) break;
      lastMissing = missingNow;
    }
    const cpuAfter = cpuOf();
    const roundsAfter = server === 'snapboard' ? await rounds(url) : null;
    const spent = cpuAfter.map((after, i) => (after == null || cpuBefore[i] == null ? null : after - cpuBefore[i]!));
    const clientCpu = spent.slice(1, 1 + clients.length);
    const workerCpu = workerPid ? spent.at(-1) : null;
    for (const c of clients) c.send({ type: 'report', announced });
    const reports = await Promise.all(clients.map((c) => c.next<Report>((m) => m.type === 'report', 60_000, 'report')));
    const times = (keys: readonly string[]) => {
      const last: number[] = [];
      const lastBot: boolean[] = [];
      const lastAnnounced: (number | null)[] = [];
      const first: number[] = [];
      for (const key of keys) {
        const lasts = reports.map((r) => r.perKey[key]?.lastMs).filter((v): v is number => v != null);
        if (lasts.length) {
          last.push(Math.max(...lasts));
          const commitAt = announced[key] as number;
          lastBot.push(botAt.has(commitAt));
          const [section, version] = key.split(':');
          const heard = announcements.entries.find((e) => e.section === section && String(e.version) === version);
          lastAnnounced.push(server === 'snapboard' && heard ? heard.at - commitAt : null);
        }
        const firsts = reports.map((r) => r.perKey[key]?.firstMs).filter((v): v is number => v != null);
        if (firsts.length) first.push(Math.min(...firsts));
      }
      return { last, lastBot, lastAnnounced, first };
    };
    const { last: lastMs, lastBot, lastAnnounced: lastAnnouncedMs, first: firstMs } = times(Object.keys(measured));
    const { last: coldLastMs, first: coldFirstMs } = times(Object.keys(cold));
    const sampleFrame = reports.find((r) => r.sample)?.sample;
    const deliveries = reports.flatMap((r) => r.deliveries);
    const sockets = reports.reduce((sum, r) => sum + r.sockets, 0);
    const received = reports.reduce((sum, r) => sum + r.bytes.snapshot + r.bytes.patch, 0);
    for (const c of clients) c.send({ type: 'close' });
    await Promise.all(clients.map((c) => c.next((m: { type: string }) => m.type === 'closed', 60_000, 'closed')));
    const result: Measured = {
      lastMs,
      lastBot,
      lastAnnouncedMs,
      firstMs,
      coldLastMs,
      coldFirstMs,
      ...(sampleFrame ? { sampleFrame } : {}),
      deliveries,
      announced: Object.keys(measured).length,
      closes,
      // Every frame received since the reset, the closes measured apart included.
      bytesPerClose: sockets ? received / sockets / (closes + coldCommits.length) : 0,
      roundsPerClose: roundsBefore != null && roundsAfter != null ? (roundsAfter - roundsBefore) / closes : null,
      cpuPerClose: {
        server: spent[0] == null ? null : spent[0] / closes,
        worker: workerCpu == null ? null : workerCpu / closes,
        clients: clientCpu.some((v) => v == null) ? null : clientCpu.reduce((a, v) => a! + v!, 0)! / closes,
      },
      missing: reports.reduce((s, r) => s + r.missing, 0),
      socketsMissing: reports.reduce((s, r) => s + r.socketsMissing, 0),
      closed: reports.reduce((s, r) => s + r.closed, 0),
      connectFailed: failed,
      connectMs,
      rssBefore,
      rssAfter,
      memPerConnBytes: rssBefore != null && rssAfter != null ? (rssAfter - rssBefore) / n : null,
      heapPerConnBytes: heapBefore != null && heapAfter != null ? (heapAfter - heapBefore) / n : null,
    };
    ctx.log(
      `ws: ${server.padEnd(9)} n=${n}${patches ? '' : ' snapshots only'} announced=${result.announced} first p50 ${percentile(firstMs, 50)?.toFixed(1)} ms, last p50 ${percentile(lastMs, 50)?.toFixed(1)} ms ` +
        `p99 ${percentile(lastMs, 99)?.toFixed(1)} ms, missing ${result.missing}, closed ${result.closed}, ` +
        `mem/conn ${result.memPerConnBytes == null ? '?' : (result.memPerConnBytes / KiB).toFixed(1)} KiB, ` +
        `${(result.bytesPerClose / KiB).toFixed(1)} KiB per subscriber per close, ` +
        `CPU per close: server ${result.cpuPerClose.server?.toFixed(2)} s, subscribers ${result.cpuPerClose.clients?.toFixed(2)} s, ` +
        `${result.roundsPerClose == null ? '' : `${result.roundsPerClose.toFixed(1)} fan-out rounds per close, `}` +
        `connect ${Math.round(connectMs)} ms`,
    );
    return result;
  } finally {
    await Promise.all(owned.map((m) => m.stop()));
  }
}

export type FanoutServer = 'bare' | 'snapboard' | 'floor';

export interface MeasureOptions {
  closes: number;
  /** 'announce' (default): from the worker's announcement; 'commit': from each close's commit. */
  timeBase?: 'announce' | 'commit';
  /** floor only: the size of the one prepared frame it writes per commit (when no frameFile). */
  frameBytes?: number;
  /** floor only: a file holding the frame snapboard sent for a close, which the floor replays. */
  frameFile?: string;
  /**
   * Closes made first and measured apart (`coldLastMs`/`coldFirstMs`), outside the CPU and round
   * counts: the first close after a process starts runs its code cold.
   */
  coldCloses?: number;
  /** Subscribers also ask for field updates and batch frames (as the SDK does). */
  fields?: boolean;
  batches?: boolean;
  /** The worker's pid, to count its CPU per close too. */
  workerPid?: number;
  /** snapboard only: more environment for its API (API_PROCESSES, for the processes suite). */
  apiEnv?: Record<string, string>;
}

/**
 * "key → commit time" for a commit-based measurement: for snapboard, the first lite version announced
 * after each commit (every close moves lite's active_trades, and it comes in the close's change set);
 * for the floor, its k-th frame is the k-th commit's.
 */
function commitKeys(
  server: FanoutServer,
  commits: readonly number[],
  announcements: AnnouncementLog,
  /** Commits the server saw before the first of `commits` (the floor numbers its frames by commit). */
  before: number,
) {
  const keys: Record<string, number> = {};
  commits.forEach((commitAt, i) => {
    if (server === 'floor') keys[`floor:${before + i + 1}`] = commitAt;
    else {
      const next = announcements.entries.find((e) => e.changed && e.section === 'lite' && e.at >= commitAt);
      if (next) keys[`lite:${next.version}`] ??= commitAt;
    }
  });
  return keys;
}

export async function wsSuite(ctx: BenchContext): Promise<Figure[]> {
  const { api } = await ctx.stack();
  // What one subscriber is sent per version of each section: the volume every fan-out multiplies.
  const frameBytes: Record<string, number> = {};
  // Subscribers are the dashboard page: they take the sections it shows.
  for (const section of PAGE_SECTIONS) {
    const response = await fetch(`${api.baseUrl}/api/public/dashboard/sections/${section}/?limit=20`);
    frameBytes[section] = (await response.arrayBuffer()).byteLength;
  }
  ctx.facts.wsFrameBytes = frameBytes;
  ctx.log(`ws: snapshot bytes per section at limit 20: ${JSON.stringify(frameBytes)}`);
  const sizes = ctx.quick ? [1000, 10_000] : [1000, 5000, 10_000];
  const closes = ctx.quick ? 3 : 5;
  const announcements = await listenToAnnouncements(ctx.redisUrl, ctx.keyPrefix);
  const closer = await createCloser(ctx.databaseUrl);
  const figures: Figure[] = [];
  const detail: Record<string, unknown> = {};
  const measure = (server: FanoutServer, n: number, patches: boolean) =>
    measureFanout(ctx, { announcements, closer }, server, n, patches, { closes });

  try {
    for (const [i, n] of sizes.entries()) {
      const order = i % 2 === 0 ? (['bare', 'snapboard'] as const) : (['snapboard', 'bare'] as const);
      const results: Partial<Record<'bare' | 'snapboard', Measured>> = {};
      for (const server of order) results[server] = await measure(server, n, true);
      const s = results.snapboard!;
      const b = results.bare!;
      const label = n.toLocaleString('en');
      detail[n] = { snapboard: summary(s), bare: summary(b) };
      const coverage = `${s.announced} versions announced, ${s.lastMs.length} measured`;
      figures.push(
        figure({
          id: `ws.${n}.last_p50`,
          suite: 'ws',
          label: `${label} subs: announce → last subscriber, p50`,
          value: percentile(s.lastMs, 50),
          unit: 'ms',
          baseline: { label: 'bare ws fan-out', value: percentile(b.lastMs, 50) },
        }),
        figure({
          id: `ws.${n}.last_p99`,
          suite: 'ws',
          label: `${label} subs: announce → last subscriber, p99`,
          value: percentile(s.lastMs, 99),
          unit: 'ms',
          baseline: { label: 'bare ws fan-out', value: percentile(b.lastMs, 99) },
          target: { on: 'value', op: '<=', limit: 100 },
          note: coverage,
        }),
        figure({
          id: `ws.${n}.delivery_p99`,
          suite: 'ws',
          label: `${label} subs: announce → each subscriber, p99`,
          value: percentile(s.deliveries, 99),
          unit: 'ms',
          baseline: { label: 'bare ws fan-out', value: percentile(b.deliveries, 99) },
        }),
        figure({
          id: `ws.${n}.missed`,
          suite: 'ws',
          label: `${label} subs: versions missed`,
          value: s.missing + s.connectFailed * Math.max(1, s.announced),
          unit: '',
          baseline: { label: 'bare ws fan-out', value: b.missing + b.connectFailed * Math.max(1, b.announced) },
          target: { on: 'value', op: '<=', limit: 0 },
          note: `${s.socketsMissing} sockets missed some; ${s.closed} closed by the server; ${s.connectFailed} failed to connect`,
        }),
        figure({
          id: `ws.${n}.mem_per_conn`,
          suite: 'ws',
          label: `${label} subs: API RSS growth per connection`,
          value: s.memPerConnBytes == null ? null : s.memPerConnBytes / KiB,
          unit: 'KiB',
          baseline: { label: 'bare ws server', value: b.memPerConnBytes == null ? null : b.memPerConnBytes / KiB },
          target: { on: 'value', op: '<=', limit: 16 },
        }),
      );
      if (ctx.quick || (n !== 1000 && n !== 10_000)) {
        figures.push(bytesFigure(n, s, b, 'bare ws fan-out, same frames'));
        continue;
      }
      // The protocol of SPEC §7 as written (every change a full snapshot), for comparison.
      const full: Partial<Record<'bare' | 'snapboard', Measured>> = {};
      for (const server of order) full[server] = await measure(server, n, false);
      const fs = full.snapboard!;
      const fb = full.bare!;
      (detail[n] as Record<string, unknown>).snapshotsOnly = { snapboard: summary(fs), bare: summary(fb) };
      figures.push(
        bytesFigure(n, s, fs, 'snapboard, snapshots only'),
        figure({
          id: `ws.${n}.snapshots_only.last_p99`,
          suite: 'ws',
          label: `${label} subs, snapshots only: announce → last subscriber, p99`,
          value: percentile(fs.lastMs, 99),
          unit: 'ms',
          baseline: { label: 'bare ws fan-out, snapshots only', value: percentile(fb.lastMs, 99) },
          note: `${fs.announced} versions announced, ${fs.lastMs.length} measured; ${fs.missing} missed`,
        }),
      );
    }
  } finally {
    ctx.facts.ws = detail;
    await announcements.close();
    await closer.end();
  }
  return figures;
}

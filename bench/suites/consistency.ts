import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { withDatabase } from '@snapboard/devenv';
import pg from 'pg';
import { WebSocket } from 'ws';
import { mixed, type State, WATCHED } from '../../test/e2e/support/invariants.ts';
import { commitChange, type WriterState } from '../../test/e2e/support/writer.ts';
import type { BenchContext } from '../lib/context.ts';
import { cloneDatabase, dropDatabase, runId } from '../lib/env.ts';
import { cpuSeconds, REPO_ROOT, sleep } from '../lib/procs.ts';
import { type Figure, figure } from '../lib/report.ts';
import { type Api, startApi, startWorker, waitForSnapshots } from '../lib/stack.ts';

/**
 * Change sets under a busy writer (issue 11): for RUN_S seconds a writer commits COMMITS_PER_S changes a
 * second (opens, and closes with the account update in the same transaction, as the bot does) while
 * readers poll v2 and hold batch sockets. Counted: v2 answers and socket states that mix two sets
 * (test/e2e/support/invariants.ts), and CPU per committed change of the API and the worker.
 *
 * The same writer and readers then run against the code from before change sets (BEFORE_COMMIT, its
 * own checkout under /tmp, extracted with `git archive` and installed with `npm ci` on the first run,
 * kept for later runs), on a fresh copy of the same database: its CPU per change is the baseline, and
 * its mixed answers show what change sets fixed. Its sockets get frames one by one (it has no batches).
 */

const BEFORE_COMMIT = '2aaf572';
const BEFORE_ROOT = `/tmp/snapboard-bench-${BEFORE_COMMIT}`;
const TEMPLATE = 'snapboard_bench_100k';
const COMMITS_PER_S = 30;
/** open_positions lists at most 100: the writer keeps the open trades below that, so the list is exact. */
const MAX_OPEN = 90;
const MIN_OPEN = 40;
const SOCKETS = 10;
const POLLERS = 2;

interface Outcome {
  commits: number;
  seconds: number;
  answers: number;
  mixedAnswers: number;
  socketStates: number;
  mixedStates: number;
  firstMixed: string | undefined;
  cpuPerCommit: { api: number | null; worker: number | null };
}

/** The older code, ready to run: extracted and installed once, then reused. */
function beforeCheckout(log: (line: string) => void): string {
  const ready = `${BEFORE_ROOT}/.bench-ready`;
  if (existsSync(ready)) return BEFORE_ROOT;
  log(`consistency: preparing ${BEFORE_COMMIT} in ${BEFORE_ROOT} (git archive + npm ci, once)…`);
  mkdirSync(BEFORE_ROOT, { recursive: true });
  execFileSync('sh', ['-c', `git -C "${REPO_ROOT}" archive ${BEFORE_COMMIT} | tar -x -C "${BEFORE_ROOT}"`]);
  execFileSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: BEFORE_ROOT, stdio: 'ignore' });
  writeFileSync(ready, `${BEFORE_COMMIT}\n`);
  return BEFORE_ROOT;
}

/** A socket's view, applied as the SDK applies it (a batch whole), checked after each set or frame. */
function watch(url: string, batches: boolean, onState: (why: string | undefined) => void): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    const state: State = {};
    const check = () => {
      if (WATCHED.every((s) => s in state)) onState(mixed(state));
    };
    ws.on('message', (raw) => {
      const message = JSON.parse(String(raw)) as { type: string; section?: string; data?: unknown; items?: unknown[] };
      if (message.type === 'batch') {
        for (const item of message.items as Array<{ type: string; section: string; data: unknown }>) {
          if (item.type === 'snapshot') state[item.section as keyof State] = item.data;
        }
        check();
      } else if (message.type === 'snapshot') {
        state[message.section as keyof State] = message.data;
        check();
      }
    });
    ws.once('open', () => {
      ws.send(
        JSON.stringify({ type: 'subscribe', sections: WATCHED, limit: 100, ...(batches ? { batches: true } : {}) }),
      );
      resolve(ws);
    });
    ws.once('error', reject);
  });
}

async function run(
  ctx: BenchContext,
  label: string,
  root: string | undefined,
  seconds: number,
  batches: boolean,
): Promise<Outcome> {
  const databaseName = `snapboard_bench_consistency_${runId()}`;
  const databaseUrl = await cloneDatabase(withDatabase(ctx.postgresUrl, TEMPLATE), databaseName);
  const env = {
    databaseUrl,
    redisUrl: ctx.redisUrl,
    keyPrefix: `${ctx.keyPrefix}:${label}`,
    root,
    extra: { PRICE_SOURCE: 'simulated' },
  };
  const worker = startWorker(env, `consistency-worker-${label}`);
  let api: Api | undefined;
  const sockets: WebSocket[] = [];
  const writerDb = new pg.Client({ connectionString: databaseUrl });
  try {
    api = await startApi(env, `consistency-api-${label}`);
    // The sections checked, which the older code has too (it has no bot_* sections).
    await waitForSnapshots(api, 120_000, WATCHED);
    await writerDb.connect();
    const users = (
      await writerDb.query<{ user_id: string }>('SELECT user_id FROM signals_paperaccount ORDER BY user_id LIMIT 2')
    ).rows.map((r) => Number(r.user_id));
    const open = (await writerDb.query<{ id: string }>(`SELECT id FROM paper_trades WHERE status = 'OPEN'`)).rows.map(
      (r) => Number(r.id),
    );
    if (open.length >= 100) throw new Error(`${open.length} open trades: open_positions' list would not be exact`);

    let answers = 0;
    let mixedAnswers = 0;
    let socketStates = 0;
    let mixedStates = 0;
    let firstMixed: string | undefined;
    const seen = (where: string, why: string | undefined) => {
      if (why && !firstMixed) firstMixed = `${where}: ${why}`;
    };
    for (let i = 0; i < SOCKETS; i++) {
      sockets.push(
        await watch(api.wsUrl, batches, (why) => {
          socketStates++;
          if (why) mixedStates++;
          seen('socket', why);
        }),
      );
    }
    await sleep(1000);
    // Only what the window brings is counted (the subscribe answers above are one replica state each).
    socketStates = 0;
    mixedStates = 0;
    firstMixed = undefined;

    let stop = false;
    let commits = 0;
    const cpuBefore = [cpuSeconds(api.process.pid), cpuSeconds(worker.pid)];
    const started = performance.now();
    const writer = (async () => {
      const state: WriterState = { n: 0, open };
      while (!stop) {
        await commitChange(writerDb, state, users[(state.n + 1) % users.length] ?? null, {
          minOpen: MIN_OPEN,
          maxOpen: MAX_OPEN,
        });
        commits++;
        await sleep(Math.max(0, started + (commits * 1000) / COMMITS_PER_S - performance.now()));
      }
    })();
    const v2 = `${api.baseUrl}/api/public/dashboard/v2/?limit=100`;
    const poll = async () => {
      while (!stop) {
        const response = await fetch(v2);
        if (response.status !== 200) {
          await response.arrayBuffer();
          continue;
        }
        answers++;
        const why = mixed((await response.json()) as State);
        if (why) mixedAnswers++;
        seen('v2 answer', why);
        await sleep(2);
      }
    };
    const pollers = Array.from({ length: POLLERS }, poll);
    await sleep(seconds * 1000);
    stop = true;
    await writer;
    await Promise.all(pollers);
    const elapsed = (performance.now() - started) / 1000;
    // The last change reaches the worker and every socket before CPU is read again.
    await sleep(1500);
    const cpuAfter = [cpuSeconds(api.process.pid), cpuSeconds(worker.pid)];
    const per = (i: number) => {
      const a = cpuAfter[i];
      const b = cpuBefore[i];
      return a == null || b == null || !commits ? null : (a - b) / commits;
    };
    return {
      commits,
      seconds: elapsed,
      answers,
      mixedAnswers,
      socketStates,
      mixedStates,
      firstMixed,
      cpuPerCommit: { api: per(0), worker: per(1) },
    };
  } finally {
    for (const ws of sockets) ws.terminate();
    await writerDb.end().catch(() => {});
    await api?.process.stop();
    await worker.stop();
    await dropDatabase(databaseUrl).catch((error) => ctx.log(`consistency: could not drop ${databaseName}: ${error}`));
  }
}

export async function consistencySuite(ctx: BenchContext): Promise<Figure[]> {
  const seconds = ctx.quick ? 20 : 60;
  const now = await run(ctx, 'sets', undefined, seconds, true);
  const describe = (o: Outcome) =>
    `${o.commits} commits in ${o.seconds.toFixed(1)} s (${(o.commits / o.seconds).toFixed(1)}/s); ` +
    `${o.mixedAnswers} of ${o.answers} v2 answers mixed, ${o.mixedStates} of ${o.socketStates} socket states mixed` +
    `${o.firstMixed ? ` (first: ${o.firstMixed})` : ''}; CPU per commit: API ${ms(o.cpuPerCommit.api)} ms, worker ${ms(o.cpuPerCommit.worker)} ms`;
  ctx.log(`consistency: change sets: ${describe(now)}`);
  let before: Outcome | undefined;
  try {
    before = await run(ctx, 'before', beforeCheckout(ctx.log), seconds, false);
    ctx.log(`consistency: before change sets (${BEFORE_COMMIT}): ${describe(before)}`);
  } catch (error) {
    ctx.log(`consistency: the run of ${BEFORE_COMMIT} failed, no baseline: ${error}`);
  }
  ctx.facts.consistency = { seconds, now, before, before_commit: BEFORE_COMMIT };
  const rate = now.commits / now.seconds;
  const beforeCpu = (k: 'api' | 'worker') => (before?.cpuPerCommit[k] == null ? null : before.cpuPerCommit[k] * 1000);
  return [
    figure({
      id: 'consistency.commits_per_s',
      suite: 'consistency',
      label: `writer: committed changes per second (${seconds} s)`,
      value: rate,
      unit: '/s',
      baseline: { label: 'asked of the writer', value: COMMITS_PER_S },
      target: { on: 'value', op: '>=', limit: 20 },
    }),
    figure({
      id: 'consistency.mixed_answers',
      suite: 'consistency',
      label: 'v2 answers that mix two sets',
      value: now.mixedAnswers,
      unit: '',
      baseline: { label: `before change sets (${BEFORE_COMMIT})`, value: before?.mixedAnswers ?? null },
      target: { on: 'value', op: '<=', limit: 0 },
      note: `of ${now.answers} answers (before: of ${before?.answers ?? '?'})`,
    }),
    figure({
      id: 'consistency.mixed_states',
      suite: 'consistency',
      label: 'socket states that mix two sets',
      value: now.mixedStates,
      unit: '',
      baseline: {
        label: `before change sets (${BEFORE_COMMIT}, frames one by one)`,
        value: before?.mixedStates ?? null,
      },
      target: { on: 'value', op: '<=', limit: 0 },
      note: `of ${now.socketStates} states on ${SOCKETS} sockets (before: of ${before?.socketStates ?? '?'})`,
    }),
    figure({
      id: 'consistency.api_cpu_per_commit',
      suite: 'consistency',
      label: 'API CPU per committed change',
      value: now.cpuPerCommit.api == null ? null : now.cpuPerCommit.api * 1000,
      unit: 'ms',
      baseline: { label: `before change sets (${BEFORE_COMMIT})`, value: beforeCpu('api') },
      note: `${POLLERS} v2 pollers and ${SOCKETS} sockets; /proc of the API process`,
    }),
    figure({
      id: 'consistency.worker_cpu_per_commit',
      suite: 'consistency',
      label: 'worker CPU per committed change',
      value: now.cpuPerCommit.worker == null ? null : now.cpuPerCommit.worker * 1000,
      unit: 'ms',
      baseline: { label: `before change sets (${BEFORE_COMMIT})`, value: beforeCpu('worker') },
    }),
  ];
}

const ms = (seconds: number | null) => (seconds == null ? '?' : (seconds * 1000).toFixed(2));

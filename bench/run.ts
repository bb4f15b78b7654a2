/**
 * `npm run bench [-- --only http,ws,fresh,worker,db,processes] [--quick]`
 *
 * Starts what it needs on the local Redis and PostgreSQL (snapboard's worker and API as real child
 * processes, on a copy of a seeded database and a key prefix of this run's own), measures, prints a
 * table and writes the same figures to bench/results/latest.json. Every figure is a ratio against a
 * baseline measured in the same run. How to read it: docs/benchmarks.md.
 */
import { writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from './lib/args.ts';
import { renderChart } from './lib/chart.ts';
import type { BenchContext, Stack, Suite } from './lib/context.ts';
import {
  cloneDatabase,
  deletePrefix,
  dropDatabase,
  ensureSeeded,
  ensureServices,
  runId,
  type Services,
} from './lib/env.ts';
import { killAllNow, LOG_DIR, REPO_ROOT, stopAll } from './lib/procs.ts';
import { type Figure, formatMarkdown, formatNotes, formatTable } from './lib/report.ts';
import { API_MAIN, built, startApi, startWorker, WORKER_MAIN, waitForSnapshots } from './lib/stack.ts';
import { topUpOpenTrades } from './lib/trades.ts';
import { abuseSuite } from './suites/abuse.ts';
import { consistencySuite } from './suites/consistency.ts';
import { dbLoadSuite } from './suites/dbload.ts';
import { floorSuite } from './suites/floor.ts';
import { freshnessSuite } from './suites/freshness.ts';
import { httpSuite } from './suites/http.ts';
import { processesSuite } from './suites/processes.ts';
import { workerSuite } from './suites/worker.ts';
import { wsSuite } from './suites/ws.ts';

/**
 * In the order they run: the worker's cost first, before the stack adds load of its own; the database
 * load before the suites that close trades, whose after-effects (autovacuum, rollup folds) would
 * otherwise land in its idle minute.
 */
const SUITES: Record<string, Suite> = {
  worker: workerSuite,
  http: httpSuite,
  db: dbLoadSuite,
  ws: wsSuite,
  fresh: freshnessSuite,
  abuse: abuseSuite,
  floor: floorSuite,
  processes: processesSuite,
  consistency: consistencySuite,
};

const USAGE = `usage: npm run bench [-- --only ${Object.keys(SUITES).join(',')}] [--quick]
  --only   run only these suites (comma-separated)
  --quick  fewer rounds and shorter windows (about 6 minutes instead of 10); figures are noisier`;

/** The database the stack runs on: kept between runs, copied for each. */
const STACK_TEMPLATE = { name: 'snapboard_bench_100k', trades: 100_000 };
/** The stack closes trades (freshness, fan-out): it needs OPEN ones to close. */
const OPEN_TRADES = 400;

const started = Date.now();
const loadAtStart = loadavg()[0];
function log(line: string): void {
  const t = ((Date.now() - started) / 1000).toFixed(0).padStart(4);
  process.stderr.write(`[bench ${t}s] ${line}\n`);
}

const args = parseArgs(process.argv.slice(2), Object.keys(SUITES));
if (typeof args === 'string') {
  if (args) process.stderr.write(`bench: ${args}\n`);
  process.stderr.write(`${USAGE}\n`);
  process.exit(args ? 2 : 0);
}

let services: Services | undefined;
let keyPrefix: string | undefined;
let runDatabaseUrl: string | undefined;
let cleaned = false;

async function cleanup(): Promise<void> {
  if (cleaned) return;
  cleaned = true;
  await stopAll();
  if (services && keyPrefix) {
    const deleted = await deletePrefix(services.redisUrl, keyPrefix).catch(() => 0);
    log(`removed ${deleted} Redis keys under ${keyPrefix}:`);
  }
  if (runDatabaseUrl) await dropDatabase(runDatabaseUrl).catch((e) => log(`could not drop run database: ${e}`));
  await services?.stop();
}

process.on('exit', killAllNow);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    log(`${signal}: stopping everything the bench started`);
    void cleanup().finally(() => process.exit(130));
  });
}

async function main(options: { only: string[]; quick: boolean }): Promise<number> {
  log(
    `load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} on ${cpus().length} cores`,
  );
  services = await ensureServices(log);
  const id = runId();
  keyPrefix = `bench:${id}`;
  const needsStack = options.only.some((s) => s !== 'worker');
  let stackPromise: Promise<Stack> | undefined;
  let databaseName = '';

  if (needsStack) {
    for (const entry of [WORKER_MAIN, API_MAIN]) {
      if (!built(entry)) throw new Error(`${entry} does not exist yet: the stack suites need it`);
    }
    const template = await ensureSeeded(services.postgresUrl, STACK_TEMPLATE.name, STACK_TEMPLATE.trades, log);
    databaseName = `snapboard_bench_run_${id}`;
    runDatabaseUrl = await cloneDatabase(template.url, databaseName);
    const topUp = await topUpOpenTrades(runDatabaseUrl, OPEN_TRADES);
    log(
      `run database ${databaseName}: ${template.trades.toLocaleString('en')} trades, ${topUp.before} open (+${topUp.opened})`,
    );
  }

  const facts: Record<string, unknown> = {};
  const ctx: BenchContext = {
    quick: options.quick,
    redisUrl: services.redisUrl,
    postgresUrl: services.postgresUrl,
    keyPrefix,
    databaseUrl: runDatabaseUrl ?? '',
    databaseName,
    log,
    facts,
    stack() {
      stackPromise ??= (async () => {
        const env = { databaseUrl: runDatabaseUrl!, redisUrl: services!.redisUrl, keyPrefix: keyPrefix! };
        let worker = startWorker(env);
        const api = await startApi(env);
        log('stack: waiting for the worker to publish every section');
        await waitForSnapshots(api, 120_000);
        log(`stack: worker pid ${worker.pid}, API pid ${api.process.pid} on ${api.baseUrl}`);
        return {
          api,
          get worker() {
            return worker;
          },
          async stopWorker() {
            await worker.stop();
          },
          async startWorker() {
            if (!worker.alive()) worker = startWorker(env, 'worker-2');
          },
        };
      })();
      return stackPromise;
    },
  };

  const figures: Figure[] = [];
  const errors: { suite: string; message: string }[] = [];
  for (const name of options.only) {
    log(`suite ${name}…`);
    const suiteStarted = Date.now();
    try {
      const produced = await SUITES[name]!(ctx);
      figures.push(...produced);
      log(`suite ${name} done in ${((Date.now() - suiteStarted) / 1000).toFixed(0)} s`);
    } catch (error) {
      const message = (error as Error).stack ?? String(error);
      errors.push({ suite: name, message });
      log(`suite ${name} FAILED: ${message}`);
    }
  }

  const table = formatTable(figures);
  const notes = formatNotes(figures);
  process.stdout.write(`\n${table}\n\n${notes ? `notes:\n${notes}\n\n` : ''}`);
  const met = figures.filter((f) => f.met === true).length;
  const missed = figures.filter((f) => f.met === false);
  process.stdout.write(
    `targets: ${met} met, ${missed.length} missed${missed.length ? ` (${missed.map((f) => f.id).join(', ')})` : ''}` +
      `${errors.length ? `; suites failed: ${errors.map((e) => e.suite).join(', ')}` : ''}\n`,
  );
  const result = {
    startedAt: new Date(started).toISOString(),
    durationSec: Math.round((Date.now() - started) / 1000),
    quick: options.quick,
    suites: options.only,
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model,
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      node: process.version,
      // How busy the shared machine was: the 1-minute load average at the start and at the end.
      loadAverage: { start: loadAtStart, end: loadavg()[0] },
    },
    figures,
    facts,
    errors,
  };
  const out = join(REPO_ROOT, 'bench/results/latest.json');
  writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(
    join(REPO_ROOT, 'bench/results/latest.md'),
    `${formatMarkdown(figures)}\n\nNotes:\n\n${figures
      .filter((f) => f.note)
      .map((f) => `- \`${f.id}\`: ${f.note}`)
      .join('\n')}\n`,
  );
  const chart = join(REPO_ROOT, 'bench/results/latest.svg');
  writeFileSync(
    chart,
    renderChart({
      figures,
      subtitle: `${result.startedAt.slice(0, 16).replace('T', ' ')} UTC · ${result.machine.cpus} × ${result.machine.cpuModel ?? 'CPU'} · Node ${process.version} · load ${loadAtStart?.toFixed(2)} → ${result.machine.loadAverage.end?.toFixed(2)}${options.quick ? ' · --quick' : ''}`,
    }),
  );
  process.stdout.write(`wrote ${out} and ${chart} (logs of every process in ${LOG_DIR})\n`);
  return errors.length ? 1 : 0;
}

let code = 1;
try {
  code = await main(args);
} catch (error) {
  log(`failed: ${(error as Error).stack ?? error}`);
} finally {
  await cleanup();
}
process.exit(code);

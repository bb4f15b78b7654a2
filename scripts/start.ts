/**
 * `npm start`: the whole demo on one machine (SPEC §9). Finds Redis and PostgreSQL or starts private
 * ones under .data/, migrates, seeds an empty database, then runs the trade simulator, the worker and
 * the API as child processes and prints the dashboard URL. Ctrl-C stops everything it started.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createProgressReporter, migrate, seed, validateTradeCount } from '@snapboard/db';
import { ensurePostgres, ensureRedis, MissingServiceError, type Service } from '@snapboard/devenv';
import { describeRedis, loadConfigOrExit, redactUrl } from '@snapboard/shared';
import pg from 'pg';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const DEMO_TRADES = validateDemoTrades(process.env.DEMO_TRADES);
const colors = { simulator: 35, worker: 36, api: 32, start: 33 } as const;

function say(who: keyof typeof colors, line: string): void {
  const tag = process.stdout.isTTY ? `\x1b[${colors[who]}m${who.padEnd(9)}\x1b[0m` : who.padEnd(9);
  process.stdout.write(`${tag} ${line}\n`);
}

function validateDemoTrades(value: string | undefined): number {
  if (value === undefined || value === '') return 20_000;
  try {
    return validateTradeCount(Number(value));
  } catch (error) {
    process.stderr.write(`DEMO_TRADES: ${(error as Error).message}\n`);
    process.exit(1);
  }
}

const config = loadConfigOrExit();
const services: Service[] = [];
const children = new Map<string, ChildProcess>();
let stopping: Promise<never> | undefined;

/**
 * Once: a later call waits for the first. One Ctrl-C can arrive twice — the terminal signals the whole
 * group, and tsx's CLI above this script relays the signal to it again — and exiting on the second
 * cut off the worker's shutdown (and its last lines) halfway. Children still running after 10 s are
 * killed.
 */
function stopAll(code: number): Promise<never> {
  stopping ??= (async () => {
    say('start', 'stopping…');
    await Promise.all(
      [...children.values()].map(
        (child) =>
          new Promise<void>((done) => {
            // 'close', not 'exit': it comes after the child's output is read, so its last lines (how
            // it shut down) are printed before this process exits.
            if (child.stdout?.closed && child.stderr?.closed) return done();
            child.once('close', () => done());
            child.kill('SIGTERM');
            setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
          }),
      ),
    );
    for (const service of services.reverse()) await service.stop();
    process.exit(code);
  })();
  return stopping;
}

process.on('SIGINT', () => void stopAll(0));
process.on('SIGTERM', () => void stopAll(0));

function run(name: 'simulator' | 'worker' | 'api', entry: string, env: Record<string, string>): void {
  const file = join(root, entry);
  if (!existsSync(file)) {
    say('start', `${name}: ${entry} is not built yet, skipping`);
    return;
  }
  const child = spawn(process.execPath, ['--import', 'tsx', file], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group: Ctrl-C reaches only this script, which then stops each child once, in
    // order, instead of every child seeing SIGINT and then our SIGTERM as a "second signal".
    detached: true,
  });
  children.set(name, child);
  for (const stream of [child.stdout, child.stderr]) {
    let buffered = '';
    stream.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) if (line.trim()) say(name, line);
    });
    stream.on('end', () => {
      if (buffered.trim()) say(name, buffered);
      buffered = '';
    });
  }
  child.on('close', (code, signal) => {
    if (stopping) return;
    say('start', `${name} exited (${signal ?? code}); stopping the demo`);
    void stopAll(1);
  });
}

async function waitForApi(url: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !stopping) {
    try {
      const res = await fetch(`${url}/healthz`);
      if (res.ok) return true;
    } catch {}
    await new Promise((r) => setTimeout(r, 250));
  }
  return false;
}

async function tradeCount(databaseUrl: string): Promise<number> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: string }>('SELECT count(*) AS n FROM paper_trades');
    return Number(rows[0]?.n ?? 0);
  } finally {
    await client.end();
  }
}

try {
  const log = (line: string) => say('start', line);
  // A Sentinel or Cluster deployment is someone's running service: only one server is started here.
  if (config.redis.mode === 'single') services.push(await ensureRedis(config.redis.url, join(root, '.data'), log));
  services.push(await ensurePostgres(config.databaseUrl, join(root, '.data'), log));
  say('start', `Redis ${describeRedis(config.redis)}, PostgreSQL ${redactUrl(config.databaseUrl)}`);
  const migrated = await migrate(config.databaseUrl);
  say('start', `migrations: ${migrated.applied.length} applied, ${migrated.skipped.length} already there`);
  if ((await tradeCount(config.databaseUrl)) === 0) {
    say('start', `empty database: seeding ${DEMO_TRADES.toLocaleString('en')} demo trades`);
    await seed({
      databaseUrl: config.databaseUrl,
      trades: DEMO_TRADES,
      onProgress: createProgressReporter(process.stderr),
    });
  }
} catch (error) {
  if (error instanceof MissingServiceError) {
    process.stderr.write(`\nnpm start cannot run the demo:\n  ${error.message}\n`);
  } else {
    process.stderr.write(`\nnpm start failed: ${(error as Error).message}\n`);
  }
  await stopAll(1);
}

// The children inherit the environment; a single server is named explicitly (it may be the default).
const childEnv: Record<string, string> = {
  DATABASE_URL: config.databaseUrl,
  ...(config.redis.mode === 'single' ? { REDIS_URL: config.redis.url } : {}),
};
run('simulator', 'packages/db/src/cli/simulate.ts', childEnv);
run('worker', 'apps/worker/src/main.ts', childEnv);
run('api', 'apps/api/src/main.ts', childEnv);

if (children.has('api')) {
  const shownHost = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  const url = `http://${shownHost.includes(':') ? `[${shownHost}]` : shownHost}:${config.port}`;
  if (await waitForApi(url, 60_000)) {
    say('start', '');
    say('start', `snapboard is up: open ${url}/`);
    say('start', `  JSON: ${url}/api/public/dashboard/v2/   live: ws://…/ws   metrics: ${url}/metrics`);
    say(
      'start',
      config.opsToken
        ? '  ops endpoints enabled (OPS_TOKEN set)'
        : '  ops endpoints disabled: set OPS_TOKEN to enable them',
    );
    say('start', '  Ctrl-C stops everything');
  } else if (!stopping) {
    say('start', `the API did not answer at ${url}/healthz within 60 s`);
    await stopAll(1);
  }
}

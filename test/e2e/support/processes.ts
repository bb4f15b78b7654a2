import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { freePort } from './ports.ts';
import { GiveUp, waitUntil } from './wait.ts';

/**
 * snapboard's processes run here exactly as in production: `node --import tsx <main.ts>` with a
 * clean environment, so faults (signals, lost services) hit the real wiring in main.ts. Their
 * stdout is pino JSON, one object a line, kept for assertions (log volume, job lines).
 */

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const WORKER_MAIN = resolve(REPO_ROOT, 'apps/worker/src/main.ts');
export const API_MAIN = resolve(REPO_ROOT, 'apps/api/src/main.ts');

export interface LogLine {
  stream: 'stdout' | 'stderr';
  raw: string;
  /** The parsed pino object, when the line is JSON. */
  json: Record<string, unknown> | undefined;
  atMs: number;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

const running = new Set<ChildProcess>();
// A test runner that dies must not leave servers behind holding ports and connections.
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export class ServiceProcess {
  readonly lines: LogLine[] = [];
  readonly exited: Promise<Exit>;
  private exit: Exit | undefined;
  private readonly listeners = new Set<(line: LogLine) => void>();

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
  ) {
    running.add(child);
    this.exited = new Promise((done) => {
      child.once('exit', (code, signal) => {
        running.delete(child);
        this.exit = { code, signal };
        done(this.exit);
      });
    });
    for (const stream of ['stdout', 'stderr'] as const) {
      const source = child[stream];
      if (!source) continue;
      createInterface({ input: source, crlfDelay: Number.POSITIVE_INFINITY }).on('line', (raw) => {
        const line: LogLine = { stream, raw, json: parseJson(raw), atMs: Date.now() };
        this.lines.push(line);
        for (const listener of this.listeners) listener(line);
        // biome-ignore lint/suspicious/noUndeclaredEnvVars: a debugging aid for whoever runs the suite, not a build input
        if (process.env.E2E_ECHO) process.stderr.write(`[${this.name}] ${raw}\n`);
      });
    }
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get alive(): boolean {
    return this.exit === undefined;
  }

  get exitStatus(): Exit | undefined {
    return this.exit;
  }

  /** Log lines (parsed) matching `predicate`, optionally only those after index `from`. */
  logs(predicate: (json: Record<string, unknown>, line: LogLine) => boolean = () => true, from = 0): LogLine[] {
    return this.lines.slice(from).filter((line) => line.json !== undefined && predicate(line.json, line));
  }

  /** Resolve with the first line (already seen since `from`, or yet to come) that matches. */
  waitForLog(
    what: string,
    predicate: (json: Record<string, unknown>, line: LogLine) => boolean,
    { timeoutMs = 15_000, from = 0 } = {},
  ): Promise<LogLine> {
    const seen = this.logs(predicate, from)[0];
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const finish = (error: Error | undefined, line?: LogLine) => {
        clearTimeout(timer);
        this.listeners.delete(listener);
        if (error) reject(error);
        else resolve(line!);
      };
      const listener = (line: LogLine) => {
        if (line.json && predicate(line.json, line)) finish(undefined, line);
      };
      const timer = setTimeout(
        () => finish(new Error(`${this.name}: no log line for ${what} within ${timeoutMs} ms\n${this.tail()}`)),
        timeoutMs,
      );
      this.listeners.add(listener);
    });
  }

  /** The last lines of output, for failure messages. */
  tail(count = 20): string {
    return this.lines
      .slice(-count)
      .map((line) => `  ${line.stream}: ${line.raw.slice(0, 400)}`)
      .join('\n');
  }

  signal(signal: NodeJS.Signals): void {
    if (this.alive) this.child.kill(signal);
  }

  /** Send `signal`, then SIGKILL if the process has not exited after `graceMs`. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 10_000): Promise<Exit> {
    if (!this.alive) return this.exited;
    this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    const exit = await this.exited;
    clearTimeout(timer);
    return exit;
  }
}

function parseJson(raw: string): Record<string, unknown> | undefined {
  if (!raw.startsWith('{')) return undefined;
  try {
    const value: unknown = JSON.parse(raw);
    return value && typeof value === 'object' ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Spawn `node --import tsx <entry>` with only `env` (plus PATH/HOME): nothing of the test runner's
 * environment leaks in, so a variable the test did not set is really unset.
 */
export function spawnService(
  name: string,
  entry: string,
  env: Record<string, string>,
  args: string[] = [],
): ServiceProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', entry, ...args], {
    cwd: REPO_ROOT,
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? '/tmp',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new ServiceProcess(name, child);
}

export interface ServiceEnv {
  DATABASE_URL: string;
  /** Absent when REDIS_SENTINELS or REDIS_CLUSTER_NODES name the Redis instead. */
  REDIS_URL?: string;
  KEY_PREFIX: string;
  [name: string]: string | undefined;
}

export function startWorker(env: ServiceEnv, name = 'worker'): ServiceProcess {
  return spawnService(name, WORKER_MAIN, { LOG_LEVEL: 'info', PRICE_SOURCE: 'none', ...env });
}

export interface ApiProcess extends ServiceProcess {
  port: number;
  baseUrl: string;
  wsUrl: string;
}

/** Start the API on a free port and wait until /healthz answers (or the process dies). */
export async function startApi(env: ServiceEnv, name = 'api'): Promise<ApiProcess> {
  const port = Number(env.PORT ?? (await freePort()));
  const service = spawnService(name, API_MAIN, {
    LOG_LEVEL: 'info',
    HOST: '127.0.0.1',
    ...env,
    PORT: String(port),
  }) as ApiProcess;
  service.port = port;
  service.baseUrl = `http://127.0.0.1:${port}`;
  service.wsUrl = `ws://127.0.0.1:${port}/ws`;
  await waitUntil(
    `${name} to answer /healthz`,
    async () => {
      if (!service.alive) throw new GiveUp(`${name} exited: ${JSON.stringify(service.exitStatus)}\n${service.tail()}`);
      const response = await fetch(`${service.baseUrl}/healthz`).catch(() => undefined);
      return response?.status === 200;
    },
    { timeoutMs: 30_000, intervalMs: 100 },
  ).catch(async (error) => {
    await service.stop('SIGKILL');
    throw error;
  });
  return service;
}

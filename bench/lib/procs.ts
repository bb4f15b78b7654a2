import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Every process the bench starts goes through here, so that one exit path (normal end, an error, or
 * Ctrl-C) can stop them all. Output goes straight to files under bench/results/logs: a server under
 * load must not be slowed by a parent draining its pipes.
 */

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const LOG_DIR = join(REPO_ROOT, 'bench/results/logs');
/** Sockets per process: 10,000 subscribers plus their server's side, with room to spare. */
const OPEN_FILES = 65_536;

const running = new Set<Managed>();

export interface Managed {
  name: string;
  child: ChildProcess;
  pid: number;
  logFile: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  alive(): boolean;
  /** IPC, for the bench's own child scripts. */
  send(message: unknown): void;
  /** The next IPC message for which `match` holds. */
  next<T = Record<string, unknown>>(match: (message: T) => boolean, timeoutMs: number, what: string): Promise<T>;
  stop(graceMs?: number): Promise<void>;
}

export interface SpawnOptions {
  env?: Record<string, string>;
  args?: string[];
  /** Open an IPC channel (the bench's own children talk to it). */
  ipc?: boolean;
  nodeArgs?: string[];
  /** Another checkout of the repository to run `file` from (the consistency suite's older code). */
  root?: string;
}

/** `node --import tsx <file>`, in the repo root, with a raised open-files limit and its output in a log file. */
export function spawnTs(name: string, file: string, options: SpawnOptions = {}): Managed {
  mkdirSync(LOG_DIR, { recursive: true });
  const logFile = join(LOG_DIR, `${name}.log`);
  const out = openSync(logFile, 'w');
  // The soft limit is raised in a shell that then execs node, so the pid we hold is node's own.
  const child = spawn(
    '/bin/sh',
    [
      '-c',
      `ulimit -n ${OPEN_FILES} 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$@"`,
      'sh',
      process.execPath,
      ...(options.nodeArgs ?? []),
      '--import',
      'tsx',
      resolve(options.root ?? REPO_ROOT, file),
      ...(options.args ?? []),
    ],
    {
      cwd: options.root ?? REPO_ROOT,
      env: { ...process.env, ...options.env },
      stdio: options.ipc ? ['ignore', out, out, 'ipc'] : ['ignore', out, out],
    },
  );
  const messages: unknown[] = [];
  const waiters = new Set<(message: unknown) => boolean>();
  child.on('message', (message) => {
    for (const waiter of waiters) if (waiter(message)) return;
    messages.push(message);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) => {
    child.once('exit', (code, signal) => {
      running.delete(managed);
      done({ code, signal });
    });
  });
  let exitedYet = false;
  void exited.then(() => {
    exitedYet = true;
  });
  const managed: Managed = {
    name,
    child,
    pid: child.pid ?? -1,
    logFile,
    exited,
    alive: () => !exitedYet,
    send(message) {
      child.send?.(message as never);
    },
    next<T>(match: (message: T) => boolean, timeoutMs: number, what: string) {
      const index = messages.findIndex((m) => match(m as T));
      if (index >= 0) return Promise.resolve(messages.splice(index, 1)[0] as T);
      return new Promise<T>((resolvePromise, reject) => {
        const waiter = (message: unknown) => {
          if (!match(message as T)) return false;
          finish();
          resolvePromise(message as T);
          return true;
        };
        const finish = () => {
          clearTimeout(timer);
          waiters.delete(waiter);
        };
        const timer = setTimeout(() => {
          finish();
          reject(new Error(`${name}: no ${what} within ${timeoutMs} ms (log: ${logFile})\n${tail(logFile)}`));
        }, timeoutMs);
        waiters.add(waiter);
        void exited.then(({ code, signal }) => {
          if (!waiters.has(waiter)) return;
          finish();
          reject(new Error(`${name} exited (${signal ?? code}) before ${what}\n${tail(logFile)}`));
        });
      });
    },
    async stop(graceMs = 8000) {
      if (exitedYet) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
  running.add(managed);
  return managed;
}

export function tail(file: string, lines = 15): string {
  try {
    return readFileSync(file, 'utf8')
      .split('\n')
      .slice(-lines - 1)
      .map((line) => `    ${line.slice(0, 300)}`)
      .join('\n');
  } catch {
    return '';
  }
}

export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((m) => m.stop(5000)));
}

/** Last resort on process exit: nothing may outlive the bench. */
export function killAllNow(): void {
  for (const m of running) m.child.kill('SIGKILL');
}

/** Resident set size of a process in bytes (Linux /proc). */
export function rssBytes(pid: number): number | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    return match ? Number(match[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** User+system CPU seconds a process has used so far (Linux /proc). */
export function cpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return ticks / 100;
  } catch {
    return null;
  }
}

/** A process and all its descendants (Linux /proc): an API with API_PROCESSES > 1 is a process tree. */
export function processTree(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    try {
      const tasks = readdirSync(`/proc/${out[i]}/task`);
      for (const task of tasks) {
        const children = readFileSync(`/proc/${out[i]}/task/${task}/children`, 'utf8').trim();
        if (children) out.push(...children.split(/\s+/).map(Number));
      }
    } catch {
      // Exited meanwhile: its CPU and memory are gone with it.
    }
  }
  return out;
}

/** cpuSeconds of the whole tree; null when the root is gone. */
export function treeCpuSeconds(pid: number): number | null {
  const [root, ...rest] = processTree(pid).map(cpuSeconds);
  return root == null ? null : rest.reduce<number>((sum, v) => sum + (v ?? 0), root);
}

/** rssBytes of the whole tree; null when the root is gone. */
export function treeRssBytes(pid: number): number | null {
  const [root, ...rest] = processTree(pid).map(rssBytes);
  return root == null ? null : rest.reduce<number>((sum, v) => sum + (v ?? 0), root);
}

/** Where this process's monotonic clock starts on the wall clock; moved when the wall clock is stepped. */
let origin = performance.timeOrigin;

/**
 * Milliseconds since the epoch with sub-millisecond resolution. Every bench process derives it from
 * the same system clock, so a time taken in one process can be compared with one taken in another.
 * `timeOrigin` is fixed when a process starts: a step of the system clock (NTP) while a run goes on
 * would leave processes started before it and after it apart by the step (3 Dec: every delivery of a
 * floor run ~2 s late, the floor's own too), so a drift beyond the wall clock's own millisecond
 * resolution moves the origin to it.
 */
export function wallMs(): number {
  const now = performance.now();
  const drift = Date.now() - (origin + now);
  if (drift > CLOCK_STEP_MS || drift < -CLOCK_STEP_MS) origin += drift;
  return origin + now;
}
const CLOCK_STEP_MS = 20;

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Poll `check` until it is truthy; throw with `what` after `timeoutMs`. */
export async function waitUntil<T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs: number,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value) return value;
    } catch (error) {
      lastError = error;
    }
    await sleep(intervalMs);
  }
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${(lastError as Error).message}` : ''}`,
  );
}

import { spawn, spawnSync } from 'node:child_process';
import { cpus } from 'node:os';

/**
 * wrk (Debian's `wrk` package) as the HTTP load generator of the CPU-bound mode: a C event loop that
 * spends a few µs per request where autocannon (Node) spends more than the server it measures, and
 * `taskset` (util-linux) to give it a core of its own.
 */

export const WRK_MISSING =
  'wrk is not installed: the CPU-bound HTTP mode needs it (Debian/Ubuntu: `apt-get install -y wrk`); its rows are skipped';

export function wrkAvailable(): boolean {
  return spawnSync('wrk', ['--version'], { stdio: 'ignore' }).error === undefined;
}

/** Two cores at least and taskset present: the server can have one and the generator the other. */
export function canPin(): boolean {
  return cpus().length >= 2 && spawnSync('taskset', ['--version'], { stdio: 'ignore' }).error === undefined;
}

/** Pin every thread of a running process (node's workers and GC threads too) to the given cores. */
export function pin(pid: number, cores: string): void {
  const result = spawnSync('taskset', ['-a', '-p', '-c', cores, String(pid)], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`taskset -a -p -c ${cores} ${pid} failed: ${result.stderr.trim()}`);
}

export interface WrkResult {
  rps: number;
  requests: number;
  p50Ms: number | null;
  p99Ms: number | null;
  /** Answers that were neither 2xx nor 3xx. */
  badStatus: number;
  socketErrors: number;
  /** CPU seconds wrk itself used (user + system), and the wall seconds of its run. */
  cpuSeconds: number;
  wallSeconds: number;
}

function millis(text: string | undefined): number | null {
  const match = /^([\d.]+)(us|ms|s)$/.exec(text ?? '');
  if (!match) return null;
  const value = Number(match[1]);
  return match[2] === 'us' ? value / 1000 : match[2] === 's' ? value * 1000 : value;
}

/** Parse wrk's report (with --latency). Exported for bench/test. */
export function parseWrk(out: string): Omit<WrkResult, 'cpuSeconds' | 'wallSeconds'> {
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  const requests = Number(/(\d+) requests in/.exec(out)?.[1]);
  if (!Number.isFinite(rps) || !Number.isFinite(requests)) throw new Error(`unreadable wrk output:\n${out}`);
  const errors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  return {
    rps,
    requests,
    p50Ms: millis(/^\s+50%\s+(\S+)/m.exec(out)?.[1]),
    p99Ms: millis(/^\s+99%\s+(\S+)/m.exec(out)?.[1]),
    badStatus: Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0),
    socketErrors: errors ? errors.slice(1).reduce((n, v) => n + Number(v), 0) : 0,
  };
}

/**
 * One wrk run, pinned to `core` when given. Its own CPU time is read from the shell that waited for
 * it (`cutime`/`cstime` of /proc/<sh>/stat count reaped children), since wrk's /proc entry is gone
 * by the time it has finished.
 */
export function runWrk(options: {
  url: string;
  connections: number;
  durationSec: number;
  headers?: Record<string, string>;
  core?: string;
}): Promise<WrkResult> {
  const args = ['-t1', `-c${options.connections}`, `-d${options.durationSec}s`, '--latency', '--timeout', '10s'];
  for (const [name, value] of Object.entries(options.headers ?? {})) args.push('-H', `${name}: ${value}`);
  args.push(options.url);
  const run = options.core === undefined ? 'wrk "$@"' : 'taskset -c "$core" wrk "$@"';
  const script = `core=$1; shift; ${run}; status=$?; echo "@@stat $(cat /proc/$$/stat)"; exit $status`;
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', script, 'sh', options.core ?? '', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
    });
    child.stderr.on('data', (chunk) => {
      out += chunk;
    });
    child.once('error', reject);
    child.once('exit', (code) => {
      const wallSeconds = (performance.now() - started) / 1000;
      if (code !== 0) return reject(new Error(`wrk exited with ${code}:\n${out}`));
      const stat = /@@stat (.*)/.exec(out)?.[1] ?? '';
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // Fields 16 and 17 of stat (cutime, cstime), counted from after the command name.
      const cpuSeconds = (Number(fields[13]) + Number(fields[14])) / 100;
      try {
        resolve({ ...parseWrk(out), cpuSeconds, wallSeconds });
      } catch (error) {
        reject(error);
      }
    });
  });
}

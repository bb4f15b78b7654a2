import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ServiceProcess, spawnService } from './processes.ts';

const LOAD_CLIENT = resolve(dirname(fileURLToPath(import.meta.url)), 'load-client.ts');

export interface LoadRun<R> {
  process: ServiceProcess;
  /** Resolves once the generator has connected everything and starts its clock. */
  ready: Promise<void>;
  result: Promise<R>;
}

/** Run load-client.ts in a child process of its own; see that file for the modes and their results. */
export function runLoad<R>(name: string, options: Record<string, unknown>, timeoutMs: number): LoadRun<R> {
  const child = spawnService(name, LOAD_CLIENT, {}, [JSON.stringify(options)]);
  const ready = child.waitForLog('ready', (json) => json.ready === true, { timeoutMs }).then(() => undefined);
  const result = child
    .waitForLog('result', (json) => 'result' in json, { timeoutMs })
    .then(async (line) => {
      await child.exited;
      return line.json as R;
    });
  // A generator that dies early must fail the test loudly rather than hang it.
  void child.exited.then((exit) => {
    if (exit.code !== 0) process.stderr.write(`${name} exited ${JSON.stringify(exit)}\n${child.tail()}\n`);
  });
  return { process: child, ready, result };
}

export interface WsLoadResult {
  result: {
    opened: number;
    openFailures: string[];
    unexpectedCloses: Record<string, number>;
    errorFrames: string[];
    unparsable: number;
    snapshots: number;
    backwards: string[];
    gaps: string[];
    dropped: number;
    behindAtEnd: string[];
    epochChanges: number;
  };
  targets: Record<string, { epoch: string; version: number }>;
}

export interface HttpLoadResult {
  result: {
    requests: number;
    errors: number;
    timeouts: number;
    non2xx: number;
    resets: number;
    reqErrors: number;
    statuses: Record<string, number>;
    latencyP99: number;
    connections: number;
  };
}

import type { Managed } from './procs.ts';
import type { Figure } from './report.ts';
import type { Api } from './stack.ts';

/** What every suite gets from run.ts: the services, the stack, and whether to measure briefly. */
export interface BenchContext {
  quick: boolean;
  redisUrl: string;
  postgresUrl: string;
  /** This run's KEY_PREFIX (snapshots, queue, announce channel). */
  keyPrefix: string;
  /** This run's copy of the 100k database, which the stack's worker reads and suites may write. */
  databaseUrl: string;
  databaseName: string;
  /** The worker and API on this run's database and prefix, started on first use and shared. */
  stack(): Promise<Stack>;
  log(line: string): void;
  /** Suites add facts (sizes, counts) to latest.json under their own name. */
  facts: Record<string, unknown>;
}

export interface Stack {
  api: Api;
  readonly worker: Managed;
  stopWorker(): Promise<void>;
  startWorker(): Promise<void>;
}

export type Suite = (ctx: BenchContext) => Promise<Figure[]>;

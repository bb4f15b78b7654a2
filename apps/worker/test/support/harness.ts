import { Writable } from 'node:stream';
import { type TestEnv, testRedis } from '@snapboard/devenv/testing';
import {
  type Config,
  keysFor,
  SECTION_NAMES,
  type SectionData,
  type SectionName,
  type Snapshot,
} from '@snapboard/shared';
import type { Redis } from 'ioredis';
import pino from 'pino';
import { createWorker, type SnapboardWorker, type WorkerOptions } from '../../src/worker.ts';

/**
 * Long cadences: anything that shows up within a test came from an event or a request, not a tick.
 * BullMQ puts an `every` scheduler's ticks on wall-clock multiples of the period (plus the offset), so
 * with 300 s a tick landed inside a test whenever it ran across a 5-minute mark (seen: a third overview
 * job in the two-worker test). A day, the longest TTL allowed, leaves only midnight UTC.
 */
export const LONG_TTLS = Object.fromEntries(SECTION_NAMES.map((s) => [`TTL_${s.toUpperCase()}`, '86400']));

/** A worker under test with its log lines parsed, so tests can see every job it ran. */
export interface RunningWorker {
  worker: SnapboardWorker;
  config: Config;
  logs: Record<string, unknown>[];
  /** Job log lines (one per recompute attempt). */
  jobs(section?: SectionName): JobLine[];
}

export interface JobLine {
  section: SectionName;
  reason: string;
  duration_ms: number;
  changed: boolean;
  version?: number;
  outcome: string;
  time: number;
}

export function startWorker(
  config: Config,
  options: Partial<Omit<WorkerOptions, 'config' | 'logger'>> = {},
): RunningWorker {
  const logs: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n')) if (line.trim()) logs.push(JSON.parse(line));
      done();
    },
  });
  const logger = pino({ level: 'info' }, stream);
  const worker = createWorker({ config, logger, ...options });
  return {
    worker,
    config,
    logs,
    jobs: (section) =>
      (logs.filter((l) => l.msg === 'recompute') as unknown as JobLine[]).filter(
        (l) => section === undefined || l.section === section,
      ),
  };
}

export class SnapshotReader {
  readonly redis: Redis;
  constructor(
    env: TestEnv,
    readonly prefix: string = env.keyPrefix,
  ) {
    this.redis = testRedis(env.redisUrl);
  }
  async get<K extends SectionName>(section: K): Promise<Snapshot<K> | undefined> {
    const raw = await this.redis.get(keysFor(this.prefix).snapshot(section));
    return raw ? (JSON.parse(raw) as Snapshot<K>) : undefined;
  }
  async data<K extends SectionName>(section: K): Promise<SectionData[K] | undefined> {
    return (await this.get(section))?.data;
  }
  async close(): Promise<void> {
    await this.redis.quit();
  }
}

import { type RecomputeQueue, requestRecompute } from '@snapboard/queue';
import type { Keys, SectionName } from '@snapboard/shared';
import { type ConnectionOptions, type Job, Queue, Worker } from 'bullmq';

/**
 * Cadence (SPEC §5): one BullMQ job scheduler per section at its TTL. Schedulers only emit cheap
 * ticks on their own queue; a tick asks for a recompute through `requestRecompute`, which
 * coalesces it with event-driven and manual requests (job scheduler templates cannot carry
 * deduplication options). Scheduler ids are fixed, so upserting on every start is idempotent and
 * N workers on one Redis share N-times-nothing: each tick exists once, so each section is computed
 * once per cadence.
 */

export interface TickData {
  section: SectionName;
}

export type ScheduleQueue = Queue<TickData>;

export const TICK_JOB = 'tick';
/** Cadences of different periods start this far apart, so they do not all query at one instant. */
export const STAGGER_MS = 250;

/**
 * Ticks fired at one instant are asked for together after this long: the tick worker takes their jobs
 * one at a time, and a set that started on the first request would leave the others to a set, and a
 * fan-out round, of their own (seen in the floor bench: bot_summary's tick in a set apart from
 * bot_performance's, open_positions' apart from bot_open_positions' about one time in three).
 */
const GATHER_MS = 20;
/** More than the catalog's sections: a tick job costs an entry in the gathering request. */
const TICK_CONCURRENCY = 32;

const TICK_JOB_OPTIONS = { removeOnComplete: true, removeOnFail: true, attempts: 1 } as const;

export function schedulerId(section: SectionName): string {
  return `section:${section}`;
}

/**
 * Offset of each section's ticks within its period. Sections on the same cadence tick together, so
 * their ticks are one change set — one snapshot, one publish, one fan-out round — rather than one
 * each: open_positions and bot_open_positions, both re-priced every 3 s, cost a subscriber of both two
 * rounds per period when they ticked apart. Cadences of different periods start STAGGER_MS apart, as
 * periods that share multiples would otherwise fire together there. Never 0, which BullMQ reads as
 * "align to now". `ttls` holds every section of the catalog, in catalog order (as loadConfig builds it).
 */
export function staggerOffsets(ttls: Readonly<Record<SectionName, number>>): Record<SectionName, number> {
  const periods = [...new Set(sectionsOf(ttls).map((section) => ttls[section]))];
  return Object.fromEntries(
    sectionsOf(ttls).map((section) => {
      const every = ttls[section] * 1000;
      return [section, ((periods.indexOf(ttls[section]) * STAGGER_MS) % every) + 1];
    }),
  ) as Record<SectionName, number>;
}

const sectionsOf = (ttls: Readonly<Record<SectionName, number>>) => Object.keys(ttls) as SectionName[];

export function createScheduleQueue(connection: ConnectionOptions, keys: Keys): ScheduleQueue {
  return new Queue<TickData>(keys.scheduleQueue, { connection, prefix: keys.bullPrefix });
}

export async function upsertSchedules(
  queue: ScheduleQueue,
  ttls: Readonly<Record<SectionName, number>>,
): Promise<void> {
  const offsets = staggerOffsets(ttls);
  await Promise.all(
    sectionsOf(ttls).map((section) =>
      queue.upsertJobScheduler(
        schedulerId(section),
        { every: ttls[section] * 1000, offset: offsets[section] },
        { name: TICK_JOB, data: { section }, opts: TICK_JOB_OPTIONS },
      ),
    ),
  );
}

export function createTickWorker(options: {
  connection: ConnectionOptions;
  keys: Keys;
  recomputeQueue: RecomputeQueue;
  onError(error: Error): void;
}): Worker<TickData> {
  const { connection, keys, recomputeQueue, onError } = options;
  let gathering: { sections: Set<SectionName>; requested: Promise<void> } | undefined;
  /** The ticks of one instant in one request (GATHER_MS); settles as that request does, for each. */
  function request(section: SectionName): Promise<void> {
    if (!gathering) {
      const sections = new Set<SectionName>();
      const requested = new Promise<void>((resolve) => setTimeout(resolve, GATHER_MS)).then(async () => {
        gathering = undefined;
        await requestRecompute(recomputeQueue, [...sections], 'schedule');
      });
      gathering = { sections, requested };
    }
    gathering.sections.add(section);
    return gathering.requested;
  }
  const worker = new Worker<TickData>(keys.scheduleQueue, (job: Job<TickData>) => request(job.data.section), {
    connection,
    prefix: keys.bullPrefix,
    // Every tick of one instant is taken at once (a job only joins the gathering request): with 4,
    // the fifth of the 10 s cadence's five sections waited for the request and made a set of its own.
    concurrency: TICK_CONCURRENCY,
    autorun: false,
  });
  worker.on('error', onError);
  return worker;
}

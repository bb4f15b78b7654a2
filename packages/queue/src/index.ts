import { type Keys, SECTION_NAMES, type SectionName } from '@snapboard/shared';
import { type ConnectionOptions, Queue } from 'bullmq';

/**
 * Recompute requests, one BullMQ queue per KEY_PREFIX. The unit of work is a change set (SPEC §10,
 * docs/decisions/0009-change-sets.md): every request names sections in a Redis hash and asks for one
 * set job. All set jobs share one deduplication id in keep-last-if-active mode, so across every worker
 * on the Redis at most one set job is active and at most one waits; the waiting one takes whatever was
 * asked for while the other computed. A request is never lost, and the first request after a quiet
 * moment starts at once. That sets never race is the worker's set lock (decision 0022), which a change
 * the worker hears takes directly, without a job, and a job's set waits for.
 */

export const RECOMPUTE_REASONS = ['schedule', 'event', 'manual', 'refresh'] as const;
export type RecomputeReason = (typeof RECOMPUTE_REASONS)[number];

export interface RecomputeJobData {
  /** The sections this request asked for; the set also takes every other section pending by then. */
  sections: SectionName[];
  reason: RecomputeReason;
  /** ISO time of the request; the answer to a refresh=true waits for a compute that started after it. */
  requestedAt: string;
}

export const RECOMPUTE_JOB = 'changeset';
/** The one deduplication id of set jobs: sets of one deployment run one at a time. */
export const SET_DEDUPLICATION_ID = 'changeset';

/** Finished jobs are removed so Redis memory stays bounded; a few failures are kept for Bull Board. */
export const RECOMPUTE_JOB_OPTIONS = {
  attempts: 4,
  backoff: { type: 'exponential', delay: 500 },
  removeOnComplete: true,
  removeOnFail: { count: 100, age: 24 * 3600 },
} as const;

/** The recompute queue, which knows its deployment's keys (the pending-sections hash lives beside it). */
export class RecomputeQueue extends Queue<RecomputeJobData> {
  constructor(
    connection: ConnectionOptions,
    readonly snapboardKeys: Keys,
  ) {
    super(snapboardKeys.recomputeQueue, {
      connection,
      prefix: snapboardKeys.bullPrefix,
      defaultJobOptions: RECOMPUTE_JOB_OPTIONS,
    });
  }
}

export function createRecomputeQueue(connection: ConnectionOptions, keys: Keys): RecomputeQueue {
  return new RecomputeQueue(connection, keys);
}

export interface QueuedJob {
  section: SectionName;
  job_id: string;
}

/**
 * Lua naming the sections ARGV[reason + 1 ..] in the pending hash KEYS[1] for the reason ARGV[reason].
 * A cadence tick never downgrades a pending request: a section asked for by an event or by hand must be
 * read from the database, where a tick alone may re-price. The worker's direct path (decision 0022)
 * records a request with the same rule in the script that takes the set lock.
 */
export function recordRequestLua(reason: number): string {
  return `
for i = ${reason + 1}, #ARGV do
  if ARGV[${reason}] ~= 'schedule' or redis.call('HEXISTS', KEYS[1], ARGV[i]) == 0 then
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[${reason}])
  end
end`;
}

const REQUEST_SCRIPT = `${recordRequestLua(1)}
return #ARGV - 1`;
const REQUEST_COMMAND = 'snapboardRequestSections';
const withRequestCommand = new WeakSet<object>();

export async function requestRecompute(
  queue: RecomputeQueue,
  sections: readonly SectionName[] = SECTION_NAMES,
  reason: RecomputeReason = 'manual',
): Promise<QueuedJob[]> {
  const requestedAt = new Date();
  const unique = [...new Set(sections)];
  if (unique.length) {
    const client = await queue.getBackend().client;
    if (!withRequestCommand.has(client)) {
      client.defineCommand(REQUEST_COMMAND, { numberOfKeys: 1, lua: REQUEST_SCRIPT });
      withRequestCommand.add(client);
    }
    await client.runCommand(REQUEST_COMMAND, [queue.snapboardKeys.pendingSections, reason, ...unique]);
  }
  return addSetJob(queue, unique, reason, requestedAt);
}

/**
 * Asks for a set job for sections already named in the pending hash: at once if no set job is active
 * or waiting, else it joins the one waiting (one deduplication id across the deployment).
 */
export async function addSetJob(
  queue: RecomputeQueue,
  sections: readonly SectionName[],
  reason: RecomputeReason,
  /** When the sections were asked for (before they were named in the hash). */
  requestedAt = new Date(),
): Promise<QueuedJob[]> {
  const job = await queue.add(
    RECOMPUTE_JOB,
    { sections: [...sections], reason, requestedAt: requestedAt.toISOString() },
    { deduplication: { id: SET_DEDUPLICATION_ID, keepLastIfActive: true } },
  );
  return sections.map((section) => ({ section, job_id: String(job.id) }));
}

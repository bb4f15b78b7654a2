import { type Keys, SECTION_NAMES, type SectionName } from '@snapboard/shared';
import { type ConnectionOptions, Queue } from 'bullmq';

/**
 * Recompute requests, one BullMQ queue per KEY_PREFIX. The unit of work is a change set (SPEC §10,
 * docs/decisions/0009-change-sets.md): every request names sections in a Redis hash and asks for one
 * set job. All set jobs share one deduplication id in keep-last-if-active mode, so across every worker
 * on the Redis at most one set computes and at most one waits; the waiting one takes whatever was asked
 * for while the other computed. Sets therefore never race, a request is never lost, and the first
 * request after a quiet moment starts at once.
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
 * Names the sections in the pending hash. A cadence tick never downgrades a pending request: a section
 * asked for by an event or by hand must be read from the database, where a tick alone may re-price.
 */
const REQUEST_SCRIPT = `
for i = 2, #ARGV do
  if ARGV[1] ~= 'schedule' or redis.call('HEXISTS', KEYS[1], ARGV[i]) == 0 then
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[1])
  end
end
return #ARGV - 1`;
const REQUEST_COMMAND = 'snapboardRequestSections';
const withRequestCommand = new WeakSet<object>();

export async function requestRecompute(
  queue: RecomputeQueue,
  sections: readonly SectionName[] = SECTION_NAMES,
  reason: RecomputeReason = 'manual',
): Promise<QueuedJob[]> {
  const requestedAt = new Date().toISOString();
  const unique = [...new Set(sections)];
  if (unique.length) {
    const client = await queue.getBackend().client;
    if (!withRequestCommand.has(client)) {
      client.defineCommand(REQUEST_COMMAND, { numberOfKeys: 1, lua: REQUEST_SCRIPT });
      withRequestCommand.add(client);
    }
    await client.runCommand(REQUEST_COMMAND, [queue.snapboardKeys.pendingSections, reason, ...unique]);
  }
  const job = await queue.add(
    RECOMPUTE_JOB,
    { sections: unique, reason, requestedAt },
    { deduplication: { id: SET_DEDUPLICATION_ID, keepLastIfActive: true } },
  );
  return unique.map((section) => ({ section, job_id: String(job.id) }));
}

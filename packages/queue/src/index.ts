import { type Keys, SECTION_NAMES, type SectionName } from '@snapboard/shared';
import { type ConnectionOptions, Queue } from 'bullmq';

/**
 * Recompute requests, one BullMQ queue per KEY_PREFIX. Every request for a section goes through
 * `requestRecompute`, which coalesces: with BullMQ's deduplication in keep-last-if-active mode a
 * section has at most one job waiting (and one running); a request made while one runs is kept and
 * runs after it, so a change committed mid-compute is never missed.
 */

export const RECOMPUTE_REASONS = ['schedule', 'event', 'manual', 'refresh'] as const;
export type RecomputeReason = (typeof RECOMPUTE_REASONS)[number];

export interface RecomputeJobData {
  section: SectionName;
  reason: RecomputeReason;
  /** ISO time of the request; the answer to a refresh=true waits for a compute that started after it. */
  requestedAt: string;
}

export type RecomputeQueue = Queue<RecomputeJobData>;

export const RECOMPUTE_JOB = 'recompute';

/** Finished jobs are removed so Redis memory stays bounded; a few failures are kept for Bull Board. */
export const RECOMPUTE_JOB_OPTIONS = {
  attempts: 4,
  backoff: { type: 'exponential', delay: 500 },
  removeOnComplete: true,
  removeOnFail: { count: 100, age: 24 * 3600 },
} as const;

export function createRecomputeQueue(connection: ConnectionOptions, keys: Keys): RecomputeQueue {
  return new Queue<RecomputeJobData>(keys.recomputeQueue, {
    connection,
    prefix: keys.bullPrefix,
    defaultJobOptions: RECOMPUTE_JOB_OPTIONS,
  });
}

export interface QueuedJob {
  section: SectionName;
  job_id: string;
}

export async function requestRecompute(
  queue: RecomputeQueue,
  sections: readonly SectionName[] = SECTION_NAMES,
  reason: RecomputeReason = 'manual',
): Promise<QueuedJob[]> {
  const requestedAt = new Date().toISOString();
  return Promise.all(
    [...new Set(sections)].map(async (section) => {
      const job = await queue.add(
        RECOMPUTE_JOB,
        { section, reason, requestedAt },
        { deduplication: { id: section, keepLastIfActive: true } },
      );
      return { section, job_id: String(job.id) };
    }),
  );
}

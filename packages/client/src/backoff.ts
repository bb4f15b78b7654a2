/**
 * Exponential backoff with full jitter: a uniform draw from 0 to min(max, base × 2^attempt).
 * Spreading retries over the whole window keeps thousands of readers from reconnecting in step
 * after a server restart.
 */
export function fullJitter(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const cap = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * cap);
}

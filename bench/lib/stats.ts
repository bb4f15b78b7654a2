/**
 * The arithmetic every bench figure goes through. Pure, so bench/test can pin it down: a wrong
 * percentile would make every table quietly lie.
 */

function finite(values: readonly number[]): number[] {
  return values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
}

/**
 * Nearest-rank percentile (p in 0..100): the smallest sample with at least p% of the samples at or
 * below it. With few samples p99 is the maximum, which is the honest answer for "the slowest".
 */
export function percentile(values: readonly number[], p: number): number | null {
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile must be within 0..100, got ${p}`);
  const sorted = finite(values);
  if (sorted.length === 0) return null;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1] ?? null;
}

// The median is shared's (the worker's timing CLI uses it too); re-exported with the rest of the arithmetic.
export { median } from '@snapboard/shared';

export function mean(values: readonly number[]): number | null {
  const sorted = finite(values);
  if (sorted.length === 0) return null;
  return sorted.reduce((sum, v) => sum + v, 0) / sorted.length;
}

/** value ÷ baseline, or null when either is missing or the baseline is zero. */
export function ratio(value: number | null | undefined, baseline: number | null | undefined): number | null {
  if (value == null || baseline == null || !Number.isFinite(value) || !Number.isFinite(baseline)) return null;
  if (baseline === 0) return null;
  return value / baseline;
}

export interface Summary {
  n: number;
  min: number | null;
  p50: number | null;
  p90: number | null;
  p99: number | null;
  max: number | null;
}

export function summarize(values: readonly number[]): Summary {
  const sorted = finite(values);
  return {
    n: sorted.length,
    min: sorted[0] ?? null,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted[sorted.length - 1] ?? null,
  };
}

/**
 * pg hands numeric and bigint columns over as strings and timestamps as Dates (or ±Infinity).
 * Everything a section emits goes through these, so a snapshot never holds a string number, NaN
 * or an Infinity.
 */

export type Numeric = string | number | null | undefined;

export function toNumber(value: Numeric): number | null {
  if (value === null || value === undefined) return null;
  const n = typeof value === 'number' ? value : Number(value);
  return Number.isFinite(n) ? n : null;
}

export function toNumberOr0(value: Numeric): number {
  return toNumber(value) ?? 0;
}

/** Counts: bigint strings, never fractional. */
export function toCount(value: Numeric): number {
  const n = toNumberOr0(value);
  return Number.isSafeInteger(n) ? n : Math.trunc(n);
}

/**
 * Round half away from zero at `dp` decimal places, like PostgreSQL's numeric round(). It works on
 * the shortest decimal form of the double, so 1.005 rounds to 1.01 and not 1.00.
 */
export function round(value: number, dp: number): number {
  if (!Number.isFinite(value)) return 0;
  // A double this large has no digits after the point left to round.
  if (Math.abs(value) >= 2 ** 52 / 10 ** dp) return value;
  const [mantissa, exponent] = value.toExponential().split('e') as [string, string];
  const shifted = Math.round(Math.abs(Number(`${mantissa}e${Number(exponent) + dp}`)));
  const rounded = Math.sign(value) * Number(`${shifted}e-${dp}`);
  // No negative zero in JSON-bound numbers.
  return rounded === 0 ? 0 : rounded;
}

export function toIso(value: Date | string | number | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  const date = value instanceof Date ? value : new Date(value);
  return Number.isFinite(date.getTime()) ? date.toISOString() : null;
}

export const HOUR_MS = 3_600_000;

/** Start of the UTC hour that contains `ms`. */
export function floorHour(ms: number): number {
  return Math.floor(ms / HOUR_MS) * HOUR_MS;
}

/** The first hour boundary at or after `ms`. */
export function ceilHour(ms: number): number {
  return Math.ceil(ms / HOUR_MS) * HOUR_MS;
}

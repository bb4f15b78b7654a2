/**
 * A small seeded generator (sfc32) so that a seed number reproduces the same demo data. Math.random
 * cannot be seeded, and the data has to be the same run after run for a reported seed to mean anything.
 */
export interface Rng {
  (): number;
  /** Integer in [min, max]. */
  int(min: number, max: number): number;
  /** Float in [min, max). */
  between(min: number, max: number): number;
  /** Log-uniform in [min, max): as many small values per decade as large ones. */
  logBetween(min: number, max: number): number;
  pick<T>(items: readonly T[]): T;
  chance(probability: number): boolean;
}

export function createRng(seed: number): Rng {
  let a = 0x9e3779b9;
  let b = 0x243f6a88;
  let c = 0xb7e15162;
  let d = seed >>> 0;
  const next = () => {
    a >>>= 0;
    b >>>= 0;
    c >>>= 0;
    d >>>= 0;
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
  for (let i = 0; i < 15; i++) next();
  return fromSource(next);
}

/** Wrap any [0, 1) source (Math.random, an injected test source) with the helpers. */
export function fromSource(source: () => number): Rng {
  const rng = (() => source()) as Rng;
  rng.int = (min, max) => min + Math.floor(source() * (max - min + 1));
  rng.between = (min, max) => min + source() * (max - min);
  rng.logBetween = (min, max) => min * (max / min) ** source();
  rng.pick = <T>(items: readonly T[]): T => {
    if (items.length === 0) throw new Error('pick from an empty list');
    return items[Math.floor(source() * items.length)] as T;
  };
  rng.chance = (probability) => source() < probability;
  return rng;
}

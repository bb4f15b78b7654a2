import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

type Gc = (options: { type: 'minor' | 'major' }) => void;

/**
 * A collection of V8's young generation, for the worker to run between sets (docs/decisions/0023).
 * A bot-trade set allocates several MB (rows read as text, the items built from them, a 620 KB
 * publish); left to V8, the scavenge that follows runs when the young generation fills, which is
 * inside every second such set, with the set's whole working data still alive to be copied (7–14 ms
 * of a ~45 ms set on this VM). Run while nothing is computing, it finds only the few survivors.
 *
 * `gc` is V8's own extension: the one a `--expose-gc` process has, or else one taken from a fresh
 * context with the flag set at run time (the main context gets no global `gc`). Undefined where
 * neither works: the worker then leaves collection to V8, which is only slower.
 */
export function youngCollector(): (() => void) | undefined {
  try {
    const exposed = (globalThis as { gc?: unknown }).gc;
    if (typeof exposed === 'function') return () => (exposed as Gc)({ type: 'minor' });
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as unknown;
    if (typeof gc !== 'function') return undefined;
    return () => (gc as Gc)({ type: 'minor' });
  } catch {
    return undefined;
  }
}

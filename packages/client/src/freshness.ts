import { SECTIONS, type SectionName, STALE_FACTOR } from '@snapboard/shared/sections';
import type { HeldState } from './held.ts';
import type { SectionSnapshot, SectionStatus } from './types.ts';

/**
 * How old what the client holds is, on the server's clock, and whether it is stale (SPEC §4: older than
 * three cadences). The socket pushes only version changes, so while live a section recomputed
 * unchanged would look older than it is: `due()` names the sections past the stale line that the
 * server has not shown since, for the client to ask over HTTP; one is called stale only once the
 * server confirms it.
 */

export interface Freshness {
  /** The server's clock, from the welcome's `server_time` or an HTTP answer's `timestamp`. */
  learnServerTime(iso: unknown): void;
  /** The server's configured cadence of a section (seconds), when an answer tells it. */
  learnTtl(section: SectionName, ttl: unknown): void;
  ageOf(snapshot: SectionSnapshot): number;
  /** Sections to ask HTTP about now; each is marked as being checked until `checked` is called. */
  due(): SectionName[];
  checked(names: readonly SectionName[]): void;
  /** `confirmable`: connected in a way that lets the server confirm staleness (live with checks, or polling). */
  status(section: SectionName, confirmable: boolean): SectionStatus | undefined;
}

export function createFreshness(options: {
  sections: readonly SectionName[];
  held: HeldState;
  now: () => number;
  /** A confirmed stale section is asked again at most this often (with its cadence as the floor). */
  checkEveryMs: number;
}): Freshness {
  const { sections, held, now, checkEveryMs } = options;
  const ttls = new Map<SectionName, number>(sections.map((name) => [name, SECTIONS[name].defaultTtl]));
  const lastCheck = new Map<SectionName, number>();
  const checking = new Set<SectionName>();
  // Server clock minus local clock, so ages are right even when the reader's clock is off.
  let clockOffsetMs = 0;

  function ttlMsOf(name: SectionName): number {
    return (ttls.get(name) ?? SECTIONS[name].defaultTtl) * 1000;
  }

  function ageOf(snapshot: SectionSnapshot): number {
    const computedAt = Date.parse(snapshot.computed_at);
    return Number.isFinite(computedAt) ? Math.max(0, now() + clockOffsetMs - computedAt) : Number.POSITIVE_INFINITY;
  }

  /** Past the stale line (SPEC §4) when the server last showed it, so not just unheard-of since. */
  function confirmedStale(name: SectionName, snapshot: SectionSnapshot): boolean {
    const seen = held.confirmedAt(name);
    const computedAt = Date.parse(snapshot.computed_at);
    if (seen === undefined || !Number.isFinite(computedAt)) return true;
    return seen + clockOffsetMs - computedAt > STALE_FACTOR * ttlMsOf(name);
  }

  return {
    learnServerTime(iso) {
      const at = typeof iso === 'string' ? Date.parse(iso) : Number.NaN;
      if (Number.isFinite(at)) clockOffsetMs = at - now();
    },
    learnTtl(section, ttl) {
      if (typeof ttl === 'number' && ttl > 0) ttls.set(section, ttl);
    },
    ageOf,
    due() {
      const t = now();
      const due = sections.filter((name) => {
        const snapshot = held.get(name);
        if (!snapshot || checking.has(name) || ageOf(snapshot) <= STALE_FACTOR * ttlMsOf(name)) return false;
        // Crossed the line since the server last spoke: ask now. Already confirmed stale: ask now and then.
        if (!confirmedStale(name, snapshot)) return true;
        return t - (lastCheck.get(name) ?? 0) >= Math.max(ttlMsOf(name), checkEveryMs);
      });
      for (const name of due) {
        checking.add(name);
        lastCheck.set(name, t);
      }
      return due;
    },
    checked(names) {
      for (const name of names) checking.delete(name);
    },
    status(section, confirmable) {
      const snapshot = held.get(section);
      if (!snapshot) return undefined;
      const ttl = ttls.get(section) ?? SECTIONS[section].defaultTtl;
      const ageMs = ageOf(snapshot);
      const overdue = ageMs > STALE_FACTOR * ttl * 1000;
      // Connected, a section is stale once the server confirms it; cut off, its age alone decides.
      return { ...snapshot, ageMs, ttl, stale: overdue && (!confirmable || confirmedStale(section, snapshot)) };
    },
  };
}

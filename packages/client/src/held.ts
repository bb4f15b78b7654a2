import type { ResumeVersions } from '@snapboard/shared';
// Zod-free subpaths only: the package index also exports the schemas, ~450 KB in the page's bundle.
import { stableStringify } from '@snapboard/shared/json';
import type { SectionName } from '@snapboard/shared/sections';
import type { DashboardUpdate, SectionSnapshot } from './types.ts';

/**
 * What the client holds: the newest snapshot of each subscribed section, whichever path brought it
 * (socket, HTTP, the page's embedded first paint), when the server last showed it, and the listeners
 * told of each change. Nothing older ever replaces something newer.
 */

export type Verdict = 'change' | 'refresh' | 'same' | 'older';

export interface HeldState {
  get(section: SectionName): SectionSnapshot | undefined;
  has(section: SectionName): boolean;
  /**
   * Hold `next` if it is news. With `batch`, listeners are not called yet: the caller collects a whole
   * set and calls `notify` once all of it is held.
   */
  apply(next: SectionSnapshot, batch?: SectionSnapshot[]): void;
  notify(changed: readonly SectionSnapshot[], change: string | undefined): void;
  /** A 304 says the server still has the state last seen on that path, which is what we hold. */
  confirmUnchanged(names: readonly SectionName[]): void;
  /** Local time at which the server last showed a section's current state (push, 200 or 304). */
  confirmedAt(section: SectionName): number | undefined;
  /** The epoch/version of every section held that has one: what a (re)subscribe resumes from. */
  resumeVersions(): ResumeVersions;
  on(section: SectionName, listener: (snapshot: SectionSnapshot) => void): () => void;
  onSnapshot(listener: (snapshot: SectionSnapshot) => void): () => void;
  onUpdate(listener: (update: DashboardUpdate) => void): () => void;
}

export function createHeldState(sections: readonly SectionName[], now: () => number): HeldState {
  const held = new Map<SectionName, SectionSnapshot>();
  const confirmedAt = new Map<SectionName, number>();
  const sectionListeners = new Map<SectionName, Set<(snapshot: SectionSnapshot) => void>>();
  const anyListeners = new Set<(snapshot: SectionSnapshot) => void>();
  const updateListeners = new Set<(update: DashboardUpdate) => void>();

  function notify(changed: readonly SectionSnapshot[], change: string | undefined): void {
    if (changed.length === 0) return;
    for (const next of changed) {
      for (const listener of [...(sectionListeners.get(next.section) ?? [])]) listener(next);
      for (const listener of [...anyListeners]) listener(next);
    }
    const update: DashboardUpdate = { change, snapshots: [...changed] };
    for (const listener of [...updateListeners]) listener(update);
  }

  return {
    get: (section) => held.get(section),
    has: (section) => held.has(section),
    apply(next, batch) {
      if (!sections.includes(next.section)) return;
      const current = held.get(next.section);
      const verdict = classify(current, next);
      if (verdict === 'older') return;
      confirmedAt.set(next.section, now());
      if (verdict === 'same') return;
      if (verdict === 'refresh' && current) {
        held.set(next.section, { ...current, computed_at: next.computed_at });
        return;
      }
      held.set(next.section, next);
      if (batch) batch.push(next);
      else notify([next], undefined);
    },
    notify,
    confirmUnchanged(names) {
      const t = now();
      for (const name of names) if (held.has(name)) confirmedAt.set(name, t);
    },
    confirmedAt: (section) => confirmedAt.get(section),
    resumeVersions() {
      const versions: ResumeVersions = {};
      for (const [name, snapshot] of held) {
        if (snapshot.epoch) versions[name] = { epoch: snapshot.epoch, version: snapshot.version };
      }
      return versions;
    },
    on(section, listener) {
      const set = sectionListeners.get(section) ?? new Set();
      sectionListeners.set(section, set);
      set.add(listener);
      const current = held.get(section);
      if (current) listener(current);
      return () => set.delete(listener);
    },
    onSnapshot(listener) {
      anyListeners.add(listener);
      return () => anyListeners.delete(listener);
    },
    onUpdate(listener) {
      updateListeners.add(listener);
      return () => updateListeners.delete(listener);
    },
  };
}

/**
 * Keep the newest state of a section. Within one epoch the version decides, and the same version
 * computed later only refreshes computed_at. A new epoch, or a source that gives no version (the lite
 * HTTP answer), is taken when it was computed later.
 */
export function classify(current: SectionSnapshot | undefined, next: SectionSnapshot): Verdict {
  if (!current) return 'change';
  const byTime =
    next.computed_at > current.computed_at ? 'refresh' : next.computed_at === current.computed_at ? 'same' : 'older';
  if (next.epoch && next.epoch === current.epoch) {
    if (next.version !== current.version) return next.version > current.version ? 'change' : 'older';
    return byTime;
  }
  // Without a version (the lite HTTP answer) equal data is the same state recomputed: keep the version.
  if (!next.epoch && stableStringify(next.data) === stableStringify(current.data)) return byTime;
  const bothVersioned = Boolean(next.epoch && current.epoch);
  const later = bothVersioned ? next.computed_at >= current.computed_at : next.computed_at > current.computed_at;
  return later ? 'change' : 'older';
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

import { PATHS, sectionPath, served } from '@snapboard/shared/paths';
import { FLAT_ENDPOINTS, SECTIONS, type SectionName } from '@snapboard/shared/sections';
import type { Freshness } from './freshness.ts';
import { type HeldState, isRecord } from './held.ts';
import type { SectionSnapshot } from './types.ts';

/**
 * HTTP reads with ETags: a polling loop over every subscribed section while the socket is down, and the
 * one-off checks freshness asks for while it is up. Where each section is read comes from the catalog:
 * the v2 sections in one v2 request, a section with a flat endpoint of its own (lite) there, any other
 * at `/sections/{name}/`.
 */

export interface Poller {
  readonly polling: boolean;
  /** Start the loop (no-op when running); `afterRound(ok)` follows each round while it runs. */
  start(): void;
  stop(): void;
  /**
   * Ask whether `names` were recomputed, without taking shortened lists: one request per endpoint,
   * returned with the sections it covers.
   */
  confirm(names: readonly SectionName[]): Array<[SectionName[], Promise<void>]>;
}

export function createPoller(options: {
  baseUrl: string;
  sections: readonly SectionName[];
  limit: number;
  fetch: typeof fetch;
  timeoutMs: number;
  intervalMs: number;
  held: HeldState;
  freshness: Freshness;
  report(code: string, message: string): void;
  closed(): boolean;
  /** After each round of the loop: `ok` when the server answered at least once. */
  afterRound(ok: boolean): void;
}): Poller {
  const { baseUrl, sections, limit, held, freshness, report } = options;
  const v2Path = served(PATHS.v2);
  const v2Sections = sections.filter((name) => SECTIONS[name].inV2);
  const etags = new Map<string, string>();
  let polling = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  // Each polling run has its own number, so a round still in flight from an earlier run stops
  // instead of scheduling a second loop beside the new one.
  let run = 0;

  async function getJson(path: string, useEtag: boolean): Promise<{ status: number; body?: unknown }> {
    const headers: Record<string, string> = { accept: 'application/json' };
    const etag = useEtag ? etags.get(path) : undefined;
    if (etag) headers['if-none-match'] = etag;
    const response = await options.fetch(baseUrl + path, {
      headers,
      signal: AbortSignal.timeout(options.timeoutMs),
    });
    if (response.status === 304) return { status: 304 };
    if (response.status !== 200) {
      // Drain so the connection can be reused.
      await response.body?.cancel().catch(() => {});
      return { status: response.status };
    }
    const body: unknown = await response.json();
    const newTag = response.headers.get('etag');
    if (useEtag && newTag) etags.set(path, newTag);
    return { status: 200, body };
  }

  /** A 503 (warming up) still proves the server is there; anything else unexpected is a failure. */
  function reachable(status: number, what: string): void {
    if (status === 200 || status === 304 || status === 503) return;
    throw new Error(`${what} answered ${status}`);
  }

  async function pollV2(metaOnly: boolean): Promise<void> {
    const path = `${v2Path}?limit=${metaOnly ? 1 : limit}`;
    const { status, body } = await getJson(path, true);
    reachable(status, 'v2');
    if (status === 304) held.confirmUnchanged(v2Sections);
    if (status !== 200 || !isRecord(body)) return;
    freshness.learnServerTime(body.timestamp);
    const cacheInfo = isRecord(body.cache_info) ? body.cache_info : {};
    const metas = isRecord(body.sections) ? body.sections : {};
    for (const name of v2Sections) {
      const key = SECTIONS[name].cacheInfoKey;
      if (key) freshness.learnTtl(name, cacheInfo[key]);
      const meta = metas[name];
      if (!isRecord(meta) || !(name in body)) continue;
      const next = {
        section: name,
        epoch: String(meta.epoch ?? ''),
        version: Number(meta.version ?? 0),
        computed_at: String(meta.computed_at ?? ''),
        data: body[name],
      } as SectionSnapshot;
      if (!metaOnly) held.apply(next);
      else {
        // A shortened list must not replace the subscribed one: only learn that the same version was recomputed.
        const current = held.get(name);
        if (current && current.epoch === next.epoch && current.version === next.version) {
          held.apply({ ...current, computed_at: next.computed_at });
        }
        // A newer version is on its way over the socket; until then nothing is confirmed.
      }
    }
  }

  /** A flat endpoint (lite's): the data's fields plus `timestamp`, no epoch or version. */
  async function pollFlat(name: SectionName, path: string): Promise<void> {
    const { status, body } = await getJson(path, true);
    reachable(status, name);
    if (status === 304) held.confirmUnchanged([name]);
    if (status !== 200 || !isRecord(body) || typeof body.timestamp !== 'string') return;
    const { timestamp, ...data } = body;
    held.apply({ section: name, epoch: '', version: 0, computed_at: timestamp, data } as SectionSnapshot);
  }

  async function pollSection(name: SectionName): Promise<void> {
    const path = sectionPath(name) + (SECTIONS[name].limited ? `?limit=${limit}` : '');
    const { status, body } = await getJson(path, true);
    reachable(status, name);
    if (status === 304) held.confirmUnchanged([name]);
    if (status !== 200 || !isRecord(body)) return;
    freshness.learnTtl(name, body.ttl);
    held.apply({
      section: name,
      epoch: String(body.epoch ?? ''),
      version: Number(body.version ?? 0),
      computed_at: String(body.computed_at ?? ''),
      data: body.data,
    } as SectionSnapshot);
  }

  /** The read of one section outside v2: its flat endpoint when it has one, else its section path. */
  function pollOne(name: SectionName): Promise<void> {
    const flat = FLAT_ENDPOINTS[name];
    return flat ? pollFlat(name, flat) : pollSection(name);
  }

  /** One round over every subscribed section; true when the server answered at least once. */
  async function pollAll(): Promise<boolean> {
    const tasks: Promise<void>[] = [];
    if (v2Sections.length > 0) tasks.push(pollV2(false));
    for (const name of sections) if (!SECTIONS[name].inV2) tasks.push(pollOne(name));
    const outcomes = await Promise.allSettled(tasks);
    const failed = outcomes.filter((outcome) => outcome.status === 'rejected');
    for (const outcome of failed) report('poll_failed', String((outcome as PromiseRejectedResult).reason));
    return failed.length < outcomes.length;
  }

  async function round(current: number): Promise<void> {
    timer = undefined;
    const ok = await pollAll();
    if (!polling || options.closed() || current !== run) return;
    options.afterRound(ok);
    timer = setTimeout(() => void round(current), options.intervalMs);
  }

  return {
    get polling() {
      return polling;
    },
    start() {
      if (polling || options.closed()) return;
      polling = true;
      void round(++run);
    },
    stop() {
      polling = false;
      clearTimeout(timer);
      timer = undefined;
    },
    confirm(names) {
      const tasks: Array<[SectionName[], Promise<void>]> = [];
      const v2Due = names.filter((name) => SECTIONS[name].inV2);
      if (v2Due.length > 0) tasks.push([v2Due, pollV2(true)]);
      for (const name of names) if (!SECTIONS[name].inV2) tasks.push([[name], pollOne(name)]);
      return tasks;
    },
  };
}

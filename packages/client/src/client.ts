import type { ResumeVersions, SectionData, SectionName, ServerMessage, SubscribeMessage } from '@snapboard/shared';
// Not from the package index: that also exports the zod schemas, ~450 KB in the page's bundle.
import { applyListPatch } from '@snapboard/shared/patch';
import { DEFAULT_LIMIT, isSectionName, MAX_LIMIT, SECTIONS, STALE_FACTOR } from '@snapboard/shared/sections';
import { fullJitter } from './backoff.ts';

/**
 * The dashboard SDK: one WebSocket subscription that resumes from the last epoch/version of each
 * section after a drop, and HTTP polling with ETags while the socket cannot be opened. The socket
 * keeps being probed while polling, and polling stops as soon as the socket is live again.
 *
 * List sections may arrive as `patch` frames (an opt-in beyond SPEC §7, see
 * docs/decisions/0006-websocket-patch-frames.md): applied to the version held, or, when that is not
 * the patch's base, answered by subscribing to that section again without versions for a full snapshot.
 *
 * Everything imported from @snapboard/shared at runtime is the zod-free catalog and the patch helper,
 * so the browser bundle carries no schema library.
 */

export type ConnectionState = 'connecting' | 'live' | 'reconnecting' | 'polling' | 'stale' | 'closed';

export interface SectionSnapshot<K extends SectionName = SectionName> {
  section: K;
  /** Empty when the source did not say: the lite HTTP answer carries no epoch or version. */
  epoch: string;
  version: number;
  computed_at: string;
  data: SectionData[K];
}

export interface SectionStatus<K extends SectionName = SectionName> extends SectionSnapshot<K> {
  /** now − computed_at, in ms, on the server's clock as far as the client can tell. */
  ageMs: number;
  /** The section's cadence in seconds (the server's configured value once an HTTP answer told it). */
  ttl: number;
  /**
   * Older than three cadences (SPEC §4): the worker has not refreshed it. While connected, only once
   * the server has confirmed it (a section recomputed unchanged is not pushed over the socket).
   */
  stale: boolean;
}

/**
 * The part of a WebSocket the SDK uses; the browser's and the `ws` package's both fit. Handlers take
 * `never` so that either implementation's event types are accepted.
 */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: never) => void) | null;
  onmessage: ((event: never) => void) | null;
  onclose: ((event: never) => void) | null;
  onerror: ((event: never) => void) | null;
}
export type WebSocketConstructor = new (url: string) => WebSocketLike;

export interface BackoffOptions {
  /** First reconnect waits up to this long (full jitter: a uniform draw from 0 to the cap). */
  baseMs?: number;
  /** Cap on the exponential growth. */
  maxMs?: number;
  /** Source of randomness, for tests. */
  random?: () => number;
}

export interface DashboardClientOptions {
  /** Where the API lives, e.g. `https://dash.example.com` or `location.origin`. */
  baseUrl: string;
  sections: readonly SectionName[];
  /** Items kept of open_positions and recent_trades, 1–100 (default 20). */
  limit?: number;
  /**
   * Ask the server for `patch` frames: a list section's change as a splice of the version held
   * rather than the whole list (default true). Turn off for a server that must see plain SPEC §7.
   */
  patches?: boolean;
  /**
   * Ask for each change set as one `batch` frame (SPEC §10, default true): its sections are applied
   * together and listeners are called after all of them are held, so no listener ever reads a mix of
   * two database states. Turn off for a server that must see plain SPEC §7.
   */
  batches?: boolean;
  /** Defaults to the global WebSocket; pass the `ws` package's in Node 20; `null` means polling only. */
  WebSocket?: WebSocketConstructor | null;
  fetch?: typeof fetch;
  backoff?: BackoffOptions;
  /** Polling cadence while the socket is down (default 3000). */
  pollIntervalMs?: number;
  /** Consecutive failed socket attempts before polling starts (default 2). */
  pollAfterFailures?: number;
  /** Silence on a live socket after which a ping is sent (default 15000). */
  heartbeatMs?: number;
  /** How long to wait for a pong, for `subscribed`, or for an HTTP answer (default 5000). */
  timeoutMs?: number;
  /**
   * The socket pushes only version changes, so while live a section that is recomputed unchanged
   * would look older than it is. When one passes the stale line (three cadences) without a push, the
   * SDK asks HTTP once whether it was recomputed, and calls it stale only if the server confirms;
   * a confirmed stale section is asked again at most this often. 0 turns checks off. Default 5000.
   */
  freshnessCheckMs?: number;
  now?: () => number;
}

export type SectionListener<K extends SectionName> = (snapshot: SectionSnapshot<K>) => void;
export type StateListener = (state: ConnectionState, previous: ConnectionState) => void;
/** One update: a change set's sections (with its id), or a single section that came on its own. */
export interface DashboardUpdate {
  change: string | undefined;
  snapshots: SectionSnapshot[];
}
export interface ClientError {
  code: string;
  message: string;
}

export interface DashboardClient {
  readonly state: ConnectionState;
  /** Called with the current snapshot at once when there is one, then on every data change. */
  on<K extends SectionName>(section: K, listener: SectionListener<K>): () => void;
  onSnapshot(listener: (snapshot: SectionSnapshot) => void): () => void;
  /**
   * Called once per update after every section of it is held (and after the per-section listeners):
   * a change set is one update, so an application that renders here renders a set as one.
   */
  onUpdate(listener: (update: DashboardUpdate) => void): () => void;
  onState(listener: StateListener): () => void;
  /** Error frames from the server and failures the SDK recovers from by itself. */
  onError(listener: (error: ClientError) => void): () => void;
  get<K extends SectionName>(section: K): SectionSnapshot<K> | undefined;
  status<K extends SectionName>(section: K): SectionStatus<K> | undefined;
  close(): void;
}

/** The least a client told `rate_limited` waits: the server tells it at most once a second. */
const RATE_LIMITED_MIN_MS = 1000;
const V2_PATH = '/api/public/dashboard/v2/';
const LITE_PATH = '/api/public/dashboard/lite/';
const sectionPath = (name: SectionName) => `/api/public/dashboard/sections/${name}/`;
const OPEN = 1;

export function createDashboardClient(options: DashboardClientOptions): DashboardClient {
  const sections = [...new Set(options.sections)];
  if (sections.length === 0) throw new TypeError('sections must name at least one section');
  for (const name of sections) if (!isSectionName(name)) throw new TypeError(`unknown section: ${String(name)}`);
  const limit = options.limit ?? DEFAULT_LIMIT;
  const patches = options.patches ?? true;
  const batches = options.batches ?? true;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
    throw new TypeError(`limit must be a whole number from 1 to ${MAX_LIMIT}`);
  }

  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const wsUrl = `${baseUrl.replace(/^http/, 'ws')}/ws`;
  const Socket =
    options.WebSocket === undefined
      ? ((globalThis as { WebSocket?: WebSocketConstructor }).WebSocket ?? null)
      : options.WebSocket;
  const doFetch = options.fetch ?? globalThis.fetch.bind(globalThis);
  const now = options.now ?? Date.now;
  const random = options.backoff?.random ?? Math.random;
  const baseMs = options.backoff?.baseMs ?? 500;
  const maxMs = options.backoff?.maxMs ?? 10_000;
  const pollIntervalMs = options.pollIntervalMs ?? 3000;
  const pollAfterFailures = Math.max(1, options.pollAfterFailures ?? 2);
  const heartbeatMs = options.heartbeatMs ?? 15_000;
  const timeoutMs = options.timeoutMs ?? 5000;
  const freshnessCheckMs = options.freshnessCheckMs ?? 5000;

  const v2Sections = sections.filter((name) => SECTIONS[name].inV2);
  const held = new Map<SectionName, SectionSnapshot>();
  const ttls = new Map<SectionName, number>(sections.map((name) => [name, SECTIONS[name].defaultTtl]));
  /** Local time at which the server last showed a section's current state (push, 200 or 304). */
  const confirmedAt = new Map<SectionName, number>();
  const lastFreshnessCheck = new Map<SectionName, number>();
  const checking = new Set<SectionName>();
  const etags = new Map<string, string>();
  const sectionListeners = new Map<SectionName, Set<(snapshot: SectionSnapshot) => void>>();
  const anyListeners = new Set<(snapshot: SectionSnapshot) => void>();
  const updateListeners = new Set<(update: DashboardUpdate) => void>();
  const stateListeners = new Set<StateListener>();
  const errorListeners = new Set<(error: ClientError) => void>();

  let state: ConnectionState = 'connecting';
  let closed = false;
  let socket: WebSocketLike | null = null;
  let socketTimer: ReturnType<typeof setTimeout> | undefined;
  let reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  let live = false;
  let failures = 0;
  let polling = false;
  let pollTimer: ReturnType<typeof setTimeout> | undefined;
  let freshnessTimer: ReturnType<typeof setInterval> | undefined;
  let pingId = 0;
  // Server clock minus local clock, so ages are right even when the reader's clock is off.
  let clockOffsetMs = 0;

  function setState(next: ConnectionState): void {
    if (next === state) return;
    const previous = state;
    state = next;
    for (const listener of [...stateListeners]) listener(next, previous);
  }

  function report(code: string, message: string): void {
    for (const listener of [...errorListeners]) listener({ code, message });
  }

  function learnServerTime(iso: unknown): void {
    const at = typeof iso === 'string' ? Date.parse(iso) : Number.NaN;
    if (Number.isFinite(at)) clockOffsetMs = at - now();
  }

  /**
   * Keep the newest state of a section. Within one epoch the version decides, and the same version
   * computed later only refreshes computed_at. A new epoch, or a source that gives no version (the lite
   * HTTP answer), is taken when it was computed later.
   */
  function classify(
    current: SectionSnapshot | undefined,
    next: SectionSnapshot,
  ): 'change' | 'refresh' | 'same' | 'older' {
    if (!current) return 'change';
    const byTime =
      next.computed_at > current.computed_at ? 'refresh' : next.computed_at === current.computed_at ? 'same' : 'older';
    if (next.epoch && next.epoch === current.epoch) {
      if (next.version !== current.version) return next.version > current.version ? 'change' : 'older';
      return byTime;
    }
    // Without a version (the lite HTTP answer) equal data is the same state recomputed: keep the version.
    if (!next.epoch && sameData(next.data, current.data)) return byTime;
    const bothVersioned = Boolean(next.epoch && current.epoch);
    const later = bothVersioned ? next.computed_at >= current.computed_at : next.computed_at > current.computed_at;
    return later ? 'change' : 'older';
  }

  /**
   * Hold `next` if it is news. With `batch`, listeners are not called yet: the caller collects a whole
   * set and calls `notify` once all of it is held.
   */
  function apply(next: SectionSnapshot, batch?: SectionSnapshot[]): void {
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
  }

  function notify(changed: readonly SectionSnapshot[], change: string | undefined): void {
    if (changed.length === 0) return;
    for (const next of changed) {
      for (const listener of [...(sectionListeners.get(next.section) ?? [])]) listener(next);
      for (const listener of [...anyListeners]) listener(next);
    }
    const update: DashboardUpdate = { change, snapshots: [...changed] };
    for (const listener of [...updateListeners]) listener(update);
  }

  /** A 304 says the server still has the state last seen on that path, which is what we hold. */
  function confirmUnchanged(names: readonly SectionName[]): void {
    const t = now();
    for (const name of names) if (held.has(name)) confirmedAt.set(name, t);
  }

  function subscribeMessage(names: readonly SectionName[], versions: ResumeVersions = {}): SubscribeMessage {
    const message: SubscribeMessage = { type: 'subscribe', sections: [...names], limit };
    if (Object.keys(versions).length > 0) message.versions = versions;
    if (patches) {
      message.patches = true;
      message.fields = true;
    }
    if (batches) message.batches = true;
    return message;
  }

  function resumeVersions(): ResumeVersions {
    const versions: ResumeVersions = {};
    for (const [name, snapshot] of held) {
      if (snapshot.epoch) versions[name] = { epoch: snapshot.epoch, version: snapshot.version };
    }
    return versions;
  }

  // ---- WebSocket ----------------------------------------------------------------------------------

  function connect(): void {
    reconnectTimer = undefined;
    if (closed || !Socket) return;
    let ws: WebSocketLike;
    try {
      ws = new Socket(wsUrl);
    } catch (error) {
      report('socket_failed', error instanceof Error ? error.message : String(error));
      socketDown(false);
      return;
    }
    socket = ws;
    let subscribed = false;
    /**
     * Sections subscribed to again without versions after a patch that could not be applied, until
     * their snapshot arrives: one request each, however many patches come meanwhile. Per socket: a new
     * one starts from the versions held.
     */
    const resyncing = new Set<SectionName>();
    /**
     * Told `rate_limited` (SPEC §13), the SDK sends nothing on this socket until `pausedUntil`, then
     * asks again for what the dropped command may have been: the subscribe if it was never answered,
     * and every section still waiting for a resync, in one frame.
     */
    let pausedUntil = 0;
    let limitedInARow = 0;
    let resumeTimer: ReturnType<typeof setTimeout> | undefined;
    const paused = () => now() < pausedUntil;
    const resync = (section: SectionName) => {
      if (resyncing.has(section)) return;
      resyncing.add(section);
      if (!paused()) send(ws, subscribeMessage([section]));
    };
    const backOff = () => {
      limitedInARow++;
      // At least the server's notice interval (1 s), growing with each notice in a row, jittered.
      const delay = RATE_LIMITED_MIN_MS + fullJitter(limitedInARow - 1, RATE_LIMITED_MIN_MS, maxMs, random);
      pausedUntil = now() + delay;
      // The notice shows the socket is alive: the subscribe deadline starts again when it is re-sent.
      if (!subscribed) clearTimeout(socketTimer);
      clearTimeout(resumeTimer);
      resumeTimer = setTimeout(() => {
        if (socket !== ws) return;
        if (!subscribed) {
          // Not answered yet: the subscribe itself may have been dropped. A deadline of its own again.
          send(ws, subscribeMessage(sections, resumeVersions()));
          clearTimeout(socketTimer);
          socketTimer = setTimeout(drop, timeoutMs);
        } else if (resyncing.size > 0) {
          send(ws, subscribeMessage([...resyncing]));
        }
      }, delay);
    };

    const drop = () => {
      if (socket !== ws) return;
      socket = null;
      clearTimeout(socketTimer);
      clearTimeout(resumeTimer);
      ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
      // A dead peer may never finish the closing handshake: stop listening and move on at once.
      try {
        ws.close(1000);
      } catch {}
      socketDown(subscribed);
    };
    // Until `subscribed`, one deadline covers opening and subscribing; afterwards it is the heartbeat.
    const armHeartbeat = () => {
      clearTimeout(socketTimer);
      socketTimer = setTimeout(() => {
        // Backing off: the socket is not silent (the notice just came), so wait another round.
        if (paused()) {
          armHeartbeat();
          return;
        }
        send(ws, { type: 'ping', id: ++pingId });
        socketTimer = setTimeout(drop, timeoutMs);
      }, heartbeatMs);
    };
    socketTimer = setTimeout(drop, timeoutMs);

    /** A snapshot or patch frame, alone or as an item of a batch (then collected in `batch`). */
    const onFrame = (message: ServerMessage, batch?: SectionSnapshot[]): void => {
      if (message.type === 'snapshot') {
        if (isSectionName(message.section) && typeof message.version === 'number') {
          resyncing.delete(message.section);
          const next = {
            section: message.section,
            epoch: String(message.epoch),
            version: message.version,
            computed_at: String(message.computed_at),
            data: message.data,
          } as SectionSnapshot;
          apply(next, batch);
        }
        return;
      }
      if (message.type !== 'patch') return;
      const patch = parsePatch(message);
      if (!patch) {
        report('invalid_frame', 'the server sent a malformed patch frame');
        // Whatever it carried is missed: take the section whole again rather than wait for the
        // next patch to miss its base.
        const named: unknown = (message as { section?: unknown }).section;
        if (isSectionName(named) && sections.includes(named)) resync(named);
        return;
      }
      if (!sections.includes(patch.section)) return;
      const current = held.get(patch.section);
      // Already holding that version (it came by HTTP meanwhile) or a newer one: nothing to do, and
      // what the server now thinks we hold is true or will show itself on its next patch.
      if (current && current.epoch === patch.epoch && current.version >= patch.version) return;
      const data =
        current &&
        current.epoch === patch.epoch &&
        current.version === patch.base_version &&
        Array.isArray(current.data)
          ? applyListPatch(current.data as readonly unknown[], patch)
          : undefined;
      if (!data) {
        // Not its base (a newer version came by HTTP, or the two sides diverged): ask for the snapshot.
        report('patch_resync', `a ${patch.section} patch did not fit the version held; resubscribing`);
        resync(patch.section);
        return;
      }
      const next = {
        section: patch.section,
        epoch: patch.epoch,
        version: patch.version,
        computed_at: patch.computed_at,
        data,
      } as SectionSnapshot;
      apply(next, batch);
    };
    ws.onopen = () => send(ws, subscribeMessage(sections, resumeVersions()));
    ws.onclose = drop;
    ws.onerror = drop;
    ws.onmessage = (event: { data: unknown }) => {
      if (socket !== ws) return;
      let parsed: unknown;
      try {
        parsed = JSON.parse(String(event.data));
      } catch {
        report('invalid_frame', 'the server sent a frame that is not JSON');
        return;
      }
      if (!isRecord(parsed)) {
        report('invalid_frame', 'the server sent a frame that is not an object');
        return;
      }
      const message = parsed as unknown as ServerMessage;
      if (subscribed) armHeartbeat();
      switch (message.type) {
        case 'welcome':
          learnServerTime(message.server_time);
          break;
        case 'subscribed':
          limitedInARow = 0;
          // Later ones answer a one-section resubscribe (resync): the connection is already live.
          if (subscribed) break;
          subscribed = true;
          armHeartbeat();
          goLive();
          break;
        case 'snapshot':
        case 'patch':
          onFrame(message);
          break;
        case 'batch': {
          const items: unknown = (message as { items?: unknown }).items;
          if (!Array.isArray(items)) {
            report('invalid_frame', 'the server sent a malformed batch frame');
            break;
          }
          const changed: SectionSnapshot[] = [];
          for (const item of items) if (isRecord(item)) onFrame(item as unknown as ServerMessage, changed);
          notify(changed, String(message.change));
          break;
        }
        case 'error':
          if (message.code === 'rate_limited') backOff();
          report(message.code, message.message);
          break;
        default:
          break;
      }
    };
  }

  function send(ws: WebSocketLike, message: object): void {
    if (ws.readyState !== OPEN) return;
    try {
      ws.send(JSON.stringify(message));
    } catch {
      // The close handler will follow.
    }
  }

  function goLive(): void {
    live = true;
    failures = 0;
    stopPolling();
    setState('live');
    if (freshnessCheckMs > 0 && !freshnessTimer) {
      freshnessTimer = setInterval(checkFreshness, Math.min(1000, freshnessCheckMs));
    }
  }

  function socketDown(wasLive: boolean): void {
    if (closed) return;
    live = false;
    clearInterval(freshnessTimer);
    freshnessTimer = undefined;
    if (wasLive) failures = 0;
    failures += 1;
    if (failures >= pollAfterFailures) startPolling();
    if (!polling) setState('reconnecting');
    const delay = fullJitter(failures - 1, baseMs, maxMs, random);
    reconnectTimer = setTimeout(connect, delay);
  }

  // ---- HTTP ---------------------------------------------------------------------------------------

  async function getJson(path: string, useEtag: boolean): Promise<{ status: number; body?: unknown }> {
    const headers: Record<string, string> = { accept: 'application/json' };
    const etag = useEtag ? etags.get(path) : undefined;
    if (etag) headers['if-none-match'] = etag;
    const response = await doFetch(baseUrl + path, { headers, signal: AbortSignal.timeout(timeoutMs) });
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
    const path = `${V2_PATH}?limit=${metaOnly ? 1 : limit}`;
    const { status, body } = await getJson(path, true);
    reachable(status, 'v2');
    if (status === 304) confirmUnchanged(v2Sections);
    if (status !== 200 || !isRecord(body)) return;
    learnServerTime(body.timestamp);
    const cacheInfo = isRecord(body.cache_info) ? body.cache_info : {};
    const metas = isRecord(body.sections) ? body.sections : {};
    for (const name of v2Sections) {
      const key = SECTIONS[name].cacheInfoKey;
      const ttl = key ? cacheInfo[key] : undefined;
      if (typeof ttl === 'number' && ttl > 0) ttls.set(name, ttl);
      const meta = metas[name];
      if (!isRecord(meta) || !(name in body)) continue;
      const next = {
        section: name,
        epoch: String(meta.epoch ?? ''),
        version: Number(meta.version ?? 0),
        computed_at: String(meta.computed_at ?? ''),
        data: body[name],
      } as SectionSnapshot;
      if (!metaOnly) apply(next);
      else {
        // A shortened list must not replace the subscribed one: only learn that the same version was recomputed.
        const current = held.get(name);
        if (current && current.epoch === next.epoch && current.version === next.version) {
          apply({ ...current, computed_at: next.computed_at });
        }
        // A newer version is on its way over the socket; until then nothing is confirmed.
      }
    }
  }

  async function pollLite(useEtag: boolean): Promise<void> {
    const { status, body } = await getJson(LITE_PATH, useEtag);
    reachable(status, 'lite');
    if (status === 304) confirmUnchanged(['lite']);
    if (status !== 200 || !isRecord(body) || typeof body.timestamp !== 'string') return;
    const { timestamp, ...data } = body;
    apply({ section: 'lite', epoch: '', version: 0, computed_at: timestamp, data } as SectionSnapshot);
  }

  async function pollSection(name: SectionName, useEtag: boolean): Promise<void> {
    const path = sectionPath(name) + (SECTIONS[name].limited ? `?limit=${limit}` : '');
    const { status, body } = await getJson(path, useEtag);
    reachable(status, name);
    if (status === 304) confirmUnchanged([name]);
    if (status !== 200 || !isRecord(body)) return;
    if (typeof body.ttl === 'number' && body.ttl > 0) ttls.set(name, body.ttl);
    apply({
      section: name,
      epoch: String(body.epoch ?? ''),
      version: Number(body.version ?? 0),
      computed_at: String(body.computed_at ?? ''),
      data: body.data,
    } as SectionSnapshot);
  }

  /** One round over every subscribed section; true when the server answered at least once. */
  async function pollAll(): Promise<boolean> {
    const tasks: Promise<void>[] = [];
    if (v2Sections.length > 0) tasks.push(pollV2(false));
    for (const name of sections) {
      if (name === 'lite') tasks.push(pollLite(true));
      else if (!SECTIONS[name].inV2) tasks.push(pollSection(name, true));
    }
    const outcomes = await Promise.allSettled(tasks);
    const failed = outcomes.filter((outcome) => outcome.status === 'rejected');
    for (const outcome of failed) report('poll_failed', String((outcome as PromiseRejectedResult).reason));
    return failed.length < outcomes.length;
  }

  // Each polling run has its own number, so a round still in flight from an earlier run stops
  // instead of scheduling a second loop beside the new one.
  let pollRun = 0;

  function startPolling(): void {
    if (polling || closed) return;
    polling = true;
    void pollRound(++pollRun);
  }

  async function pollRound(run: number): Promise<void> {
    pollTimer = undefined;
    const ok = await pollAll();
    if (!polling || closed || run !== pollRun) return;
    if (!live) setState(ok ? 'polling' : 'stale');
    pollTimer = setTimeout(() => void pollRound(run), pollIntervalMs);
  }

  function stopPolling(): void {
    polling = false;
    clearTimeout(pollTimer);
    pollTimer = undefined;
  }

  function ttlMsOf(name: SectionName): number {
    return (ttls.get(name) ?? SECTIONS[name].defaultTtl) * 1000;
  }

  /** Past the stale line (SPEC §4) when the server last showed it, so not just unheard-of since. */
  function confirmedStale(name: SectionName, snapshot: SectionSnapshot): boolean {
    const seen = confirmedAt.get(name);
    const computedAt = Date.parse(snapshot.computed_at);
    if (seen === undefined || !Number.isFinite(computedAt)) return true;
    return seen + clockOffsetMs - computedAt > STALE_FACTOR * ttlMsOf(name);
  }

  function checkFreshness(): void {
    if (!live || closed) return;
    const t = now();
    const due = sections.filter((name) => {
      const snapshot = held.get(name);
      if (!snapshot || checking.has(name) || ageOf(snapshot) <= STALE_FACTOR * ttlMsOf(name)) return false;
      // Crossed the line since the server last spoke: ask now. Already confirmed stale: ask now and then.
      if (!confirmedStale(name, snapshot)) return true;
      return t - (lastFreshnessCheck.get(name) ?? 0) >= Math.max(ttlMsOf(name), freshnessCheckMs);
    });
    if (due.length === 0) return;
    const tasks: Array<[SectionName[], Promise<void>]> = [];
    const v2Due = due.filter((name) => SECTIONS[name].inV2);
    if (v2Due.length > 0) tasks.push([v2Due, pollV2(true)]);
    for (const name of due) {
      if (name === 'lite') tasks.push([[name], pollLite(true)]);
      else if (!SECTIONS[name].inV2) tasks.push([[name], pollSection(name, true)]);
    }
    for (const [names, task] of tasks) {
      for (const name of names) {
        checking.add(name);
        lastFreshnessCheck.set(name, t);
      }
      void task
        .catch(() => {})
        .finally(() => {
          for (const name of names) checking.delete(name);
        });
    }
  }

  function ageOf(snapshot: SectionSnapshot): number {
    const computedAt = Date.parse(snapshot.computed_at);
    return Number.isFinite(computedAt) ? Math.max(0, now() + clockOffsetMs - computedAt) : Number.POSITIVE_INFINITY;
  }

  // ---- start --------------------------------------------------------------------------------------

  if (Socket) connect();
  else startPolling();

  return {
    get state() {
      return state;
    },
    on(section, listener) {
      const set = sectionListeners.get(section) ?? new Set();
      sectionListeners.set(section, set);
      const wrapped = listener as (snapshot: SectionSnapshot) => void;
      set.add(wrapped);
      const current = held.get(section);
      if (current) wrapped(current);
      return () => set.delete(wrapped);
    },
    onSnapshot(listener) {
      anyListeners.add(listener);
      return () => anyListeners.delete(listener);
    },
    onUpdate(listener) {
      updateListeners.add(listener);
      return () => updateListeners.delete(listener);
    },
    onState(listener) {
      stateListeners.add(listener);
      return () => stateListeners.delete(listener);
    },
    onError(listener) {
      errorListeners.add(listener);
      return () => errorListeners.delete(listener);
    },
    get(section) {
      return held.get(section) as SectionSnapshot<typeof section> | undefined;
    },
    status(section) {
      const snapshot = held.get(section) as SectionSnapshot<typeof section> | undefined;
      if (!snapshot) return undefined;
      const ttl = ttls.get(section) ?? SECTIONS[section].defaultTtl;
      const ageMs = ageOf(snapshot);
      const overdue = ageMs > STALE_FACTOR * ttl * 1000;
      // Connected, a section is stale once the server confirms it; cut off, its age alone decides.
      const confirmable = (state === 'live' && freshnessCheckMs > 0) || state === 'polling';
      return { ...snapshot, ageMs, ttl, stale: overdue && (!confirmable || confirmedStale(section, snapshot)) };
    },
    close() {
      if (closed) return;
      closed = true;
      live = false;
      clearTimeout(reconnectTimer);
      clearTimeout(socketTimer);
      clearInterval(freshnessTimer);
      stopPolling();
      const ws = socket;
      socket = null;
      if (ws) {
        ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
        try {
          ws.close(1000);
        } catch {}
      }
      setState('closed');
    },
  };
}

interface ListPatch {
  section: SectionName;
  epoch: string;
  version: number;
  base_version: number;
  computed_at: string;
  keep: [number, number];
  prepend: unknown[];
  append: unknown[];
  update?: unknown;
}

/** A patch frame's fields when they have the right types; whether it fits is applyListPatch's call. */
function parsePatch(message: object): ListPatch | undefined {
  const { section, epoch, version, base_version, computed_at, keep, prepend, append, update } = message as Record<
    string,
    unknown
  >;
  if (!isSectionName(section) || typeof epoch !== 'string' || typeof computed_at !== 'string') return undefined;
  if (!isVersion(version) || !isVersion(base_version)) return undefined;
  if (!Array.isArray(keep) || keep.length !== 2) return undefined;
  const [start, end] = keep as unknown[];
  if (typeof start !== 'number' || typeof end !== 'number') return undefined;
  if (!Array.isArray(prepend) || !Array.isArray(append)) return undefined;
  // `update` is checked where it is applied (applyListPatch): one that does not fit is a resync.
  return { section, epoch, version, base_version, computed_at, keep: [start, end], prepend, append, update };
}

function isVersion(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

/** Deep equality of JSON values, whatever the key order. */
function sameData(a: unknown, b: unknown): boolean {
  return canonical(a) === canonical(b);
}

function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    isRecord(v)
      ? Object.fromEntries(
          Object.keys(v)
            .sort()
            .map((k) => [k, v[k]]),
        )
      : v,
  );
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

import { WS_PATH } from '@snapboard/shared/paths';
import { DEFAULT_LIMIT, isSectionName, MAX_LIMIT } from '@snapboard/shared/sections';
import { fullJitter } from './backoff.ts';
import { createFreshness } from './freshness.ts';
import { createHeldState } from './held.ts';
import { createPoller } from './poller.ts';
import { createSocketTransport, type SocketTransport } from './socket.ts';
import type {
  ClientError,
  ConnectionState,
  DashboardClient,
  DashboardClientOptions,
  SectionSnapshot,
  SectionStatus,
  StateListener,
  WebSocketConstructor,
} from './types.ts';

/**
 * The dashboard SDK: one WebSocket subscription that resumes from the last epoch/version of each
 * section after a drop, and HTTP polling with ETags while the socket cannot be opened. The socket
 * keeps being probed while polling, and polling stops as soon as the socket is live again.
 *
 * This file is the connection state machine; the parts are one concept each: what is held
 * (held.ts), the socket with its resync (socket.ts), the HTTP poller (poller.ts) and how old what is
 * held is (freshness.ts). Everything imported from @snapboard/shared at runtime comes from its
 * zod-free subpaths, so the browser bundle carries no schema library.
 */

export function createDashboardClient(options: DashboardClientOptions): DashboardClient {
  const sections = [...new Set(options.sections)];
  if (sections.length === 0) throw new TypeError('sections must name at least one section');
  for (const name of sections) if (!isSectionName(name)) throw new TypeError(`unknown section: ${String(name)}`);
  const limit = options.limit ?? DEFAULT_LIMIT;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
    throw new TypeError(`limit must be a whole number from 1 to ${MAX_LIMIT}`);
  }

  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const Socket =
    options.WebSocket === undefined
      ? ((globalThis as { WebSocket?: WebSocketConstructor }).WebSocket ?? null)
      : options.WebSocket;
  const now = options.now ?? Date.now;
  const random = options.backoff?.random ?? Math.random;
  const baseMs = options.backoff?.baseMs ?? 500;
  const maxMs = options.backoff?.maxMs ?? 10_000;
  const pollAfterFailures = Math.max(1, options.pollAfterFailures ?? 2);
  const timeoutMs = options.timeoutMs ?? 5000;
  const freshnessCheckMs = options.freshnessCheckMs ?? 5000;

  const stateListeners = new Set<StateListener>();
  const errorListeners = new Set<(error: ClientError) => void>();
  let state: ConnectionState = 'connecting';
  let closed = false;
  let live = false;
  let failures = 0;
  let reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  let freshnessTimer: ReturnType<typeof setInterval> | undefined;

  function setState(next: ConnectionState): void {
    if (next === state) return;
    const previous = state;
    state = next;
    for (const listener of [...stateListeners]) listener(next, previous);
  }

  function report(code: string, message: string): void {
    for (const listener of [...errorListeners]) listener({ code, message });
  }

  const held = createHeldState(sections, now);
  const freshness = createFreshness({ sections, held, now, checkEveryMs: freshnessCheckMs });
  for (const seed of options.snapshots ?? []) {
    const { ttl, ...snapshot } = seed;
    if (!isSnapshot(snapshot)) throw new TypeError('snapshots must be {section, epoch, version, computed_at, data}');
    if (!sections.includes(snapshot.section)) continue;
    freshness.learnTtl(snapshot.section, ttl);
    held.apply(snapshot);
  }
  const poller = createPoller({
    baseUrl,
    sections,
    limit,
    fetch: options.fetch ?? globalThis.fetch.bind(globalThis),
    timeoutMs,
    intervalMs: options.pollIntervalMs ?? 3000,
    held,
    freshness,
    report,
    closed: () => closed,
    afterRound(ok) {
      if (!live) setState(ok ? 'polling' : 'stale');
    },
  });
  const transport: SocketTransport | undefined = Socket
    ? createSocketTransport({
        url: `${baseUrl.replace(/^http/, 'ws')}${WS_PATH}`,
        Socket,
        sections,
        limit,
        patches: options.patches ?? true,
        batches: options.batches ?? true,
        held,
        heartbeatMs: options.heartbeatMs ?? 15_000,
        timeoutMs,
        maxMs,
        random,
        now,
        report,
        learnServerTime: freshness.learnServerTime,
        onLive: goLive,
        onDown: socketDown,
      })
    : undefined;

  function connect(): void {
    reconnectTimer = undefined;
    if (closed || !transport) return;
    transport.connect();
  }

  function goLive(): void {
    live = true;
    failures = 0;
    poller.stop();
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
    if (failures >= pollAfterFailures) poller.start();
    if (!poller.polling) setState('reconnecting');
    const delay = fullJitter(failures - 1, baseMs, maxMs, random);
    reconnectTimer = setTimeout(connect, delay);
  }

  /** While live: ask HTTP about the sections past the stale line that the server has not shown since. */
  function checkFreshness(): void {
    if (!live || closed) return;
    const due = freshness.due();
    if (due.length === 0) return;
    for (const [names, task] of poller.confirm(due)) {
      void task.catch(() => {}).finally(() => freshness.checked(names));
    }
  }

  if (transport) connect();
  else poller.start();

  return {
    get state() {
      return state;
    },
    on(section, listener) {
      return held.on(section, listener as (snapshot: SectionSnapshot) => void);
    },
    onSnapshot: held.onSnapshot,
    onUpdate: held.onUpdate,
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
      const confirmable = (state === 'live' && freshnessCheckMs > 0) || state === 'polling';
      return freshness.status(section, confirmable) as SectionStatus<typeof section> | undefined;
    },
    close() {
      if (closed) return;
      closed = true;
      live = false;
      clearTimeout(reconnectTimer);
      clearInterval(freshnessTimer);
      poller.stop();
      transport?.close();
      setState('closed');
    },
  };
}

function isSnapshot(snapshot: SectionSnapshot): boolean {
  const value = snapshot as unknown as Record<string, unknown>;
  return (
    isSectionName(value.section) &&
    typeof value.epoch === 'string' &&
    Number.isSafeInteger(value.version) &&
    typeof value.computed_at === 'string' &&
    'data' in value
  );
}

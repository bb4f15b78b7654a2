import type { ResumeVersions, ServerMessage, SubscribeMessage } from '@snapboard/shared';
import { applyListPatch } from '@snapboard/shared/patch';
import { isSectionName, type SectionName } from '@snapboard/shared/sections';
import { fullJitter } from './backoff.ts';
import { type HeldState, isRecord } from './held.ts';
import type { SectionSnapshot, WebSocketConstructor, WebSocketLike } from './types.ts';

/**
 * The socket transport (SPEC §7): one connection at a time, subscribed with the versions held so the
 * server resumes rather than resends; a heartbeat that finds a dead peer; `rate_limited` honoured (SPEC
 * §13); snapshot, patch and batch frames applied to what is held. A `patch` that does not fit the version
 * held (decision 0006) is answered by subscribing to that section again without versions: a resync.
 * Reconnecting and falling back to polling are the client's (client.ts): it is told when a connection
 * goes live and when it goes down.
 */

/** The least a client told `rate_limited` waits: the server tells it at most once a second. */
const RATE_LIMITED_MIN_MS = 1000;
const OPEN = 1;

export interface SocketTransport {
  /** Open a connection (the previous one is gone by then). */
  connect(): void;
  /** Close the current connection, if any, without telling the client. */
  close(): void;
}

export function createSocketTransport(options: {
  url: string;
  Socket: WebSocketConstructor;
  sections: readonly SectionName[];
  limit: number;
  patches: boolean;
  batches: boolean;
  held: HeldState;
  heartbeatMs: number;
  timeoutMs: number;
  /** Cap of the growing pause after `rate_limited` notices in a row. */
  maxMs: number;
  random: () => number;
  now: () => number;
  report(code: string, message: string): void;
  learnServerTime(iso: unknown): void;
  /** The connection is subscribed: updates flow. */
  onLive(): void;
  /** The connection failed or dropped; `wasLive` when it had been subscribed. */
  onDown(wasLive: boolean): void;
}): SocketTransport {
  const { url, Socket, sections, limit, patches, batches, held, heartbeatMs, timeoutMs, maxMs, random, now, report } =
    options;
  let socket: WebSocketLike | null = null;
  let socketTimer: ReturnType<typeof setTimeout> | undefined;
  let pingId = 0;

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

  function connect(): void {
    let ws: WebSocketLike;
    try {
      ws = new Socket(url);
    } catch (error) {
      report('socket_failed', error instanceof Error ? error.message : String(error));
      options.onDown(false);
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
          send(ws, subscribeMessage(sections, held.resumeVersions()));
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
      options.onDown(subscribed);
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
          held.apply(next, batch);
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
      held.apply(next, batch);
    };
    ws.onopen = () => send(ws, subscribeMessage(sections, held.resumeVersions()));
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
          options.learnServerTime(message.server_time);
          break;
        case 'subscribed':
          limitedInARow = 0;
          // Later ones answer a one-section resubscribe (resync): the connection is already live.
          if (subscribed) break;
          subscribed = true;
          armHeartbeat();
          options.onLive();
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
          held.notify(changed, String(message.change));
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

  return {
    connect,
    close() {
      clearTimeout(socketTimer);
      const ws = socket;
      socket = null;
      if (ws) {
        ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
        try {
          ws.close(1000);
        } catch {}
      }
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

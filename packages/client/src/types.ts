import type { SectionData, SectionName } from '@snapboard/shared';

/** The SDK's public types: what a caller passes, gets and listens to. */

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
  /**
   * Snapshots to start from, such as the ones the dashboard page carries in its HTML (decision 0017):
   * held at once, so a listener is called with them as it is added, before any request, and the
   * socket's subscribe resumes from their versions, so the server does not send them again. `ttl`
   * (seconds) is the server's cadence of the section, when known. Sections not subscribed are ignored.
   */
  snapshots?: ReadonlyArray<SectionSnapshot & { ttl?: number }>;
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

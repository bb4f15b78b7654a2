import { SECTIONS_BY_TABLE, type SectionName } from '@snapboard/shared';
import pg from 'pg';
import type { Logger } from 'pino';

/**
 * Event-driven freshness (SPEC §5): migration 0003 NOTIFYs `snapboard_changes` with the table name
 * on every write statement. A dedicated connection LISTENs (a pooled one could be handed to a query
 * and miss notifications). There is no fixed debounce (SPEC §10): notifications read from the socket
 * together are handed over together on the next turn of the event loop, and the first change after a
 * quiet moment asks for a set at once. What arrives while a set computes joins the next set (the queue
 * keeps one set waiting); which sections a set holds is decided inside its own database snapshot
 * (changeset.ts), so a notification is only a wake-up call.
 * When the connection drops it reconnects with backoff, then asks for every section it covers:
 * changes made while it was away were not announced to anyone.
 */

export const CHANGES_CHANNEL = 'snapboard_changes';

// Declared per section in the catalog (`tables`); re-exported here, where the listener uses it.
export { SECTIONS_BY_TABLE };

export interface DebounceOptions {
  /** Quiet time that ends a burst. */
  waitMs: number;
  /** A continuous stream still flushes this often. */
  maxWaitMs: number;
}

/**
 * Collects sections and hands them over once per burst. Without a wait (the default, SPEC §10) the
 * burst is what was read together: it is handed over on the loop's next turn (setImmediate), not
 * after a timer, which Node holds for at least a millisecond.
 */
export function createDebouncer(flush: (sections: SectionName[]) => void, options: DebounceOptions) {
  let pending = new Set<SectionName>();
  let timer: NodeJS.Timeout | undefined;
  let immediate: NodeJS.Immediate | undefined;
  let firstAt = 0;
  const fire = () => {
    timer = undefined;
    immediate = undefined;
    const sections = [...pending];
    pending = new Set();
    if (sections.length) flush(sections);
  };
  const stop = () => {
    if (timer) clearTimeout(timer);
    if (immediate) clearImmediate(immediate);
    timer = undefined;
    immediate = undefined;
  };
  return {
    add(sections: readonly SectionName[]): void {
      if (!sections.length) return;
      const now = Date.now();
      if (pending.size === 0) firstAt = now;
      for (const section of sections) pending.add(section);
      if (options.waitMs <= 0) {
        immediate ??= setImmediate(fire);
        return;
      }
      if (timer) clearTimeout(timer);
      timer = setTimeout(fire, Math.max(0, Math.min(options.waitMs, firstAt + options.maxWaitMs - now)));
    },
    /** Flush now (shutdown). */
    flush(): void {
      stop();
      fire();
    },
    cancel(): void {
      stop();
      pending = new Set();
    },
  };
}

export interface ChangeListenerOptions {
  databaseUrl: string;
  applicationName?: string;
  logger: Logger;
  /** Receives each debounced burst of affected sections. */
  onChange: (sections: SectionName[]) => void | Promise<void>;
  /** The sections each table's writes affect: the catalog's (the product's by default). */
  byTable?: Readonly<Record<string, readonly SectionName[]>>;
  debounce?: DebounceOptions;
  reconnect?: { minMs: number; maxMs: number };
  /** A silently dead TCP connection delivers nothing: probe it this often. */
  probeIntervalMs?: number;
}

export interface ChangeListener {
  start(): Promise<void>;
  close(): Promise<void>;
  readonly connected: boolean;
}

export function createChangeListener(options: ChangeListenerOptions): ChangeListener {
  const { logger } = options;
  const reconnect = options.reconnect ?? { minMs: 100, maxMs: 5000 };
  const probeIntervalMs = options.probeIntervalMs ?? 15_000;
  const byTable = options.byTable ?? SECTIONS_BY_TABLE;
  const allWatched: SectionName[] = [...new Set(Object.values(byTable).flat())];
  const debouncer = createDebouncer((sections) => {
    Promise.resolve(options.onChange(sections)).catch((error) =>
      logger.error({ err: error, sections }, 'recompute request after a change failed'),
    );
  }, options.debounce ?? { waitMs: 0, maxWaitMs: 0 });

  let client: pg.Client | undefined;
  let closed = false;
  let connected = false;
  let attempt = 0;
  let retryTimer: NodeJS.Timeout | undefined;
  let probeTimer: NodeJS.Timeout | undefined;
  let everConnected = false;

  function onNotification(message: pg.Notification): void {
    if (message.channel !== CHANGES_CHANNEL) return;
    const sections = byTable[message.payload ?? ''];
    if (sections) debouncer.add(sections);
  }

  function dropped(which: pg.Client, error?: Error): void {
    if (which !== client) return;
    client = undefined;
    connected = false;
    if (probeTimer) clearInterval(probeTimer);
    which.removeAllListeners('notification');
    which.end().catch(() => {});
    if (closed) return;
    logger.warn({ err: error }, 'change listener connection lost; reconnecting');
    scheduleConnect();
  }

  function scheduleConnect(): void {
    const delay = Math.min(reconnect.maxMs, reconnect.minMs * 2 ** attempt);
    attempt++;
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      connect().catch(() => {});
    }, delay);
  }

  async function connect(): Promise<void> {
    if (closed) return;
    const next = new pg.Client({
      connectionString: options.databaseUrl,
      application_name: options.applicationName ?? 'snapboard-listen',
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
    });
    next.on('error', (error) => dropped(next, error));
    next.on('end', () => dropped(next));
    next.on('notification', onNotification);
    client = next;
    try {
      await next.connect();
      await next.query(`LISTEN ${CHANGES_CHANNEL}`);
    } catch (error) {
      if (client === next) {
        client = undefined;
        next.removeAllListeners('notification');
        await next.end().catch(() => {});
        if (!closed) {
          logger.warn({ err: error }, 'change listener could not connect; retrying');
          scheduleConnect();
        }
      }
      throw error;
    }
    if (closed || client !== next) {
      await next.end().catch(() => {});
      return;
    }
    connected = true;
    attempt = 0;
    probeTimer = setInterval(() => {
      // A probe that gets no answer at all means the peer is gone without a word.
      const silent = setTimeout(() => dropped(next, new Error('no answer to the connection probe')), probeIntervalMs);
      next
        .query('SELECT 1')
        .catch((error) => dropped(next, error))
        .finally(() => clearTimeout(silent));
    }, probeIntervalMs);
    probeTimer.unref();
    if (everConnected) debouncer.add(allWatched);
    everConnected = true;
    logger.info('listening for table changes');
  }

  return {
    get connected() {
      return connected;
    },
    async start() {
      // A database that is down at start must not stop the worker: keep trying in the background.
      await connect().catch(() => {});
    },
    async close() {
      closed = true;
      if (retryTimer) clearTimeout(retryTimer);
      if (probeTimer) clearInterval(probeTimer);
      debouncer.cancel();
      const current = client;
      client = undefined;
      connected = false;
      if (current) {
        current.removeAllListeners('notification');
        await current.end().catch(() => {});
      }
    },
  };
}

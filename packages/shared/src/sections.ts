/**
 * The section catalog: the one list every part of snapboard derives from
 * (schedulers, cache_info, the OpenAPI document, the page, the WebSocket welcome).
 * The worker pairs each name with its compute function; everything else needs only this.
 */
export const SECTION_NAMES = [
  'overview',
  'open_positions',
  'recent_trades',
  'performance_metrics',
  'top_performers',
  'trading_stats',
  'lite',
  'pnl_history',
  'bot_trades',
  'bot_performance',
  'bot_open_positions',
  'bot_summary',
] as const;

export type SectionName = (typeof SECTION_NAMES)[number];

/** The bot's tables whose writes migration 0003 announces (and migration 0007 logs). */
export const SOURCE_TABLES = ['paper_trades', 'signals_paperaccount'] as const;
export type SourceTable = (typeof SOURCE_TABLES)[number];

export interface SectionInfo {
  name: SectionName;
  /** Default cadence in seconds; `TTL_<NAME>` overrides it. */
  defaultTtl: number;
  /** Key under `cache_info` in the v2 answer, when the section is part of v2. */
  cacheInfoKey?: string;
  /** Lists are cut to the reader's `limit` (HTTP and WebSocket). */
  limited: boolean;
  /** Part of the v2 body. */
  inV2: boolean;
  /** Tables whose committed writes bring the section into the next change set (SPEC §10). */
  tables: readonly SourceTable[];
  /** Shown on (and subscribed to by) the dashboard page. */
  onPage: boolean;
  title: string;
}

export const SECTIONS: Readonly<Record<SectionName, SectionInfo>> = {
  overview: {
    name: 'overview',
    tables: ['signals_paperaccount'],
    onPage: true,
    defaultTtl: 5,
    cacheInfoKey: 'overview_ttl',
    limited: false,
    inV2: true,
    title: 'Overview',
  },
  open_positions: {
    name: 'open_positions',
    tables: ['paper_trades'],
    onPage: true,
    defaultTtl: 3,
    cacheInfoKey: 'positions_ttl',
    limited: true,
    inV2: true,
    title: 'Open positions',
  },
  recent_trades: {
    name: 'recent_trades',
    tables: ['paper_trades'],
    onPage: true,
    defaultTtl: 10,
    cacheInfoKey: 'recent_trades_ttl',
    limited: true,
    inV2: true,
    title: 'Recent trades',
  },
  performance_metrics: {
    name: 'performance_metrics',
    tables: ['paper_trades'],
    onPage: true,
    defaultTtl: 10,
    cacheInfoKey: 'metrics_ttl',
    limited: false,
    inV2: true,
    title: 'Performance',
  },
  top_performers: {
    name: 'top_performers',
    tables: ['signals_paperaccount'],
    onPage: true,
    defaultTtl: 15,
    cacheInfoKey: 'top_performers_ttl',
    limited: false,
    inV2: true,
    title: 'Top performers',
  },
  trading_stats: {
    name: 'trading_stats',
    tables: ['paper_trades'],
    onPage: true,
    defaultTtl: 30,
    cacheInfoKey: 'trading_stats_ttl',
    limited: false,
    inV2: true,
    title: 'Trading stats',
  },
  lite: {
    name: 'lite',
    tables: ['paper_trades', 'signals_paperaccount'],
    onPage: true,
    defaultTtl: 2,
    limited: false,
    inV2: false,
    title: 'Lite',
  },
  pnl_history: {
    name: 'pnl_history',
    tables: ['paper_trades'],
    onPage: true,
    defaultTtl: 60,
    limited: false,
    inV2: false,
    title: 'Cumulative P&L',
  },
  // The bot's own public API (SPEC §11): system trades only, served at /api/public/paper-trading/.
  bot_trades: {
    name: 'bot_trades',
    tables: ['paper_trades'],
    onPage: false,
    defaultTtl: 10,
    limited: true,
    inV2: false,
    title: 'Bot trades',
  },
  bot_performance: {
    name: 'bot_performance',
    tables: ['paper_trades'],
    onPage: false,
    defaultTtl: 10,
    limited: false,
    inV2: false,
    title: 'Bot performance',
  },
  bot_open_positions: {
    name: 'bot_open_positions',
    tables: ['paper_trades'],
    onPage: false,
    defaultTtl: 3,
    limited: false,
    inV2: false,
    title: 'Bot open positions',
  },
  bot_summary: {
    name: 'bot_summary',
    tables: ['paper_trades'],
    onPage: false,
    defaultTtl: 10,
    limited: false,
    inV2: false,
    title: 'Bot summary',
  },
};

/**
 * Sections the dashboard page shows (and subscribes to): not the bot's own API's, which serve the bot's
 * frontend (SPEC §11) and would only add bytes to each page's socket.
 */
export const PAGE_SECTIONS: readonly SectionName[] = SECTION_NAMES.filter((name) => SECTIONS[name].onPage);

/** For each source table, the sections its writes affect, in catalog order. */
// Keyed by any string: the listener looks up whatever table name a notification carries.
export const SECTIONS_BY_TABLE: Readonly<Record<string, readonly SectionName[]>> = Object.fromEntries(
  SOURCE_TABLES.map((table) => [table, SECTION_NAMES.filter((name) => SECTIONS[name].tables.includes(table))]),
);

/** Sections that make up the v2 body, in the order the old view emitted them. */
export const V2_SECTIONS: readonly SectionName[] = SECTION_NAMES.filter((name) => SECTIONS[name].inV2);

/** Lists keep at most this many items in a snapshot; readers ask for 1..MAX_LIMIT. */
export const MAX_LIMIT = 100;
export const DEFAULT_LIMIT = 20;

export function isSectionName(value: unknown): value is SectionName {
  return typeof value === 'string' && (SECTION_NAMES as readonly string[]).includes(value);
}

/** `open_positions` → `TTL_OPEN_POSITIONS`. */
export function ttlEnvName(section: SectionName): string {
  return `TTL_${section.toUpperCase()}`;
}

/** A snapshot is stale when it is older than three of its cadences (SPEC §4). */
export const STALE_FACTOR = 3;

/** The last instant (ms) at which a snapshot computed at `computedAtMs` is still fresh. */
export function staleAt(computedAtMs: number, ttlSeconds: number): number {
  return computedAtMs + STALE_FACTOR * ttlSeconds * 1000;
}

export function isStale(computedAtMs: number, ttlSeconds: number, nowMs: number): boolean {
  return nowMs > staleAt(computedAtMs, ttlSeconds);
}

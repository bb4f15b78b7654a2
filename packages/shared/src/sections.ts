import { PATHS, served } from './paths.ts';

/**
 * The section catalog: each section declared once, as one entry of SECTION_DECLARATIONS, and every
 * list of sections derived from the declarations (the names, the v2 body, the page's sections, the
 * sections each table's writes affect). Zod-free, because the page's bundle imports it; each section's
 * data schema is declared beside it in section-data.ts (keyed by name, checked by the compiler to cover
 * exactly these names), and catalog.ts joins the two into the `Catalog` the API and the worker are built
 * from. See docs/decisions/0016-one-section-catalog.md.
 */

/** The bot's tables whose writes migration 0003 announces (and migration 0007 logs). */
export const SOURCE_TABLES = ['paper_trades', 'signals_paperaccount'] as const;
export type SourceTable = (typeof SOURCE_TABLES)[number];

/**
 * How an endpoint of a section's own makes its answer from the snapshot:
 * - `flat`: the data's fields plus `timestamp` = the snapshot's computed_at, no epoch or version
 *   (lite's, SPEC §6); the data must be an object;
 * - `data`: the data as it is (SPEC §11's open positions and summary);
 * - `trade_list`: SPEC §11's list, `{count, trades}`, the section's trades filtered by `status`,
 *   `market_type`, `direction` and `symbol`;
 * - `performance`: SPEC §11's performance, all time or over the last `days`, from the section's hours.
 * What each kind reads of the query, how it answers and how OpenAPI lists it are the API's
 * (apps/api/src/routes/section-endpoints.ts, endpoint-answers.ts, openapi.ts).
 */
export type EndpointAnswer = 'flat' | 'data' | 'trade_list' | 'performance';

/** The OpenAPI tags an endpoint of a section's own may be listed under. */
export type EndpointTag = 'dashboard' | 'paper-trading';

/** An endpoint of a section's own: where it is served, how it answers, how OpenAPI lists it. */
export interface SectionEndpoint {
  /** The path without its trailing slash (both spellings are served); the product's are PATHS values. */
  path: string;
  answer: EndpointAnswer;
  /** OpenAPI: the operation's tag and summary, and the name of its answer's schema under components. */
  tag: EndpointTag;
  summary: string;
  schemaName: string;
  /** OpenAPI: what a 200 carries; the summary when omitted. */
  returns?: string;
}

export interface SectionInfo<N extends string = SectionName> {
  name: N;
  /** Default cadence in seconds; `TTL_<NAME>` overrides it. */
  defaultTtl: number;
  /** Tables whose committed writes bring the section into the next change set (SPEC §10). */
  tables: readonly SourceTable[];
  /** Lists are cut to the reader's `limit` (HTTP and WebSocket). */
  limited: boolean;
  /** Part of the v2 body. Every section is also served at /sections/{name}/ and over the socket. */
  inV2: boolean;
  /** Key under `cache_info` in the v2 answer, when the section is part of v2. */
  cacheInfoKey?: string;
  /** Endpoints of its own, answered from this section's snapshot alone (lite's, SPEC §11's). */
  endpoints?: readonly SectionEndpoint[];
  /** Fields of the data the socket leaves out (what only HTTP answers need, SPEC §11). */
  socketOmits?: readonly string[];
  /** Shown on (and subscribed to by) the dashboard page. */
  onPage: boolean;
  title: string;
}

/** The declarations, in catalog order (the order of v2's body, of the welcome message and of OpenAPI). */
export const SECTION_DECLARATIONS = [
  {
    name: 'overview',
    title: 'Overview',
    defaultTtl: 5,
    tables: ['signals_paperaccount'],
    limited: false,
    inV2: true,
    cacheInfoKey: 'overview_ttl',
    onPage: true,
  },
  {
    name: 'open_positions',
    title: 'Open positions',
    defaultTtl: 3,
    tables: ['paper_trades'],
    limited: true,
    inV2: true,
    cacheInfoKey: 'positions_ttl',
    onPage: true,
  },
  {
    name: 'recent_trades',
    title: 'Recent trades',
    defaultTtl: 10,
    tables: ['paper_trades'],
    limited: true,
    inV2: true,
    cacheInfoKey: 'recent_trades_ttl',
    onPage: true,
  },
  {
    name: 'performance_metrics',
    title: 'Performance',
    defaultTtl: 10,
    tables: ['paper_trades'],
    limited: false,
    inV2: true,
    cacheInfoKey: 'metrics_ttl',
    onPage: true,
  },
  {
    name: 'top_performers',
    title: 'Top performers',
    defaultTtl: 15,
    tables: ['signals_paperaccount'],
    limited: false,
    inV2: true,
    cacheInfoKey: 'top_performers_ttl',
    onPage: true,
  },
  {
    name: 'trading_stats',
    title: 'Trading stats',
    defaultTtl: 30,
    tables: ['paper_trades'],
    limited: false,
    inV2: true,
    cacheInfoKey: 'trading_stats_ttl',
    onPage: true,
  },
  {
    name: 'lite',
    title: 'Lite',
    defaultTtl: 2,
    tables: ['paper_trades', 'signals_paperaccount'],
    limited: false,
    inV2: false,
    endpoints: [
      {
        path: PATHS.lite,
        answer: 'flat',
        tag: 'dashboard',
        summary: 'The lite figures; timestamp is the snapshot time.',
        returns: 'Lite figures.',
        schemaName: 'DashboardLite',
      },
    ],
    onPage: true,
  },
  {
    name: 'pnl_history',
    title: 'Cumulative P&L',
    defaultTtl: 60,
    tables: ['paper_trades'],
    limited: false,
    inV2: false,
    onPage: true,
  },
  // The bot's own public API (SPEC §11): system trades only, served at /api/public/paper-trading/; the
  // bot's frontend reads it, not the page.
  {
    name: 'bot_trades',
    title: 'Bot trades',
    defaultTtl: 10,
    tables: ['paper_trades'],
    limited: true,
    inV2: false,
    endpoints: [
      {
        path: PATHS.botTrades,
        answer: 'trade_list',
        tag: 'paper-trading',
        summary: 'The newest 100 system trades matching the filters, which apply within the newest 500.',
        schemaName: 'BotTradeList',
      },
    ],
    onPage: false,
  },
  {
    name: 'bot_performance',
    title: 'Bot performance',
    defaultTtl: 10,
    tables: ['paper_trades'],
    limited: false,
    inV2: false,
    endpoints: [
      {
        path: PATHS.botPerformance,
        answer: 'performance',
        tag: 'paper-trading',
        summary:
          'Performance of the system trades (all, or created in the last `days`), unrealized P&L of all open ones.',
        schemaName: 'BotPerformance',
      },
    ],
    // The hourly figures serve the HTTP `days` windows and would only weigh on every push.
    socketOmits: ['hours'],
    onPage: false,
  },
  {
    name: 'bot_open_positions',
    title: 'Bot open positions',
    defaultTtl: 3,
    tables: ['paper_trades'],
    limited: false,
    inV2: false,
    endpoints: [
      {
        path: PATHS.botOpenPositions,
        answer: 'data',
        tag: 'paper-trading',
        summary: 'Open system trades at current prices, with totals.',
        schemaName: 'BotOpenPositions',
      },
    ],
    onPage: false,
  },
  {
    name: 'bot_summary',
    title: 'Bot summary',
    defaultTtl: 10,
    tables: ['paper_trades'],
    limited: false,
    inV2: false,
    endpoints: [
      {
        path: PATHS.botSummary,
        answer: 'data',
        tag: 'paper-trading',
        summary: 'All-time performance, open count and the 10 newest closed system trades.',
        schemaName: 'BotSummary',
      },
    ],
    onPage: false,
  },
] as const satisfies readonly SectionInfo<string>[];

export type SectionName = (typeof SECTION_DECLARATIONS)[number]['name'];

/** The lists every part of snapboard works from, derived from a catalog's declarations. */
export interface SectionLists<N extends string = SectionName> {
  /** Every section, in catalog order. */
  names: readonly N[];
  sections: Readonly<Record<N, SectionInfo<N>>>;
  /** Sections that make up the v2 body, in the order the old view emitted them. */
  v2: readonly N[];
  /**
   * Sections the dashboard page shows (and subscribes to): not the bot's own API's, which serve the
   * bot's frontend (SPEC §11) and would only add bytes to each page's socket.
   */
  page: readonly N[];
  /** Every endpoint of a section's own, in catalog order, with its section. */
  endpoints: readonly { section: N; endpoint: SectionEndpoint }[];
  /** For each source table, the sections its writes affect, in catalog order. */
  // Keyed by any string: the listener looks up whatever table name a notification carries.
  byTable: Readonly<Record<string, readonly N[]>>;
}

/**
 * Derives the lists from declarations, refusing a catalog that would serve two sections at one name,
 * one `cache_info` key or one endpoint path, a name that is not a safe path segment and
 * environment-variable suffix, or an endpoint path that is not plain segments without a trailing slash.
 */
export function sectionLists<N extends string>(declarations: readonly SectionInfo<N>[]): SectionLists<N> {
  const names = declarations.map((d) => d.name);
  const cacheKeys = declarations.flatMap((d) => (d.inV2 && d.cacheInfoKey ? [d.cacheInfoKey] : []));
  for (const name of names) {
    if (!/^[a-z][a-z0-9_]{0,62}$/.test(name))
      throw new TypeError(`section name ${JSON.stringify(name)} is not [a-z][a-z0-9_]*`);
  }
  const twice = (list: readonly string[]) => list.find((item, i) => list.indexOf(item) !== i);
  const dupName = twice(names);
  if (dupName !== undefined) throw new TypeError(`section ${dupName} is declared twice`);
  const dupKey = twice(cacheKeys);
  if (dupKey !== undefined) throw new TypeError(`cache_info key ${dupKey} is declared twice`);
  const endpoints = declarations.flatMap((d) => (d.endpoints ?? []).map((endpoint) => ({ section: d.name, endpoint })));
  for (const { section, endpoint } of endpoints) {
    if (!/^(\/[A-Za-z0-9._~-]+)+$/.test(endpoint.path))
      throw new TypeError(
        `endpoint ${JSON.stringify(endpoint.path)} of ${section} is not /segment/… without a trailing slash`,
      );
  }
  const dupPath = twice(endpoints.map(({ endpoint }) => endpoint.path));
  if (dupPath !== undefined) throw new TypeError(`endpoint ${dupPath} is declared twice`);
  const sections = Object.fromEntries(declarations.map((d) => [d.name, d])) as Record<N, SectionInfo<N>>;
  return {
    names,
    sections,
    v2: names.filter((name) => sections[name].inV2),
    page: names.filter((name) => sections[name].onPage),
    endpoints,
    byTable: Object.fromEntries(
      SOURCE_TABLES.map((table) => [table, names.filter((name) => sections[name].tables.includes(table))]),
    ),
  };
}

const PRODUCT = sectionLists<SectionName>(SECTION_DECLARATIONS);

export const SECTION_NAMES: readonly SectionName[] = PRODUCT.names;
export const SECTIONS: Readonly<Record<SectionName, SectionInfo>> = PRODUCT.sections;
export const PAGE_SECTIONS: readonly SectionName[] = PRODUCT.page;
export const SECTIONS_BY_TABLE: Readonly<Record<string, readonly SectionName[]>> = PRODUCT.byTable;
export const V2_SECTIONS: readonly SectionName[] = PRODUCT.v2;

/**
 * Sections with a `flat` endpoint of their own (lite's), and where a reader polls it (the slashed
 * spelling): the SDK reads such a section there rather than at /sections/{name}/.
 */
export const FLAT_ENDPOINTS: Readonly<Partial<Record<SectionName, string>>> = Object.fromEntries(
  PRODUCT.endpoints.flatMap(({ section, endpoint }) =>
    endpoint.answer === 'flat' ? [[section, served(endpoint.path)]] : [],
  ),
);

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

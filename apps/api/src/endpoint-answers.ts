import {
  allTimePerformance,
  BOT_TRADES_PAGE,
  BOT_TRADES_WINDOW,
  type BotPerformanceSection,
  type BotTrade,
  type EndpointAnswer,
  performanceFromHours,
  type SectionName,
} from '@snapboard/shared';
import type { HeaderList } from './cors.ts';
import { weakEtag } from './prepared-answers.ts';
import type { ReadParams } from './read-routes.ts';
import type { SnapshotReplica } from './snapshot-replica.ts';

/**
 * The prepared bodies of the sections' own endpoints (each declaration's `endpoints` in
 * packages/shared: lite's flat one, SPEC §11's, docs/decisions/0010), one way per answer kind. Like
 * prepared-answers.ts, an answer is built once per snapshot version (and per filter or `days`) and
 * dropped when its section changes; a request only looks it up.
 */

export interface EndpointPrepared {
  readonly etag: string;
  readonly body: Buffer;
  /** Extra response headers (the list's Snapboard-Window). */
  readonly headers: HeaderList;
}

/** The list's filters, already validated: exact status/market_type/direction, symbol a substring. */
export interface TradeFilter {
  status?: string;
  market_type?: string;
  direction?: string;
  symbol?: string;
}

/** One way of answering per kind; undefined while the section has no snapshot. */
export type EndpointAnswers = {
  readonly [K in EndpointAnswer]: (section: SectionName, params: ReadParams) => EndpointPrepared | undefined;
} & { stop(): void };

export const WINDOW_HEADER = 'snapboard-window';
/**
 * Where a trade list learns how many system trades exist in all: a full window with more beyond it
 * makes a filtered answer possibly incomplete (SPEC §11's Snapboard-Window).
 */
const ALL_TRADES_FROM = 'bot_performance' as SectionName;
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
/** Answers kept prepared at once; past it the cache starts over (a client cannot grow it). */
const MAX_PREPARED = 256;
const NO_FILTER: TradeFilter = {};

function filterKey(filter: TradeFilter): string {
  return [
    filter.status ?? '',
    filter.market_type ?? '',
    filter.direction ?? '',
    filter.symbol?.toUpperCase() ?? '',
  ].join('\u0000');
}
const UNFILTERED = filterKey(NO_FILTER);

function matcher(filter: TradeFilter): (trade: BotTrade) => boolean {
  const symbol = filter.symbol?.toUpperCase();
  return (trade) =>
    (filter.status === undefined || trade.status === filter.status) &&
    (filter.market_type === undefined || trade.market_type === filter.market_type) &&
    (filter.direction === undefined || trade.direction === filter.direction) &&
    (symbol === undefined || trade.symbol.toUpperCase().includes(symbol));
}

export function createEndpointAnswers(options: { replica: SnapshotReplica }): EndpointAnswers {
  const { replica } = options;
  const { catalog } = replica;
  // Per section, its prepared answers by kind (and filter or window): the kinds without a parameter
  // are looked up by their kind's name, so a request builds no key string.
  const cache = new Map<SectionName, Map<string, EndpointPrepared>>();
  let size = 0;
  // Each trade item's JSON, per trade-list data object: a filter joins the texts of its matches.
  const itemTexts = new WeakMap<object, string[]>();

  const served = new Set(catalog.endpoints.map(({ section }) => section));
  // A trade list's answer also reads ALL_TRADES_FROM's count: a new version of it drops the lists.
  const readers = catalog.endpoints.flatMap(({ section, endpoint }) =>
    endpoint.answer === 'trade_list' ? [section] : [],
  );

  const drop = (section: SectionName) => {
    const answers = cache.get(section);
    if (!answers) return;
    size -= answers.size;
    cache.delete(section);
  };
  const unsubscribe = replica.onChange((section, kind) => {
    if (kind === 'refresh') {
      // A refresh (same version, new computed_at) keeps every answer but the flat one, whose
      // timestamp is computed_at: the others are keyed by version, and a `days` answer also by its
      // window's first hour, which is where computed_at enters.
      const answers = cache.get(section);
      if (answers?.delete('flat')) size--;
      return;
    }
    if (served.has(section)) drop(section);
    if (section === ALL_TRADES_FROM) for (const reader of readers) drop(reader);
  });

  function cached(
    section: SectionName,
    key: string,
    build: () => EndpointPrepared | undefined,
  ): EndpointPrepared | undefined {
    const hit = cache.get(section)?.get(key);
    if (hit) return hit;
    const made = build();
    if (!made) return undefined;
    if (size >= MAX_PREPARED) {
      cache.clear();
      size = 0;
    }
    let answers = cache.get(section);
    if (!answers) {
      answers = new Map();
      cache.set(section, answers);
    }
    answers.set(key, made);
    size++;
    return made;
  }

  return {
    flat: (section) =>
      cached(section, 'flat', () => {
        const entry = replica.get(section);
        if (!entry) return undefined;
        const s = entry.snapshot;
        // The answer carries no `stale` flag, so it never expires by time alone.
        const data = typeof s.data === 'object' && s.data !== null ? s.data : {};
        return {
          etag: weakEtag(`${section}|${s.epoch}:${s.version}:${s.computed_at}`),
          body: Buffer.from(JSON.stringify({ ...data, timestamp: s.computed_at })),
          headers: [],
        };
      }),
    data: (section) =>
      cached(section, 'data', () => {
        const entry = replica.get(section);
        if (!entry) return undefined;
        const s = entry.snapshot;
        return {
          etag: weakEtag(`${section}|${s.epoch}:${s.version}`),
          body: Buffer.from(JSON.stringify(s.data)),
          headers: [],
        };
      }),
    trade_list(section, params) {
      const filter = params.filter ?? NO_FILTER;
      const key = filterKey(filter);
      return cached(section, `list|${key}`, () => {
        const entry = replica.get(section);
        if (!entry) return undefined;
        const s = entry.snapshot;
        const data = Array.isArray(s.data) ? s.data : [];
        let texts = itemTexts.get(data);
        if (!texts) {
          texts = data.map((item) => JSON.stringify(item));
          itemTexts.set(data, texts);
        }
        const filtered = key !== UNFILTERED;
        const picked: string[] = [];
        if (filtered) {
          const matches = matcher(filter);
          for (let i = 0; i < data.length && picked.length < BOT_TRADES_PAGE; i++) {
            if (matches(data[i] as BotTrade)) picked.push(texts[i] as string);
          }
        } else {
          picked.push(...texts.slice(0, BOT_TRADES_PAGE));
        }
        // Exact unless the window was full and there is history beyond it (SPEC §11). Without the
        // count of every system trade, a full window is assumed to have more.
        const all = replica.get(ALL_TRADES_FROM)?.snapshot;
        const more =
          data.length >= BOT_TRADES_WINDOW &&
          (all === undefined || (all.data as BotPerformanceSection).total_trades > data.length);
        const window = filtered && picked.length < BOT_TRADES_PAGE && more;
        return {
          etag: weakEtag(`${section}|${key}|${s.epoch}:${s.version}|${window ? 1 : 0}`),
          body: Buffer.from(`{"count":${picked.length},"trades":[${picked.join(',')}]}`),
          headers: window ? [[WINDOW_HEADER, String(BOT_TRADES_WINDOW)]] : [],
        };
      });
    },
    performance(section, params) {
      const { days } = params;
      const entry = replica.get(section);
      if (!entry) return undefined;
      // The window starts at the hour holding computed_at − days, which moves with computed_at.
      const from =
        days === undefined ? undefined : Math.floor((entry.computedAtMs - days * DAY_MS) / HOUR_MS) * HOUR_MS;
      const window = `${days ?? ''}|${from ?? ''}`;
      return cached(section, `days|${window}`, () => {
        const s = entry.snapshot;
        const data = s.data as BotPerformanceSection;
        const answer =
          from === undefined
            ? allTimePerformance(data)
            : performanceFromHours(data.hours ?? [], from, data.unrealized_pnl);
        return {
          etag: weakEtag(`${section}|${window}|${s.epoch}:${s.version}`),
          body: Buffer.from(JSON.stringify(answer)),
          headers: [],
        };
      });
    },
    stop: unsubscribe,
  };
}

import {
  allTimePerformance,
  BOT_TRADES_PAGE,
  BOT_TRADES_WINDOW,
  type BotPerformanceSection,
  type BotTrade,
  performanceFromHours,
  type SectionName,
} from '@snapboard/shared';
import type { HeaderList } from './cors.ts';
import { weakEtag } from './prepared-answers.ts';
import type { SnapshotReplica } from './snapshot-replica.ts';

/**
 * The prepared bodies of the bot's own public API (SPEC §11, docs/decisions/0010), from the four
 * bot_* snapshots in memory. Like prepared-answers.ts, an answer is built once per snapshot version (and per
 * filter or `days`) and dropped when its section changes; a request only looks it up.
 */

export interface BotPrepared {
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

export interface BotViews {
  /** `{count, trades}`; undefined while bot_trades has no snapshot. */
  trades(filter: TradeFilter): BotPrepared | undefined;
  /** All time without `days`, else the window from the hour holding computed_at − days. */
  performance(days: number | undefined): BotPrepared | undefined;
  openPositions(): BotPrepared | undefined;
  summary(): BotPrepared | undefined;
  stop(): void;
}

export const WINDOW_HEADER = 'snapboard-window';
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
/** Distinct filters kept prepared at once; past it the cache starts over (a client cannot grow it). */
const MAX_FILTERS = 256;

const BOT_SECTIONS: ReadonlySet<SectionName> = new Set([
  'bot_trades',
  'bot_performance',
  'bot_open_positions',
  'bot_summary',
]);

function filterKey(filter: TradeFilter): string {
  return [
    filter.status ?? '',
    filter.market_type ?? '',
    filter.direction ?? '',
    filter.symbol?.toUpperCase() ?? '',
  ].join('\u0000');
}

function matcher(filter: TradeFilter): (trade: BotTrade) => boolean {
  const symbol = filter.symbol?.toUpperCase();
  return (trade) =>
    (filter.status === undefined || trade.status === filter.status) &&
    (filter.market_type === undefined || trade.market_type === filter.market_type) &&
    (filter.direction === undefined || trade.direction === filter.direction) &&
    (symbol === undefined || trade.symbol.toUpperCase().includes(symbol));
}

export function createBotViews(options: { replica: SnapshotReplica }): BotViews {
  const { replica } = options;
  const cache = new Map<string, BotPrepared>();
  // Each trade item's JSON, per bot_trades data object: a filter joins the texts of its matches.
  const itemTexts = new WeakMap<object, string[]>();

  const unsubscribe = replica.onChange((section, kind) => {
    // A refresh (same version, new computed_at) keeps every answer: each is keyed by version, and a
    // `days` answer also by its window's first hour, which is where computed_at enters.
    if (kind === 'refresh' || !BOT_SECTIONS.has(section)) return;
    for (const key of cache.keys()) if (key.startsWith(`${section}|`)) cache.delete(key);
    // The list's window header reads bot_performance's count of every system trade.
    if (section === 'bot_performance')
      for (const key of cache.keys()) if (key.startsWith('bot_trades|')) cache.delete(key);
  });

  function cached(key: string, build: () => BotPrepared | undefined): BotPrepared | undefined {
    const hit = cache.get(key);
    if (hit) return hit;
    const made = build();
    if (!made) return undefined;
    if (cache.size >= MAX_FILTERS) cache.clear();
    cache.set(key, made);
    return made;
  }

  function whole(section: 'bot_open_positions' | 'bot_summary'): BotPrepared | undefined {
    return cached(`${section}|`, () => {
      const entry = replica.get(section);
      if (!entry) return undefined;
      const s = entry.snapshot;
      return {
        etag: weakEtag(`${section}|${s.epoch}:${s.version}`),
        body: Buffer.from(JSON.stringify(s.data)),
        headers: [],
      };
    });
  }

  return {
    trades(filter) {
      const key = filterKey(filter);
      return cached(`bot_trades|${key}`, () => {
        const entry = replica.get('bot_trades');
        if (!entry) return undefined;
        const s = entry.snapshot;
        const data = Array.isArray(s.data) ? s.data : [];
        let texts = itemTexts.get(data);
        if (!texts) {
          texts = data.map((item) => JSON.stringify(item));
          itemTexts.set(data, texts);
        }
        const filtered = key !== filterKey({});
        const picked: string[] = [];
        if (filtered) {
          const matches = matcher(filter);
          for (let i = 0; i < data.length && picked.length < BOT_TRADES_PAGE; i++) {
            if (matches(data[i] as BotTrade)) picked.push(texts[i] as string);
          }
        } else {
          picked.push(...texts.slice(0, BOT_TRADES_PAGE));
        }
        // Exact unless the window was full and there is history beyond it (SPEC §11). The count of
        // every system trade is bot_performance's; without it, a full window is assumed to have more.
        const all = replica.get('bot_performance')?.snapshot;
        const more =
          data.length >= BOT_TRADES_WINDOW &&
          (all === undefined || (all.data as BotPerformanceSection).total_trades > data.length);
        const window = filtered && picked.length < BOT_TRADES_PAGE && more;
        return {
          etag: weakEtag(`bot_trades|${key}|${s.epoch}:${s.version}|${window ? 1 : 0}`),
          body: Buffer.from(`{"count":${picked.length},"trades":[${picked.join(',')}]}`),
          headers: window ? [[WINDOW_HEADER, String(BOT_TRADES_WINDOW)]] : [],
        };
      });
    },
    performance(days) {
      const entry = replica.get('bot_performance');
      if (!entry) return undefined;
      // The window starts at the hour holding computed_at − days, which moves with computed_at.
      const from =
        days === undefined ? undefined : Math.floor((entry.computedAtMs - days * DAY_MS) / HOUR_MS) * HOUR_MS;
      return cached(`bot_performance|${days ?? ''}|${from ?? ''}`, () => {
        const s = entry.snapshot;
        const data = s.data as BotPerformanceSection;
        const answer =
          from === undefined
            ? allTimePerformance(data)
            : performanceFromHours(data.hours ?? [], from, data.unrealized_pnl);
        return {
          etag: weakEtag(`bot_performance|${days ?? ''}|${from ?? ''}|${s.epoch}:${s.version}`),
          body: Buffer.from(JSON.stringify(answer)),
          headers: [],
        };
      });
    },
    openPositions: () => whole('bot_open_positions'),
    summary: () => whole('bot_summary'),
    stop: unsubscribe,
  };
}

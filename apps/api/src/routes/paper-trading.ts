import { ApiError, DEFAULT_LIMIT, PATHS, type SectionName } from '@snapboard/shared';
import type { BotPrepared, BotViews, TradeFilter } from '../bot-views.ts';
import type { Cors } from '../cors.ts';
import { readAnswer } from '../http-answers.ts';
import { plainParams, type Query, type ReadParams, type ReadRoute } from '../read-routes.ts';
import type { RouteTable } from '../router.ts';
import { daysParamSchema, tradeFilterSchemas } from '../schemas.ts';
import { warmingUp } from './dashboard.ts';

/**
 * The bot's own public paper-trading API (SPEC §11), read-only and from snapshots: the four GETs its
 * frontend makes, and the one write it offers (close), refused. The GETs are entries of the one
 * read-route table (read-routes.ts), which the Hono app and the fast path both run.
 */

export interface PaperTradingDeps {
  bot: BotViews;
  cors: Cors;
}

const FILTERS = ['status', 'market_type', 'direction', 'symbol'] as const;

/** One value per parameter; an empty one means "no filter", as the origin read it. */
function single(query: Query, name: string, code: 'invalid_filter' | 'invalid_days'): string | undefined {
  const values = query.values(name);
  if (values === undefined) return undefined;
  if (values.length !== 1) throw new ApiError(code, `${name} must be given at most once`);
  return values[0];
}

export function parseTradeFilter(query: Query): TradeFilter {
  const filter: TradeFilter = {};
  if (query.empty) return filter;
  for (const name of FILTERS) {
    const raw = single(query, name, 'invalid_filter');
    if (raw === undefined || raw === '') continue;
    const parsed = tradeFilterSchemas[name].safeParse(raw);
    if (!parsed.success) {
      const shown = JSON.stringify(raw.slice(0, 24));
      const allowed =
        name === 'symbol' ? 'at most 20 characters' : `one of ${tradeFilterSchemas[name].options.join(', ')}`;
      throw new ApiError('invalid_filter', `${name} ${shown} is not valid: ${allowed}`);
    }
    filter[name] = parsed.data;
  }
  return filter;
}

export function parseDays(query: Query): number | undefined {
  const raw = single(query, 'days', 'invalid_days');
  if (raw === undefined) return undefined;
  const parsed = daysParamSchema.safeParse(raw);
  if (!parsed.success) throw new ApiError('invalid_days', `days ${parsed.error.issues[0]?.message ?? 'is invalid'}`);
  return parsed.data;
}

/** The four GETs of SPEC §11, for the one read-route table (read-routes.ts). */
export function paperTradingReadRoutes(deps: PaperTradingDeps): ReadRoute[] {
  const { bot, cors } = deps;

  const route = (
    pattern: string,
    section: SectionName,
    parse: (query: Query) => ReadParams,
    prepare: (params: ReadParams) => BotPrepared | undefined,
  ): ReadRoute => ({
    pattern,
    paths: [{ path: pattern }],
    parse,
    answer(params, ifNoneMatch, origin, at) {
      const prepared = prepare(params);
      if (!prepared) throw warmingUp([section]);
      return readAnswer(prepared.etag, ifNoneMatch, prepared.body, at, true, prepared.headers, cors.headers(origin));
    },
  });
  const plain = () => plainParams(DEFAULT_LIMIT, false);
  const NO_FILTER: TradeFilter = {};

  return [
    route(
      PATHS.botTrades,
      'bot_trades',
      (query) => (query.empty ? plain() : { ...plain(), filter: parseTradeFilter(query) }),
      (params) => bot.trades(params.filter ?? NO_FILTER),
    ),
    route(
      PATHS.botPerformance,
      'bot_performance',
      (query) => {
        const days = parseDays(query);
        return days === undefined ? plain() : { ...plain(), days };
      },
      (params) => bot.performance(params.days),
    ),
    route(PATHS.botOpenPositions, 'bot_open_positions', plain, bot.openPositions),
    route(PATHS.botSummary, 'bot_summary', plain, bot.summary),
  ];
}

/** The one write the bot's frontend offers (close), refused. */
export function registerPaperTradingWrites(routes: RouteTable): void {
  // Closing a trade writes the bot's data; snapboard only ever reads it.
  routes.on('POST', PATHS.botClose, { cors: true }, () => {
    throw new ApiError(
      'read_only',
      "snapboard serves the bot's data read-only; close trades through the trading bot's own API (its backend's /api/public/paper-trading/{id}/close/).",
      { allow: 'OPTIONS' },
    );
  });
}

import { ApiError, PATHS, type SectionName } from '@snapboard/shared';
import type { Context } from 'hono';
import type { BotPrepared, BotViews, TradeFilter } from '../bot-views.ts';
import type { Cors } from '../cors.ts';
import type { ApiEnv } from '../env.ts';
import { readAnswer } from '../http-answers.ts';
import type { RouteTable } from '../router.ts';
import { daysParamSchema, tradeFilterSchemas } from '../schemas.ts';
import { warmingUp } from './dashboard.ts';

/**
 * The bot's own public paper-trading API (SPEC §11), read-only and from snapshots: the four GETs its
 * frontend makes, and the one write it offers (close), refused. The fast path (fast-path.ts) answers
 * the query-less GETs first and must match these handlers byte for byte.
 */

export interface PaperTradingDeps {
  bot: BotViews;
  cors: Cors;
}

const FILTERS = ['status', 'market_type', 'direction', 'symbol'] as const;

/** One value per parameter; an empty one means "no filter", as the origin read it. */
function single(c: Context<ApiEnv>, name: string, code: 'invalid_filter' | 'invalid_days'): string | undefined {
  const values = c.req.queries(name);
  if (values === undefined) return undefined;
  if (values.length !== 1) throw new ApiError(code, `${name} must be given at most once`);
  return values[0];
}

export function parseTradeFilter(c: Context<ApiEnv>): TradeFilter {
  const filter: TradeFilter = {};
  for (const name of FILTERS) {
    const raw = single(c, name, 'invalid_filter');
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

export function parseDays(c: Context<ApiEnv>): number | undefined {
  const raw = single(c, 'days', 'invalid_days');
  if (raw === undefined) return undefined;
  const parsed = daysParamSchema.safeParse(raw);
  if (!parsed.success) throw new ApiError('invalid_days', `days ${parsed.error.issues[0]?.message ?? 'is invalid'}`);
  return parsed.data;
}

export function registerPaperTradingRoutes(routes: RouteTable, deps: PaperTradingDeps): void {
  const { bot, cors } = deps;

  function answer(c: Context<ApiEnv>, prepared: BotPrepared | undefined, section: SectionName): Response {
    if (!prepared) throw warmingUp([section]);
    const out = readAnswer(
      prepared.etag,
      c.req.header('if-none-match'),
      () => prepared.body,
      prepared.headers,
      cors.headers(c.req.header('origin')),
    );
    return new Response(out.body as Uint8Array<ArrayBuffer> | null, { status: out.status, headers: out.headers });
  }

  routes.on('GET', PATHS.botTrades, { cors: true }, (c) => answer(c, bot.trades(parseTradeFilter(c)), 'bot_trades'));
  routes.on('GET', PATHS.botPerformance, { cors: true }, (c) =>
    answer(c, bot.performance(parseDays(c)), 'bot_performance'),
  );
  routes.on('GET', PATHS.botOpenPositions, { cors: true }, (c) => answer(c, bot.openPositions(), 'bot_open_positions'));
  routes.on('GET', PATHS.botSummary, { cors: true }, (c) => answer(c, bot.summary(), 'bot_summary'));

  // Closing a trade writes the bot's data; snapboard only ever reads it.
  routes.on('POST', PATHS.botClose, { cors: true }, () => {
    throw new ApiError(
      'read_only',
      "snapboard serves the bot's data read-only; close trades through the trading bot's own API (its backend's /api/public/paper-trading/{id}/close/).",
      { allow: 'OPTIONS' },
    );
  });
}

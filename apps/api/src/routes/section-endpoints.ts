import { ApiError, type Catalog, DEFAULT_LIMIT, type EndpointAnswer } from '@snapboard/shared';
import type { Cors } from '../cors.ts';
import type { EndpointAnswers, TradeFilter } from '../endpoint-answers.ts';
import { readAnswer } from '../http-answers.ts';
import { plainParams, type Query, type ReadParams, type ReadRoute } from '../read-routes.ts';
import { daysParamSchema, tradeFilterSchemas } from '../schemas.ts';
import { warmingUp } from './dashboard.ts';

/**
 * The sections' own endpoints (lite's, SPEC §11's), one read route per endpoint a declaration of the
 * catalog names, for the one read-route table (read-routes.ts) that the Hono app and the fast path
 * both run. What an endpoint reads of the query and how it answers follow from its answer kind alone;
 * openapi.ts documents it from the same declaration.
 */

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

const plain = () => plainParams(DEFAULT_LIMIT, false);

/** What each kind reads of the query: the kinds without parameters ignore it, as the origin did. */
const QUERIES: { readonly [K in EndpointAnswer]: (query: Query) => ReadParams } = {
  flat: plain,
  data: plain,
  trade_list: (query) => (query.empty ? plain() : { ...plain(), filter: parseTradeFilter(query) }),
  performance(query) {
    const days = parseDays(query);
    return days === undefined ? plain() : { ...plain(), days };
  },
};

/** One read route per endpoint of a section's own, in catalog order. */
export function sectionEndpointRoutes(deps: { catalog: Catalog; answers: EndpointAnswers; cors: Cors }): ReadRoute[] {
  const { catalog, answers, cors } = deps;
  return catalog.endpoints.map(({ section, endpoint }) => {
    const prepare = answers[endpoint.answer];
    return {
      pattern: endpoint.path,
      paths: [{ path: endpoint.path }],
      parse: QUERIES[endpoint.answer],
      answer(params, ifNoneMatch, origin, at) {
        const prepared = prepare(section, params);
        if (!prepared) throw warmingUp([section]);
        return readAnswer(prepared.etag, ifNoneMatch, prepared.body, at, true, prepared.headers, cors.headers(origin));
      },
    };
  });
}

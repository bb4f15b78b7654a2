import type { IncomingMessage, ServerResponse } from 'node:http';
import { DEFAULT_LIMIT, MAX_LIMIT, PATHS } from '@snapboard/shared';
import type { Logger } from 'pino';
import type { BotPrepared, BotViews } from './bot-views.ts';
import type { Cors, HeaderList } from './cors.ts';
import { DEPRECATION_HEADERS, type ReadAnswer, readAnswer } from './http-answers.ts';
import type { HttpMetrics } from './metrics.ts';
import type { Views } from './prepared-answers.ts';
import { logRequest, requestId, requestLogLevel } from './request-log.ts';

/**
 * The hot path (docs/decisions/0003): plain GETs of v2, lite and the deprecated path, answered from
 * prepared buffers straight on node:http, without building a WHATWG Request/Response. Anything it
 * does not fully understand — another method, a percent-encoded or repeated parameter, refresh,
 * a bad limit, no snapshot yet — it declines (returns false) and Hono answers instead, so every
 * error and edge case has exactly one implementation. What it does answer must be byte-identical
 * to the Hono routes (test/fast-path.test.ts).
 */

type Kind = 'v2' | 'lite' | 'deprecated' | BotKind;
/** The bot's own API (SPEC §11): served here only without a query (no filter, no days). */
type BotKind = 'botTrades' | 'botPerformance' | 'botOpenPositions' | 'botSummary';

const KINDS = new Map<string, Kind>();
for (const [path, kind] of [
  [PATHS.v2, 'v2'],
  [PATHS.lite, 'lite'],
  [PATHS.deprecated, 'deprecated'],
  [PATHS.botTrades, 'botTrades'],
  [PATHS.botPerformance, 'botPerformance'],
  [PATHS.botOpenPositions, 'botOpenPositions'],
  [PATHS.botSummary, 'botSummary'],
] as const) {
  KINDS.set(path, kind);
  KINDS.set(`${path}/`, kind);
}

const NO_HEADERS: HeaderList = [];

/** The limit a v2 query asks for, or undefined when Hono must judge it (it will then answer 400 or ignore). */
function simpleLimit(query: string): number | undefined {
  if (query === '') return DEFAULT_LIMIT;
  if (query.includes('%') || query.includes('+')) return undefined;
  let limit: number | undefined;
  for (const part of query.split('&')) {
    const eq = part.indexOf('=');
    const key = eq === -1 ? part : part.slice(0, eq);
    if (key === 'refresh') return undefined;
    if (key !== 'limit') continue;
    if (limit !== undefined) return undefined;
    const value = eq === -1 ? '' : part.slice(eq + 1);
    if (!/^[0-9]{1,3}$/.test(value)) return undefined;
    limit = Number(value);
    if (limit < 1 || limit > MAX_LIMIT) return undefined;
  }
  return limit ?? DEFAULT_LIMIT;
}

function hasRefresh(query: string): boolean {
  if (query === '') return false;
  if (query.includes('%') || query.includes('+')) return true;
  return query.split('&').some((part) => part === 'refresh' || part.startsWith('refresh='));
}

export interface FastPathDeps {
  views: Views;
  bot: BotViews;
  cors: Cors;
  metrics: HttpMetrics;
  logger: Logger;
  now: () => number;
}

export interface FastPath {
  /** Answer the request and return true, or return false to hand it to Hono untouched. */
  (req: IncomingMessage, res: ServerResponse): boolean;
  /** Requests answered so far (tests check that the fast path really served). */
  readonly served: number;
}

export function createFastPath(deps: FastPathDeps): FastPath {
  const { views, bot, cors, metrics, logger, now } = deps;
  const botPrepared: Record<BotKind, () => BotPrepared | undefined> = {
    botTrades: () => bot.trades({}),
    botPerformance: () => bot.performance(undefined),
    botOpenPositions: () => bot.openPositions(),
    botSummary: () => bot.summary(),
  };
  let served = 0;
  // One pre-bound histogram series per (kind, status): no label work per request.
  const observers: Record<Kind, Partial<Record<200 | 304, (seconds: number) => void>>> = {
    v2: {},
    lite: {},
    deprecated: {},
    botTrades: {},
    botPerformance: {},
    botOpenPositions: {},
    botSummary: {},
  };
  const observe = (kind: Kind, status: 200 | 304, seconds: number) => {
    const byStatus = observers[kind];
    let observer = byStatus[status];
    if (!observer) {
      observer = metrics.observer('GET', PATHS[kind], status);
      byStatus[status] = observer;
    }
    observer(seconds);
  };
  const handle = (req: IncomingMessage, res: ServerResponse): boolean => {
    if (req.method !== 'GET') return false;
    const url = req.url ?? '';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const kind = KINDS.get(path);
    if (kind === undefined) return false;
    const started = performance.now();
    const query = q === -1 ? '' : url.slice(q + 1);
    // Read the two headers it needs from rawHeaders: cheaper than building req.headers, and a repeated
    // one (which node and Hono would merge) is left to Hono.
    let origin: string | undefined;
    let ifNoneMatch: string | undefined;
    let requestIdHeader: string | undefined;
    const raw = req.rawHeaders;
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i] as string;
      if (name.length === 6 && name.toLowerCase() === 'origin') {
        if (origin !== undefined) return false;
        origin = raw[i + 1];
      } else if (name.length === 13 && name.toLowerCase() === 'if-none-match') {
        if (ifNoneMatch !== undefined) return false;
        ifNoneMatch = raw[i + 1];
      } else if (name.length === 12 && name.toLowerCase() === 'x-request-id') {
        requestIdHeader = raw[i + 1];
      }
    }
    const corsHeaders = cors.enabled ? cors.headers(origin) : NO_HEADERS;
    const at = now();
    let answer: ReadAnswer;
    if (kind !== 'v2' && kind !== 'lite' && kind !== 'deprecated') {
      if (query !== '') return false;
      const prepared = botPrepared[kind]();
      if (!prepared) return false;
      answer = readAnswer(prepared.etag, ifNoneMatch, () => prepared.body, prepared.headers, corsHeaders);
    } else if (kind === 'lite') {
      const prepared = views.lite();
      if (!prepared) return false;
      answer = readAnswer(prepared.etag, ifNoneMatch, () => prepared.body, corsHeaders);
    } else {
      const limit = kind === 'v2' ? simpleLimit(query) : hasRefresh(query) ? undefined : DEFAULT_LIMIT;
      if (limit === undefined) return false;
      const prepared = views.v2(limit, at);
      if (!prepared) return false;
      answer =
        kind === 'v2'
          ? readAnswer(prepared.etag, ifNoneMatch, () => prepared.render(at), corsHeaders)
          : readAnswer(prepared.etag, ifNoneMatch, () => prepared.render(at), DEPRECATION_HEADERS, corsHeaders);
    }
    res.writeHead(answer.status, answer.headers);
    res.end(answer.body);
    served++;
    const route = PATHS[kind];
    const seconds = (performance.now() - started) / 1000;
    observe(kind, answer.status, seconds);
    const level = requestLogLevel('GET', answer.status);
    if (logger.isLevelEnabled(level)) {
      logRequest(logger, level, {
        id: requestId(requestIdHeader),
        method: 'GET',
        route,
        path,
        status: answer.status,
        ms: seconds * 1000,
      });
    }
    return true;
  };
  return Object.defineProperty(handle, 'served', { get: () => served }) as FastPath;
}

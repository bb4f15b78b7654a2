import type { Config } from '@snapboard/shared';

/**
 * CORS for the public read endpoints only (ops endpoints never get it). The same function feeds the
 * Hono routes and the fast path, so both send identical headers. No configured origin means no CORS
 * header at all, not even Vary.
 */

export type HeaderList = [name: string, value: string][];

export interface Cors {
  readonly enabled: boolean;
  /** Headers to add to an actual (non-preflight) answer of a public endpoint. */
  headers(origin: string | undefined): HeaderList;
  /** Headers for a preflight (OPTIONS) to a public endpoint that answers `methods` (default its reads). */
  preflight(origin: string | undefined, methods?: string): HeaderList;
}

/**
 * Response headers a browser script must be able to read to poll with ETags, notice deprecation and
 * see that a filtered list of the bot's trades came from a window (SPEC §11).
 */
const EXPOSED = 'ETag, Deprecation, Link, Retry-After, Snapboard-Window';

export function createCors(config: Pick<Config, 'corsOrigins'>): Cors {
  const origins = new Set(config.corsOrigins);
  const any = origins.has('*');
  const enabled = origins.size > 0;
  const allowed = (origin: string | undefined): string | undefined => {
    if (!origin) return undefined;
    if (any) return '*';
    return origins.has(origin) ? origin : undefined;
  };
  const none: HeaderList = [];
  const varyOnly: HeaderList = [['vary', 'Origin']];
  const simple: HeaderList = [['access-control-expose-headers', EXPOSED]];
  const READS = 'GET, HEAD, OPTIONS';
  const preflight: HeaderList = [
    ['access-control-allow-methods', READS],
    // The bot's frontend sends its login token with every call once signed in (its dashboard polls
    // the performance endpoint so); public answers ignore it, but the browser must be let to send it.
    ['access-control-allow-headers', 'If-None-Match, Content-Type, Authorization'],
    ['access-control-max-age', '600'],
  ];
  // The methods lists are the routes' own constants: a handful, each made once.
  const preflights = new Map<string, HeaderList>([[READS, preflight]]);
  const preflightFor = (methods: string): HeaderList => {
    let list = preflights.get(methods);
    if (!list) {
      list = preflight.map(([name, value]) => [name, name.endsWith('-methods') ? methods : value]);
      preflights.set(methods, list);
    }
    return list;
  };
  // One list per allowed value and extra list (the configured origins, or '*'): a read answer's
  // headers are kept per list (http-answers.ts), so the same origin must get the same list.
  const lists = new Map<HeaderList, Map<string, HeaderList>>();
  const answer = (origin: string | undefined, extra: HeaderList): HeaderList => {
    if (!enabled) return none;
    const allow = allowed(origin);
    if (!allow) return varyOnly;
    let byAllow = lists.get(extra);
    if (!byAllow) {
      byAllow = new Map();
      lists.set(extra, byAllow);
    }
    let list = byAllow.get(allow);
    if (!list) {
      list = [['vary', 'Origin'], ['access-control-allow-origin', allow], ...extra];
      byAllow.set(allow, list);
    }
    return list;
  };
  return {
    enabled,
    headers: (origin) => answer(origin, simple),
    preflight: (origin, methods = READS) => answer(origin, preflightFor(methods)),
  };
}

/**
 * The public paths of the API (SPEC §6, §7, §11): where the routes are registered, what the fast path
 * matches, what the OpenAPI document lists, and what the SDK, the page and the tests request. No zod
 * here: the page's bundle imports it (`@snapboard/shared/paths`).
 *
 * Patterns are written without the trailing slash (`:name` marks a parameter); every path is served
 * with and without it, and the SDK requests the slashed spelling SPEC §6 uses (`served`).
 */
export const PATHS = {
  v2: '/api/public/dashboard/v2',
  lite: '/api/public/dashboard/lite',
  section: '/api/public/dashboard/sections/:name',
  deprecated: '/api/public/paper-trading/dashboard',
  botTrades: '/api/public/paper-trading',
  botPerformance: '/api/public/paper-trading/performance',
  botOpenPositions: '/api/public/paper-trading/open-positions',
  botSummary: '/api/public/paper-trading/summary',
  botClose: '/api/public/paper-trading/:id/close',
  clearCache: '/api/public/dashboard/clear-cache',
  recompute: '/api/ops/recompute',
  openapi: '/api/openapi.json',
  healthz: '/healthz',
  readyz: '/readyz',
  metrics: '/metrics',
  queues: '/ops/queues',
} as const;

export type PathName = keyof typeof PATHS;

/** The one path on which the API accepts WebSocket upgrades (SPEC §7). */
export const WS_PATH = '/ws';

/** A path as clients request it: parameters filled in (URI-encoded), with SPEC §6's trailing slash. */
export function served(pattern: string, params: Readonly<Record<string, string | number>> = {}): string {
  const filled = pattern.replace(/:(\w+)/g, (_, name: string) => {
    const value = params[name];
    if (value === undefined) throw new TypeError(`missing path parameter ${name} of ${pattern}`);
    return encodeURIComponent(String(value));
  });
  return `${filled}/`;
}

/** `/api/public/dashboard/sections/{name}/`. */
export function sectionPath(name: string): string {
  return served(PATHS.section, { name });
}

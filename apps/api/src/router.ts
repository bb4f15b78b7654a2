import { ApiError } from '@snapboard/shared';
import type { Handler, Hono, MiddlewareHandler } from 'hono';
import type { Cors } from './cors.ts';
import type { ApiEnv } from './env.ts';

/**
 * Route registration that remembers which methods each path answers, so that a wrong method on a
 * known path is a 405 with `Allow` (not a 404), OPTIONS answers for every path, and the route pattern
 * is recorded for metrics and logs. Public read paths also answer CORS preflights.
 */

type Method = 'GET' | 'POST';

export interface RouteTable {
  on(
    method: Method,
    path: string,
    options: { cors?: boolean },
    ...handlers: [...MiddlewareHandler<ApiEnv>[], Handler<ApiEnv>]
  ): void;
  /** Register OPTIONS and the 405 fallbacks; call after every route is added. */
  finish(): void;
  /** Is `path` (as Hono matched it) a public read path that gets CORS? */
  readonly corsPatterns: ReadonlySet<string>;
}

export function routeTable(app: Hono<ApiEnv>, cors: Cors): RouteTable {
  const methods = new Map<string, Set<string>>();
  const corsPatterns = new Set<string>();
  return {
    corsPatterns,
    on(method, path, options, ...handlers) {
      let set = methods.get(path);
      if (!set) {
        set = new Set();
        methods.set(path, set);
      }
      // A second route at a path (a section's declared endpoint at a path already served) would
      // never be reached: refuse it when the app is built.
      if (set.has(method)) throw new TypeError(`${method} ${path} is registered twice`);
      set.add(method);
      if (method === 'GET') set.add('HEAD');
      if (options.cors) corsPatterns.add(path);
      const mark: MiddlewareHandler<ApiEnv> = async (c, next) => {
        c.set('route', path);
        await next();
      };
      app.on(method, path, mark, ...(handlers as [Handler<ApiEnv>]));
    },
    finish() {
      for (const [path, set] of methods) {
        const allow = [...set, 'OPTIONS'].join(', ');
        const isPublic = corsPatterns.has(path);
        app.options(path, (c) => {
          c.set('route', path);
          const headers: Record<string, string> = { allow };
          // A public path that takes a POST (the bot's close, answered read_only) lets the browser send
          // it, so the page reads the refusal rather than a network error.
          const methods = set.has('POST') ? allow : undefined;
          if (isPublic)
            for (const [name, value] of cors.preflight(c.req.header('origin'), methods)) headers[name] = value;
          return c.body(null, 204, headers);
        });
        app.all(path, (c) => {
          c.set('route', path);
          throw new ApiError('method_not_allowed', `${c.req.method.slice(0, 16)} is not allowed here; use ${allow}.`, {
            allow,
          });
        });
      }
    },
  };
}

import type { Logger } from 'pino';

/** The typed Hono context of every route, declared once. */
export interface ApiEnv {
  Variables: {
    requestId: string;
    /** The app's logger bound to this request's id. */
    logger: Logger;
    /** The route pattern that answered, for metrics and the request log (set by `route()`). */
    route: string;
  };
}

import { ApiError, PATHS } from '@snapboard/shared';
import type { RouteTable } from '../router.ts';

/**
 * The one write the bot's own public paper-trading API offers (SPEC §11), refused: snapboard serves
 * it read-only. Its four GETs are endpoints of the bot_* sections' own, declared in the catalog and
 * served by section-endpoints.ts.
 */
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

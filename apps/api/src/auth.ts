import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { ApiError } from '@snapboard/shared';
import type { Context, MiddlewareHandler } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';
import type { ApiEnv } from './env.ts';

/**
 * Ops authorization: `Authorization: Bearer {OPS_TOKEN}`, compared in constant time on SHA-256
 * digests (equal lengths whatever was sent). Unset OPS_TOKEN disables ops entirely (403).
 *
 * Bull Board is used from a browser, which cannot add a bearer header to page loads, so the UI also
 * accepts the token once as `?token=`: the answer sets an HttpOnly, SameSite=Strict cookie scoped to
 * the UI's path and redirects to the same URL without the token (out of the address bar and history).
 * The cookie holds an HMAC derived from the token, not the token, so it opens the UI but not the
 * ops API.
 */

export const OPS_COOKIE = 'snapboard_ops';
const COOKIE_MAX_AGE_S = 8 * 3600;

const digest = (value: string) => createHash('sha256').update(value).digest();

function sameSecret(given: string, expected: Buffer): boolean {
  return timingSafeEqual(digest(given), expected);
}

export interface OpsAuth {
  /** For the ops API: bearer only. */
  requireToken: MiddlewareHandler<ApiEnv>;
  /** For the Bull Board UI at `basePath`: bearer, or the cookie set by a `?token=` visit. */
  requireUi(basePath: string): MiddlewareHandler<ApiEnv>;
}

function bearer(c: Context): string | undefined {
  const header = c.req.header('authorization');
  if (!header) return undefined;
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  return match?.[1];
}

const unauthorized = (how: string) =>
  new ApiError('unauthorized', `Ops endpoints need ${how}.`, { 'www-authenticate': 'Bearer realm="snapboard-ops"' });
const disabled = () => new ApiError('ops_disabled', 'Ops endpoints are disabled: OPS_TOKEN is not set.');

export function createOpsAuth(token: string | undefined): OpsAuth {
  const expected = token === undefined ? undefined : digest(token);
  const cookieValue =
    token === undefined ? undefined : createHmac('sha256', token).update('bull-board').digest('base64url');
  const expectedCookie = cookieValue === undefined ? undefined : digest(cookieValue);

  const bearerOk = (c: Context) => {
    const given = bearer(c);
    return expected !== undefined && given !== undefined && sameSecret(given, expected);
  };

  return {
    requireToken: async (c, next) => {
      if (!expected) throw disabled();
      if (!bearerOk(c)) throw unauthorized('Authorization: Bearer <OPS_TOKEN>');
      await next();
    },
    requireUi: (basePath) => async (c, next) => {
      if (!expected || !cookieValue || !expectedCookie) throw disabled();
      const query = c.req.queries('token');
      if (query !== undefined) {
        const given = query.length === 1 ? query[0] : undefined;
        if (given === undefined || !sameSecret(given, expected)) throw unauthorized('a valid ?token=');
        setCookie(c, OPS_COOKIE, cookieValue, {
          httpOnly: true,
          sameSite: 'Strict',
          path: basePath,
          maxAge: COOKIE_MAX_AGE_S,
          secure: new URL(c.req.url).protocol === 'https:',
        });
        const url = new URL(c.req.url);
        url.searchParams.delete('token');
        return c.redirect(`${url.pathname}${url.search}`, 303);
      }
      if (bearerOk(c)) return next();
      const cookie = getCookie(c, OPS_COOKIE);
      if (cookie !== undefined && sameSecret(cookie, expectedCookie)) return next();
      throw unauthorized(`Authorization: Bearer <OPS_TOKEN>, or one visit to ${basePath}?token=<OPS_TOKEN>`);
    },
  };
}

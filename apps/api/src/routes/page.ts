import { ApiError, DEFAULT_LIMIT, MAX_LIMIT, PAGE_SECTIONS, SECTIONS, WS_PATH } from '@snapboard/shared';
import {
  buildPage,
  type FirstPaint,
  type FirstPaintSnapshot,
  type PageAsset,
  type PageBundle,
  type PreparedPage,
} from '@snapboard/web';
import { type Context, Hono } from 'hono';
import type { ApiEnv } from '../env.ts';
import type { SnapshotReplica } from '../snapshot-replica.ts';

/**
 * `GET /` (the live dashboard page of SPEC §8) and its two assets, as a sub-app to mount at the root:
 *
 *   app.route('/', createPageRoutes());
 *
 * The bundle is built in memory by esbuild when this is called (once per process, shared by every
 * app instance), so there is no build step; requests that arrive before it is ready wait for it.
 * The page may load only its own script and style and talk only to this host, over HTTP and the socket.
 *
 * Given the replica, the HTML carries the current snapshot of every section the page shows, so it
 * paints complete before the script asks for anything (decision 0017). It is prepared once per change
 * of the replica and `?limit=` (as the page reads it), not per request, and its ETag changes with it.
 */

export interface PageRoutesOptions {
  /** The bundle to serve; by default @snapboard/web builds it. */
  bundle?: Promise<PageBundle>;
  /** Where the snapshots the page carries come from; without it the page carries none. */
  replica?: Pick<SnapshotReplica, 'get' | 'onChange'>;
}

const ASSET_ROUTE = '/assets/:name';

// A Host header is echoed into the CSP only when it looks like one; otherwise 'self' alone is used.
const HOST_PATTERN = /^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/;

function contentSecurityPolicy(host: string | undefined): string {
  // 'self' covers ws(s) to the same host in current browsers; the explicit entries cover older ones.
  const socket = host && HOST_PATTERN.test(host) ? ` ws://${host}${WS_PATH} wss://${host}${WS_PATH}` : '';
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    `connect-src 'self'${socket}`,
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

const COMMON_HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-resource-policy': 'same-origin',
};

function notModified(c: Context<ApiEnv>, etag: string): boolean {
  const header = c.req.header('if-none-match');
  return header?.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag) ?? false;
}

function acceptsGzip(c: Context<ApiEnv>): boolean {
  return /\bgzip\b/.test(c.req.header('accept-encoding') ?? '');
}

/** `?limit=` as the page's script reads it: a whole number from 1 to MAX_LIMIT, else the default. */
function limitOf(raw: string | undefined): number {
  const value = raw === undefined ? Number.NaN : Number(raw);
  return Number.isInteger(value) && value >= 1 && value <= MAX_LIMIT ? value : DEFAULT_LIMIT;
}

function sendAsset(c: Context<ApiEnv>, asset: PageAsset): Response {
  const headers: Record<string, string> = {
    ...COMMON_HEADERS,
    'content-type': asset.contentType,
    // The file name carries the content hash: a new build is a new URL.
    'cache-control': 'public, max-age=31536000, immutable',
    etag: asset.etag,
    vary: 'accept-encoding',
  };
  if (notModified(c, asset.etag)) return c.body(null, 304, headers);
  if (acceptsGzip(c)) {
    headers['content-encoding'] = 'gzip';
    return c.body(asset.gzip, 200, headers);
  }
  return c.body(asset.body, 200, headers);
}

export function createPageRoutes(options: PageRoutesOptions = {}): Hono<ApiEnv> {
  const bundle = options.bundle ?? buildPage();
  // Keep an early failure from being an unhandled rejection; requests report it.
  bundle.catch(() => {});
  let failureLogged = false;

  async function ready(c: Context<ApiEnv>): Promise<PageBundle | undefined> {
    try {
      return await bundle;
    } catch (error) {
      if (!failureLogged) {
        failureLogged = true;
        c.get('logger')?.error({ err: error }, 'dashboard page build failed');
      }
      return undefined;
    }
  }

  // Answered here rather than thrown, so the sub-app speaks the API's error envelope on its own too.
  const fail = (c: Context<ApiEnv>, error: ApiError) => c.json(error.toBody(), error.status, error.headers);
  const unavailable = () =>
    new ApiError('not_ready', 'The dashboard page is not available on this server; the JSON API is.', {
      'retry-after': '30',
    });

  const { replica } = options;
  // The prepared page per limit, for the replica's current state; any change empties it.
  const prepared = new Map<number, PreparedPage>();
  replica?.onChange(() => prepared.clear());

  /** Read in one synchronous pass: the replica applies a change set whole between two turns of the loop. */
  function firstPaint(limit: number): FirstPaint {
    const snapshots: FirstPaintSnapshot[] = [];
    for (const section of PAGE_SECTIONS) {
      const entry = replica?.get(section);
      if (!entry) continue;
      const { epoch, version, computed_at, ttl, data } = entry.snapshot;
      // Lists cut as the socket cuts them for a subscriber with this limit, so it can resume from them.
      const shown = SECTIONS[section].limited && Array.isArray(data) ? data.slice(0, limit) : data;
      snapshots.push({ section, epoch, version, computed_at, ttl, data: shown } as FirstPaintSnapshot);
    }
    return { limit, snapshots };
  }

  function pageFor(bundle: PageBundle, limit: number): PreparedPage {
    if (!replica) return bundle.shell;
    let page = prepared.get(limit);
    if (!page) {
      page = bundle.prepare(firstPaint(limit));
      prepared.set(limit, page);
    }
    return page;
  }

  const app = new Hono<ApiEnv>();

  app.get('/', async (c) => {
    c.set('route', '/');
    const bundle = await ready(c);
    if (!bundle) return fail(c, unavailable());
    const page = pageFor(bundle, limitOf(c.req.query('limit')));
    const headers: Record<string, string> = {
      ...COMMON_HEADERS,
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-cache',
      etag: page.etag,
      vary: 'accept-encoding',
      'content-security-policy': contentSecurityPolicy(c.req.header('host')),
      'x-frame-options': 'DENY',
      'cross-origin-opener-policy': 'same-origin',
      'permissions-policy': 'camera=(), microphone=(), geolocation=(), payment=()',
    };
    if (notModified(c, page.etag)) return c.body(null, 304, headers);
    if (acceptsGzip(c)) {
      headers['content-encoding'] = 'gzip';
      return c.body(page.gzip, 200, headers);
    }
    return c.body(page.html, 200, headers);
  });

  app.get(ASSET_ROUTE, async (c) => {
    c.set('route', ASSET_ROUTE);
    const page = await ready(c);
    if (!page) return fail(c, unavailable());
    const asset = page.assets.get(c.req.path);
    if (!asset) return fail(c, new ApiError('not_found', 'No such asset: the page may have been updated; reload it.'));
    return sendAsset(c, asset);
  });

  return app;
}

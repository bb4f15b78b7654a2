import { createHash } from 'node:crypto';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { type FirstPaint, firstPaintBlock } from './first-paint.ts';
import { renderHtml } from './html.ts';

/**
 * The page is bundled in memory by whoever serves it (the API, at start): no build step to forget,
 * so `npm start` and `npm test` work on a fresh clone. One JS and one CSS file, minified, named by
 * content hash so they can be cached forever; each kept with a gzip copy. The HTML is prepared with
 * the snapshots it carries for its first paint (decision 0017) by `prepare`, once per change of them.
 */

export interface PageAsset {
  /** URL path, e.g. `/assets/app-3f2a9c1d.js`. */
  path: string;
  contentType: string;
  body: Uint8Array<ArrayBuffer>;
  gzip: Uint8Array<ArrayBuffer>;
  etag: string;
}

/** The page's HTML as served: its bytes, their gzip, and an ETag that changes with them. */
export interface PreparedPage {
  html: string;
  gzip: Uint8Array<ArrayBuffer>;
  etag: string;
}

export interface PageBundle {
  /** The page carrying no snapshots: every panel filled by the socket. */
  shell: PreparedPage;
  /** The page carrying `firstPaint`: a JSON.stringify, a gzip and a hash, so once per change, not per request. */
  prepare(firstPaint: FirstPaint): PreparedPage;
  js: PageAsset;
  css: PageAsset;
  /** Every asset by URL path. */
  assets: ReadonlyMap<string, PageAsset>;
}

const APP_DIR = resolve(dirname(fileURLToPath(import.meta.url)), 'app');
const ASSET_PREFIX = '/assets/';

const digest = (body: string | Uint8Array) => createHash('sha256').update(body).digest('hex').slice(0, 16);

function asset(name: string, extension: string, contentType: string, body: Uint8Array): PageAsset {
  const hash = digest(body);
  return {
    path: `${ASSET_PREFIX}${name}-${hash.slice(0, 10)}.${extension}`,
    contentType,
    // Copies on a plain ArrayBuffer: what Response bodies accept.
    body: new Uint8Array(body),
    gzip: new Uint8Array(gzipSync(body, { level: 9 })),
    etag: `"${hash}"`,
  };
}

export async function bundlePage(): Promise<PageBundle> {
  const result = await build({
    entryPoints: { app: resolve(APP_DIR, 'main.ts'), styles: resolve(APP_DIR, 'styles.css') },
    bundle: true,
    write: false,
    outdir: 'out',
    format: 'iife',
    platform: 'browser',
    target: ['chrome100', 'firefox100', 'safari15'],
    minify: true,
    legalComments: 'none',
    logLevel: 'silent',
  });
  const pick = (extension: string) => {
    const file = result.outputFiles.find((output) => output.path.endsWith(extension));
    if (!file) throw new Error(`esbuild produced no ${extension} file`);
    return file.contents;
  };
  const js = asset('app', 'js', 'text/javascript; charset=utf-8', pick('.js'));
  const css = asset('app', 'css', 'text/css; charset=utf-8', pick('.css'));
  // The shell is rendered once; a prepared page only splices its data block in.
  const marker = '<!--first-paint-->';
  const [before, after] = renderHtml({ js: js.path, css: css.path }, marker).split(marker) as [string, string];
  const page = (html: string): PreparedPage => ({
    html,
    gzip: new Uint8Array(gzipSync(html)),
    etag: `"${digest(html)}"`,
  });
  return {
    shell: page(before + after),
    prepare: (firstPaint) => page(before + firstPaintBlock(firstPaint) + after),
    js,
    css,
    assets: new Map([
      [js.path, js],
      [css.path, css],
    ]),
  };
}

let cached: Promise<PageBundle> | undefined;

/** Built once per process and shared: the sources cannot change while it runs. */
export function buildPage(): Promise<PageBundle> {
  cached ??= bundlePage();
  cached.catch(() => {
    cached = undefined;
  });
  return cached;
}

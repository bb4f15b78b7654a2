import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { createPageRoutes } from '../src/routes/page.ts';

/** GET / and its assets, in process. The page's behaviour in a browser is in packages/web/test. */

const page = createPageRoutes();
const host = { host: '127.0.0.1:8000' };

async function assetPaths(): Promise<{ js: string; css: string }> {
  const html = await (await page.request('/', { headers: host })).text();
  const js = /<script defer src="(\/assets\/app-[0-9a-f]+\.js)"><\/script>/.exec(html)?.[1];
  const css = /<link rel="stylesheet" href="(\/assets\/app-[0-9a-f]+\.css)">/.exec(html)?.[1];
  expect(js).toBeDefined();
  expect(css).toBeDefined();
  return { js: js!, css: css! };
}

describe('happy: the page', () => {
  it('serves the HTML shell with every section card and a strict CSP', async () => {
    const response = await page.request('/', { headers: host });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(response.headers.get('cache-control')).toBe('no-cache');
    const csp = response.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("connect-src 'self' ws://127.0.0.1:8000/ws wss://127.0.0.1:8000/ws");
    expect(csp).not.toContain('unsafe-inline');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('x-frame-options')).toBe('DENY');
    const html = await response.text();
    const cards = ['open_positions', 'recent_trades', 'performance_metrics', 'top_performers', 'trading_stats'];
    for (const section of [...cards, 'pnl_history']) expect(html).toContain(`data-section="${section}"`);
    // The headline strip holds lite and overview.
    expect(html).toContain('data-from="lite"');
    expect(html).toContain('data-from="overview"');
    expect(html).toContain('id="conn"');
    expect(html).not.toMatch(/<script>|\son[a-z]+=/);
  });

  it('serves the script and stylesheet, gzipped when asked, cacheable forever, 304 on a match', async () => {
    const { js, css } = await assetPaths();
    const script = await page.request(js);
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(script.headers.get('cache-control')).toContain('immutable');
    const plain = Buffer.from(await script.arrayBuffer());
    expect(plain.length).toBeGreaterThan(1000);

    const zipped = await page.request(js, { headers: { 'accept-encoding': 'gzip, br' } });
    expect(zipped.headers.get('content-encoding')).toBe('gzip');
    expect(gunzipSync(Buffer.from(await zipped.arrayBuffer())).equals(plain)).toBe(true);

    const style = await page.request(css);
    expect(style.headers.get('content-type')).toBe('text/css; charset=utf-8');
    expect(await style.text()).toContain('.uplot');

    const again = await page.request(js, { headers: { 'if-none-match': script.headers.get('etag')! } });
    expect(again.status).toBe(304);
    const html = await page.request('/', { headers: host });
    const htmlAgain = await page.request('/', { headers: { ...host, 'if-none-match': html.headers.get('etag')! } });
    expect(htmlAgain.status).toBe(304);
  });

  it('answers HEAD like GET without a body', async () => {
    const response = await page.request('/', { method: 'HEAD', headers: host });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('');
  });
});

describe('error and security', () => {
  it('answers an unknown asset with the JSON error envelope', async () => {
    for (const path of ['/assets/app-0000000000.js', '/assets/..%2f..%2fpackage.json', '/assets/x']) {
      const response = await page.request(path);
      expect(response.status).toBe(404);
      expect(await response.json()).toMatchObject({ error: { code: 'not_found' } });
    }
  });

  it('never echoes a malformed Host header into the CSP', async () => {
    const response = await page.request('/', { headers: { host: "evil.test; script-src 'unsafe-inline'" } });
    const csp = response.headers.get('content-security-policy') ?? '';
    expect(csp).not.toContain('evil');
    expect(csp).toContain("connect-src 'self';");
  });

  it('answers 503 not_ready, not 500, when the page could not be built', async () => {
    const broken = createPageRoutes({ bundle: Promise.reject(new Error('esbuild missing')) });
    const response = await broken.request('/');
    expect(response.status).toBe(503);
    expect(await response.json()).toMatchObject({ error: { code: 'not_ready' } });
  });
});

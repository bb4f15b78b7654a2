import { gunzipSync } from 'node:zlib';
import { useTestEnv } from '@snapboard/devenv/testing';
import { PAGE_SECTIONS, type SectionData, type Snapshot } from '@snapboard/shared';
import { buildPage, type FirstPaint, type PageBundle } from '@snapboard/web';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPageRoutes } from '../src/routes/page.ts';
import { buildTestApp, type TestApp } from './support/app.ts';
import { makeSnapshot, newEpoch, publishAll, publishRefresh, publishSnapshot, until } from './support/fixtures.ts';

/**
 * The page's first paint (decision 0017): the HTML carries the replica's current snapshot of every
 * section the page shows, cut to the page's limit, in a data block nothing in the data can break out
 * of; it is prepared once per change, and its ETag changes exactly when what it carries does.
 */

const env = useTestEnv({ database: false });
let t: TestApp;
let page: ReturnType<typeof createPageRoutes>;
let prepares = 0;
const epoch = newEpoch();
const host = { host: '127.0.0.1:8000' };

beforeAll(async () => {
  t = await buildTestApp(env.config());
  const built = await buildPage();
  // The real bundle, counting how often a page is prepared.
  const counted: PageBundle = {
    ...built,
    prepare(firstPaint) {
      prepares++;
      return built.prepare(firstPaint);
    },
  };
  page = createPageRoutes({ bundle: Promise.resolve(counted), replica: t.replica });
});
afterAll(() => t?.close());

const get = (path = '/', headers: Record<string, string> = {}) =>
  page.request(path, { headers: { ...host, ...headers } });

const BLOCK = /<script type="application\/json" id="first-paint">([^<]*)<\/script>/;

async function carried(path = '/'): Promise<{ html: string; firstPaint: FirstPaint; etag: string }> {
  const response = await get(path);
  expect(response.status).toBe(200);
  const html = await response.text();
  const block = BLOCK.exec(html)?.[1];
  expect(block, 'the first-paint data block').toBeDefined();
  return { html, firstPaint: JSON.parse(block!) as FirstPaint, etag: response.headers.get('etag')! };
}

describe('before the first snapshot', () => {
  it('happy: the page carries an empty first paint, and the socket fills it', async () => {
    const { firstPaint } = await carried();
    expect(firstPaint).toEqual({ limit: 20, snapshots: [] });
  });
});

describe('with snapshots', () => {
  let published: Snapshot[];
  beforeAll(async () => {
    published = await publishAll(t.redis, t.keys, { epoch, version: 3 });
    await until(() => PAGE_SECTIONS.every((s) => t.replica.get(s)?.snapshot.version === 3));
  });

  it('happy: every page section, as the replica holds it, lists cut to the limit, nothing else', async () => {
    const { firstPaint } = await carried();
    expect(firstPaint.limit).toBe(20);
    expect(firstPaint.snapshots.map((s) => s.section)).toEqual([...PAGE_SECTIONS]);
    for (const snapshot of firstPaint.snapshots) {
      const source = published.find((s) => s.section === snapshot.section)!;
      expect(snapshot).toMatchObject({
        epoch,
        version: 3,
        computed_at: source.computed_at,
        ttl: source.ttl,
      });
      const expected =
        Array.isArray(source.data) && snapshot.section !== 'pnl_history' ? source.data.slice(0, 20) : source.data;
      expect(snapshot.data, snapshot.section).toEqual(expected);
    }

    const five = await carried('/?limit=5');
    expect(five.firstPaint.limit).toBe(5);
    expect(five.firstPaint.snapshots.find((s) => s.section === 'open_positions')?.data).toHaveLength(5);
    // pnl_history is not a limited list: all 720 hours (here the fixture's) whatever the limit.
    const history = five.firstPaint.snapshots.find((s) => s.section === 'pnl_history')?.data as unknown[];
    expect(history).toHaveLength((published.find((s) => s.section === 'pnl_history')!.data as unknown[]).length);
    // A limit the page would not accept is the page's default, as its script reads it.
    for (const bad of ['0', '101', 'abc', '2.5']) expect((await carried(`/?limit=${bad}`)).firstPaint.limit).toBe(20);
  });

  it('happy: prepared once per change, not per request; the ETag follows what the page carries', async () => {
    const first = await carried();
    const before = prepares;
    for (let i = 0; i < 10; i++) expect((await carried()).etag).toBe(first.etag);
    expect(prepares).toBe(before);
    expect((await get('/', { 'if-none-match': first.etag })).status).toBe(304);

    // A new version of one section: a new page, once.
    const lite = makeSnapshot('lite', { epoch, version: 4 });
    await publishSnapshot(t.redis, t.keys, lite);
    await until(() => t.replica.get('lite')?.snapshot.version === 4);
    const changed = await carried();
    expect(changed.etag).not.toBe(first.etag);
    expect(changed.firstPaint.snapshots.find((s) => s.section === 'lite')?.version).toBe(4);
    await carried();
    expect(prepares).toBe(before + 1);
    expect((await get('/', { 'if-none-match': first.etag })).status).toBe(200);

    // Recomputed unchanged (computed_at only): the page carries the new time, so it is a new page too.
    const refreshed = await publishRefresh(t.redis, t.keys, lite, Date.parse(lite.computed_at) + 1000);
    await until(() => t.replica.get('lite')?.snapshot.computed_at === refreshed.computed_at);
    const again = await carried();
    expect(again.etag).not.toBe(changed.etag);
    expect(again.firstPaint.snapshots.find((s) => s.section === 'lite')?.computed_at).toBe(refreshed.computed_at);
  });

  it('happy: gzipped when the client accepts it, the same bytes', async () => {
    const plain = Buffer.from(await (await get()).arrayBuffer());
    const zipped = await get('/', { 'accept-encoding': 'gzip, br' });
    expect(zipped.headers.get('content-encoding')).toBe('gzip');
    expect(zipped.headers.get('vary')).toBe('accept-encoding');
    expect(gunzipSync(Buffer.from(await zipped.arrayBuffer())).equals(plain)).toBe(true);
  });

  it('security: data cannot end the block or inject markup, and reads back unchanged', async () => {
    const hostile = '</script><script>alert(1)</script><!-- \u2028\u2029 & > "';
    const positions = makeSnapshot('open_positions', { epoch, version: 4 }).data as SectionData['open_positions'];
    const data = positions.map((p, i) => (i === 0 ? { ...p, username: hostile, symbol: '</SCRIPT >' } : p));
    await publishSnapshot(t.redis, t.keys, makeSnapshot('open_positions', { epoch, version: 4, data }));
    await until(() => t.replica.get('open_positions')?.snapshot.version === 4);

    const { html, firstPaint } = await carried();
    // The page's own two script elements, and no other.
    expect(html.match(/<script/gi)).toHaveLength(2);
    expect(html.match(/<\/script/gi)).toHaveLength(2);
    expect(html).not.toContain('<!--');
    expect(html).not.toMatch(/[\u2028\u2029]/);
    const carriedPositions = firstPaint.snapshots.find((s) => s.section === 'open_positions')!;
    const first = (carriedPositions.data as SectionData['open_positions'])[0]!;
    expect(first.username).toBe(hostile);
    expect(first.symbol).toBe('</SCRIPT >');
  });
});

import { type RunningApi, startApi } from '@snapboard/api';
import { useTestEnv } from '@snapboard/devenv/testing';
import {
  CATALOG,
  extendCatalog,
  loadConfig,
  PATHS,
  type SectionDeclaration,
  type SectionName,
  sectionPath,
  served,
  WS_PATH,
} from '@snapboard/shared';
import { type Computation, createWorker, SECTION_COMPUTERS, type SnapboardWorker } from '@snapboard/worker';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { BotDb } from '../e2e/support/bot-db.ts';
import { waitUntil } from '../e2e/support/wait.ts';
import { WsClient } from '../e2e/support/ws-client.ts';

/**
 * Issue 12: a section is one declaration and one computation. This file adds one the product does not
 * have, without touching the product's files, and follows it through everything derived from the
 * catalog: the worker computes it (and again when a table it declares changes), the API serves it in
 * v2, at /sections/{name}/ and at the endpoint of its own it declares, the socket welcomes and pushes
 * it, and the OpenAPI document lists it and that endpoint.
 */

const env = useTestEnv();
const logger = pino({ level: 'silent' });

// The section's name is typed as the product's names only inside the catalog (catalog.ts).
const PROBE = 'catalog_probe' as SectionName;
// An endpoint of its own, answered like lite's: the data's fields plus the snapshot's time.
const PROBE_PATH = '/api/public/catalog-probe';

const probe: SectionDeclaration = {
  name: PROBE,
  title: 'Catalog probe',
  defaultTtl: 30,
  tables: ['paper_trades'],
  limited: false,
  inV2: true,
  cacheInfoKey: 'catalog_probe_ttl',
  endpoints: [
    {
      path: PROBE_PATH,
      answer: 'flat',
      tag: 'dashboard',
      summary: "The probe's figures; timestamp is the snapshot time.",
      schemaName: 'CatalogProbe',
    },
  ],
  onPage: false,
  schema: z.object({ open_trades: z.number().int().nonnegative() }),
};

const probeComputation: Computation = {
  async compute({ db }) {
    const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM paper_trades WHERE status = 'OPEN'`);
    return { open_trades: rows[0]?.n ?? 0 };
  },
};

const catalog = extendCatalog(CATALOG, probe);

let bot: BotDb;
let worker: SnapboardWorker;
let api: RunningApi;

async function get(path: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(api.url + path);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

beforeAll(async () => {
  bot = new BotDb(env.databaseUrl);
  const config = loadConfig(
    {
      DATABASE_URL: env.databaseUrl,
      REDIS_URL: env.redisUrl,
      KEY_PREFIX: env.keyPrefix,
      PRICE_SOURCE: 'none',
      LOG_LEVEL: 'silent',
      HOST: '127.0.0.1',
      PORT: '0',
      // The probe's own TTL_ variable, read because the catalog declares it.
      TTL_CATALOG_PROBE: '45',
    },
    catalog,
  );
  worker = createWorker({
    config,
    logger,
    catalog,
    computations: { ...SECTION_COMPUTERS, [PROBE]: probeComputation },
    schedule: false,
  });
  await worker.start();
  api = await startApi({ config, logger, catalog, page: false });
}, 60_000);

afterAll(async () => {
  await api?.close();
  await worker?.close();
  await bot?.close();
});

describe('a section added by declaration and computation alone', () => {
  it('is computed, and served at /sections/{name}/ and in v2', async () => {
    const section = await waitUntil('the probe at /sections/catalog_probe/', async () => {
      const answer = await get(sectionPath(PROBE));
      return answer.status === 200 ? answer.body : undefined;
    });
    expect(section).toMatchObject({ section: PROBE, ttl: 45, stale: false, data: { open_trades: 0 } });

    const v2 = await waitUntil('v2 with every section', async () => {
      const answer = await get(served(PATHS.v2));
      return answer.status === 200 ? answer.body : undefined;
    });
    expect(v2[PROBE]).toEqual({ open_trades: 0 });
    expect(v2.cache_info).toMatchObject({ catalog_probe_ttl: 45, overview_ttl: 5 });
    expect(Object.keys(v2.sections as object)).toEqual([...catalog.v2]);
    expect(catalog.v2.at(-1)).toBe(PROBE);
  });

  it('is served at the endpoint of its own it declares, with ETag and 304, on the fast path too', async () => {
    const snapshot = await waitUntil('the probe at /sections/catalog_probe/', async () => {
      const answer = await get(sectionPath(PROBE));
      return answer.status === 200 ? answer.body : undefined;
    });
    const before = api.fastPathServed();
    const response = await fetch(api.url + served(PROBE_PATH));
    expect(response.status).toBe(200);
    const etag = response.headers.get('etag') ?? '';
    const body = (await response.json()) as Record<string, unknown>;
    // The snapshot may have been recomputed in between; the answer's time is then the later one.
    expect(body).toEqual({ open_trades: 0, timestamp: expect.any(String) });
    expect(Date.parse(body.timestamp as string)).toBeGreaterThanOrEqual(Date.parse(snapshot.computed_at as string));
    expect(etag).toMatch(/^W\//);
    const again = await fetch(api.url + PROBE_PATH, { headers: { 'if-none-match': etag } });
    expect(again.status).toBe(304);
    expect(api.fastPathServed() - before).toBe(2);
  });

  it('is welcomed and pushed over the socket, again when a table it declares changes', async () => {
    const client = await WsClient.connect(api.url.replace(/^http/, 'ws') + WS_PATH);
    try {
      const welcome = await client.waitFor('welcome', (m) => m.type === 'welcome');
      expect(welcome.sections).toEqual([...catalog.names]);
      expect((await client.subscribe([PROBE])).type).toBe('subscribed');
      const first = await client.waitFor('the probe snapshot', (m) => m.type === 'snapshot' && m.section === PROBE);
      expect(first.data).toEqual({ open_trades: 0 });

      // paper_trades is among the probe's declared tables: the write alone brings it into a change set.
      await bot.openTrade(null);
      const pushed = await client.waitFor(
        'the probe after a trade opened',
        (m) => m.type === 'snapshot' && m.section === PROBE && (m.version as number) > (first.version as number),
        { timeoutMs: 15_000 },
      );
      expect(pushed.data).toEqual({ open_trades: 1 });
    } finally {
      await client.close();
    }
  });

  it('is documented in the OpenAPI document', async () => {
    const { body: doc } = await get(PATHS.openapi);
    expect(doc['x-sections']).toEqual([...catalog.names]);
    const paths = doc.paths as Record<string, { get: { parameters: { name: string; schema: { enum?: string[] } }[] } }>;
    // OpenAPI spells the parameter {name} and keeps SPEC §6's trailing slash.
    const sectionOperation = paths[`${PATHS.section.replace(':name', '{name}')}/`]?.get;
    const nameParameter = sectionOperation?.parameters.find((p) => p.name === 'name');
    expect(nameParameter?.schema.enum).toContain(PROBE);
    const schemas = (doc.components as { schemas: Record<string, Record<string, unknown>> }).schemas;
    const v2 = schemas.DashboardV2 as { properties: Record<string, unknown>; required: string[] };
    expect(v2.properties[PROBE]).toMatchObject({
      type: 'object',
      properties: { open_trades: { type: 'integer', minimum: 0 } },
    });
    expect(v2.required).toContain(PROBE);
    expect(JSON.stringify(schemas.SectionSnapshot)).toContain(`"const":"${PROBE}"`);

    // Its own endpoint: the operation from the declaration, the answer's schema from its data's.
    const own = (doc.paths as Record<string, { get?: Record<string, unknown> }>)[`${PROBE_PATH}/`]?.get;
    expect(own).toMatchObject({
      tags: ['dashboard'],
      summary: probe.endpoints?.[0]?.summary,
      responses: {
        '200': { content: { 'application/json': { schema: { $ref: '#/components/schemas/CatalogProbe' } } } },
        '304': {},
        '503': {},
      },
    });
    expect(schemas.CatalogProbe).toMatchObject({
      type: 'object',
      properties: { open_trades: { type: 'integer', minimum: 0 }, timestamp: { type: 'string', format: 'date-time' } },
      required: ['open_trades', 'timestamp'],
    });
  });

  it('is refused by a worker whose registry has no computation for it', () => {
    const config = loadConfig({ KEY_PREFIX: env.keyPrefix, LOG_LEVEL: 'silent' }, catalog);
    expect(() => createWorker({ config, logger, catalog })).toThrow(/no computation for section catalog_probe/);
  });

  it('is refused by an API whose configuration was loaded without it', async () => {
    const config = loadConfig({ KEY_PREFIX: env.keyPrefix, LOG_LEVEL: 'silent' });
    await expect(startApi({ config, logger, catalog, page: false })).rejects.toThrow(/no TTL for catalog_probe/);
  });
});

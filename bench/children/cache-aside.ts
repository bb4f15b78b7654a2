/**
 * Baseline (b) of the HTTP bench: the design snapboard replaces, rebuilt in Node for a fair fight.
 * The old Django view did `get_cached_or_compute(key)` for each section on every request and composed
 * the answer; here a Hono route reads each section's key from the same Redis on every request (all
 * GETs issued at once, so it is the best version of that design), parses them, cuts the lists and
 * serialises the body. The keys always exist during the bench (the worker keeps them), so the
 * "compute on miss" branch of the old design never runs; a miss answers 503 instead.
 *
 * Env: REDIS_URL, KEY_PREFIX. IPC: answers `{type:'listening', port}`.
 */
import { serve } from '@hono/node-server';
import { createRedisClient } from '@snapboard/redis';
import {
  BOT_TRADES_PAGE,
  isStale,
  keysForConfig,
  loadConfig,
  SECTIONS,
  type SectionName,
  V2_SECTIONS,
} from '@snapboard/shared';
import { type Context, Hono } from 'hono';

const config = loadConfig(process.env);
const redis = createRedisClient(config.redis, { name: 'bench-cache-aside', maxRetriesPerRequest: 1 });
const keys = keysForConfig(config);

interface StoredSnapshot {
  section: SectionName;
  epoch: string;
  version: number;
  computed_at: string;
  ttl: number;
  data: unknown;
}

async function read(sections: readonly SectionName[]): Promise<StoredSnapshot[] | undefined> {
  const raws = await Promise.all(sections.map((section) => redis.get(keys.snapshot(section))));
  if (raws.some((raw) => raw === null)) return undefined;
  return raws.map((raw) => JSON.parse(raw!) as StoredSnapshot);
}

const app = new Hono();

app.get('/api/public/dashboard/v2/', async (c) => {
  const limit = Number(c.req.query('limit') ?? 20);
  const snapshots = await read(V2_SECTIONS);
  if (!snapshots) return c.json({ error: { code: 'warming_up', message: 'no snapshot yet' } }, 503);
  const now = Date.now();
  const body: Record<string, unknown> = {};
  const cacheInfo: Record<string, number> = {};
  const sections: Record<string, unknown> = {};
  for (const s of snapshots) {
    const info = SECTIONS[s.section];
    body[s.section] = info.limited && Array.isArray(s.data) ? s.data.slice(0, limit) : s.data;
    if (info.cacheInfoKey) cacheInfo[info.cacheInfoKey] = s.ttl;
    sections[s.section] = {
      epoch: s.epoch,
      version: s.version,
      computed_at: s.computed_at,
      stale: isStale(Date.parse(s.computed_at), s.ttl, now),
    };
  }
  body.timestamp = new Date(now).toISOString();
  body.cached = true;
  body.cache_info = cacheInfo;
  body.sections = sections;
  return c.json(body);
});

app.get('/api/public/dashboard/lite/', async (c) => {
  const [lite] = (await read(['lite'])) ?? [];
  if (!lite) return c.json({ error: { code: 'warming_up', message: 'no snapshot yet' } }, 503);
  return c.json({ ...(lite.data as Record<string, unknown>), timestamp: lite.computed_at });
});

// The bot's own API (SPEC §11), the same way: the section read and parsed on every request, the
// answer composed from it. (The origin itself queried PostgreSQL per request: this is its best case.)
const botSection = (section: SectionName, answer: (data: unknown) => unknown) => async (c: Context) => {
  const [snapshot] = (await read([section])) ?? [];
  if (!snapshot) return c.json({ error: { code: 'warming_up', message: 'no snapshot yet' } }, 503);
  return c.json(answer(snapshot.data));
};

app.get(
  '/api/public/paper-trading/',
  botSection('bot_trades', (data) => {
    const trades = (data as unknown[]).slice(0, BOT_TRADES_PAGE);
    return { count: trades.length, trades };
  }),
);
app.get(
  '/api/public/paper-trading/summary/',
  botSection('bot_summary', (data) => data),
);
app.get(
  '/api/public/paper-trading/open-positions/',
  botSection('bot_open_positions', (data) => data),
);

const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, (info) => {
  process.send?.({ type: 'listening', port: info.port });
});

const stop = () => {
  server.close();
  redis.disconnect();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('disconnect', stop);

import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type ClosablePool, createClosablePool, seed } from '@snapboard/db';
import { useTestEnv } from '@snapboard/devenv/testing';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiProcess, type ServiceProcess, startApi, startWorker } from '../../../test/e2e/support/processes.ts';

/**
 * The bot's own frontend against snapboard (SPEC §11): a page served from ANOTHER origin makes the
 * three GETs its public /bot-performance page makes, in sequence (summary, open positions, the trade
 * list), then shows the fields it reads, as that page does. Its figures must be the database's
 * (computed here in SQL); an origin not in CORS_ORIGINS must get the page's "Network Error" instead.
 */

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const runnable = existsSync(CHROMIUM) || Boolean(process.env.CI);

/** What the bot page does, in plain script: its API base is VITE_API_URL (`…/api`). */
const PAGE = `<!doctype html><html><head><meta charset="utf-8"><title>Bot performance</title></head><body>
<p id="state">loading</p>
<dl>
  <dt>Total P&amp;L</dt><dd id="total-pnl"></dd>
  <dt>Win rate</dt><dd id="win-rate"></dd>
  <dt>Total trades</dt><dd id="total-trades"></dd>
  <dt>Realized</dt><dd id="realized"></dd>
  <dt>Unrealized</dt><dd id="unrealized"></dd>
  <dt>Open trades</dt><dd id="open-count"></dd>
  <dt>Best trade</dt><dd id="best"></dd>
</dl>
<table id="positions"><tbody></tbody></table>
<table id="recent"><tbody></tbody></table>
<table id="trades"><tbody></tbody></table>
<script>
const API = new URLSearchParams(location.search).get('api');
const money = (n) => (n < 0 ? '-' : '') + '$' + Math.abs(Number(n)).toFixed(2);
const row = (cells) => '<tr>' + cells.map((c) => '<td>' + c + '</td>').join('') + '</tr>';
async function get(path) {
  const response = await fetch(API + path);
  if (!response.ok) throw new Error('Request failed with status code ' + response.status);
  return response.json();
}
(async () => {
  try {
    const summary = await get('/public/paper-trading/summary/');
    const open = await get('/public/paper-trading/open-positions/');
    const list = await get('/public/paper-trading/');
    document.getElementById('total-pnl').textContent = money(summary.bot_total_pnl);
    document.getElementById('win-rate').textContent = summary.bot_win_rate.toFixed(1) + '%';
    document.getElementById('total-trades').textContent = String(summary.bot_total_trades);
    document.getElementById('realized').textContent = money(summary.bot_realized_pnl);
    document.getElementById('unrealized').textContent = money(summary.bot_unrealized_pnl);
    document.getElementById('open-count').textContent = String(summary.open_trades_count);
    document.getElementById('best').textContent = money(summary.performance.best_trade);
    document.querySelector('#positions tbody').innerHTML = open.positions
      .map((p) => row([p.trade_id, p.symbol, p.direction, p.entry_price, p.current_price ?? '-', money(p.unrealized_pnl)]))
      .join('');
    document.querySelector('#recent tbody').innerHTML = summary.recent_closed_trades
      .map((t) => row([t.id, t.symbol, t.status, money(parseFloat(t.realized_pnl)), parseFloat(t.profit_loss_pct).toFixed(2) + '%']))
      .join('');
    document.querySelector('#trades tbody').innerHTML = list.trades
      .map((t) => row([t.id, t.symbol, t.status, t.entry_price_formatted, money(parseFloat(t.realized_pnl)), t.created_at]))
      .join('');
    document.getElementById('state').textContent = 'loaded ' + list.count;
  } catch (error) {
    document.getElementById('state').textContent = 'Failed to load bot performance: ' + error.message;
  }
})();
</script></body></html>`;

function servePage(): Promise<{ server: Server; origin: string }> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(PAGE);
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      resolve({ server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
    });
  });
}

const env = useTestEnv();
let worker: ServiceProcess;
let api: ApiProcess;
let browser: Browser;
let db: ClosablePool;
let allowed: { server: Server; origin: string };
let other: { server: Server; origin: string };

const money = (n: number) => `${n < 0 ? '-' : ''}$${Math.abs(n).toFixed(2)}`;

describe.skipIf(!runnable)("the bot's own page, served from another origin", () => {
  beforeAll(async () => {
    await seed({ databaseUrl: env.databaseUrl, trades: 1500, seed: 20_261_202 });
    db = createClosablePool({ connectionString: env.databaseUrl, max: 2 });
    allowed = await servePage();
    other = await servePage();
    const serviceEnv = { DATABASE_URL: env.databaseUrl, REDIS_URL: env.redisUrl, KEY_PREFIX: env.keyPrefix };
    // No prices: the figures stay still while the test reads them (unrealized P&L is 0).
    worker = startWorker({ ...serviceEnv, PRICE_SOURCE: 'none', LOG_LEVEL: 'warn' });
    api = await startApi({ ...serviceEnv, LOG_LEVEL: 'warn', CORS_ORIGINS: allowed.origin });
    // The worker's first publish of the four sections (expect.poll is for tests, not hooks).
    const paths = ['summary/', 'open-positions/', ''].map((p) => `${api.baseUrl}/api/public/paper-trading/${p}`);
    const deadline = Date.now() + 30_000;
    while (!(await Promise.all(paths.map(async (u) => (await fetch(u)).status === 200))).every(Boolean)) {
      if (Date.now() > deadline) throw new Error('the bot sections were not published in 30 s');
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
    });
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await api?.stop();
    await worker?.stop();
    await db?.close();
    allowed?.server.close();
    other?.server.close();
  }, 60_000);

  it('happy: the page finds the database figures on it', async () => {
    const page = await browser.newPage();
    const requests: string[] = [];
    page.on('request', (r) => {
      if (r.url().startsWith(api.baseUrl)) requests.push(new URL(r.url()).pathname);
    });
    await page.goto(`${allowed.origin}/?api=${encodeURIComponent(`${api.baseUrl}/api`)}`);
    await page.locator('#state', { hasText: /^loaded|Failed/ }).waitFor({ timeout: 20_000 });
    expect(await page.locator('#state').textContent()).toMatch(/^loaded \d+$/);
    expect(requests).toEqual([
      '/api/public/paper-trading/summary/',
      '/api/public/paper-trading/open-positions/',
      '/api/public/paper-trading/',
    ]);

    // The same figures, straight from the bot's tables.
    const { rows } = await db.query<{
      total: number;
      open: number;
      closed: number;
      won: number;
      pnl: number;
      best: number;
    }>(
      `SELECT count(*)::float8 AS total, count(*) FILTER (WHERE status = 'OPEN')::float8 AS open,
              count(*) FILTER (WHERE status LIKE 'CLOSED%')::float8 AS closed,
              count(*) FILTER (WHERE status LIKE 'CLOSED%' AND profit_loss > 0)::float8 AS won,
              coalesce(sum(profit_loss) FILTER (WHERE status LIKE 'CLOSED%'), 0)::float8 AS pnl,
              coalesce(max(profit_loss) FILTER (WHERE status LIKE 'CLOSED%'), 0)::float8 AS best
       FROM paper_trades WHERE user_id IS NULL`,
    );
    const f = rows[0]!;
    expect(f.total).toBeGreaterThan(50);
    expect(f.closed).toBeGreaterThan(10);
    const text = async (id: string) => (await page.locator(`#${id}`).textContent()) ?? '';
    expect(await text('total-pnl')).toBe(money(f.pnl));
    expect(await text('realized')).toBe(money(f.pnl));
    expect(await text('unrealized')).toBe('$0.00');
    expect(await text('win-rate')).toBe(`${((f.won / f.closed) * 100).toFixed(1)}%`);
    expect(await text('total-trades')).toBe(String(f.total));
    expect(await text('open-count')).toBe(String(f.open));
    expect(await text('best')).toBe(money(f.best));

    const ids = async (table: string) =>
      page.locator(`#${table} tbody tr td:first-child`).evaluateAll((cells) => cells.map((c) => Number(c.textContent)));
    const open = await db.query<{ id: number }>(
      `SELECT id::float8 AS id FROM paper_trades WHERE user_id IS NULL AND status = 'OPEN'
       ORDER BY created_at DESC NULLS LAST, id DESC`,
    );
    expect(await ids('positions')).toEqual(open.rows.map((r) => r.id));
    const recent = await db.query<{ id: number; pnl: number; pct: string }>(
      `SELECT id::float8 AS id, profit_loss::float8 AS pnl, profit_loss_percentage::text AS pct
       FROM paper_trades WHERE user_id IS NULL AND status LIKE 'CLOSED%'
       ORDER BY exit_time DESC NULLS LAST, id DESC LIMIT 10`,
    );
    expect(await ids('recent')).toEqual(recent.rows.map((r) => r.id));
    const first = page.locator('#recent tbody tr').first().locator('td');
    expect(await first.nth(3).textContent()).toBe(money(recent.rows[0]!.pnl));
    // The database's 4-decimal value as the page shows it (parseFloat, toFixed(2)): PostgreSQL's own
    // rounding (to_char) goes the other way at a tie such as 37.2450, which a seeded trade can hit.
    expect(await first.nth(4).textContent()).toBe(`${Number.parseFloat(recent.rows[0]!.pct).toFixed(2)}%`);
    const newest = await db.query<{ id: number; created: string }>(
      `SELECT id::float8 AS id, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') AS created
       FROM paper_trades WHERE user_id IS NULL ORDER BY created_at DESC NULLS LAST, id DESC LIMIT 100`,
    );
    expect(await ids('trades')).toEqual(newest.rows.map((r) => r.id));
    expect(await page.locator('#trades tbody tr').first().locator('td').nth(5).textContent()).toBe(
      newest.rows[0]!.created,
    );
    await page.close();
  }, 45_000);

  it('security: an origin not in CORS_ORIGINS gets the Network Error the page shows today', async () => {
    const page = await browser.newPage();
    await page.goto(`${other.origin}/?api=${encodeURIComponent(`${api.baseUrl}/api`)}`);
    await page.locator('#state', { hasText: /^loaded|Failed/ }).waitFor({ timeout: 20_000 });
    expect(await page.locator('#state').textContent()).toMatch(/^Failed to load bot performance/);
    await page.close();
  }, 30_000);
});

import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { seed } from '@snapboard/db';
import { useTestEnv } from '@snapboard/devenv/testing';
import pg from 'pg';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ApiProcess,
  REPO_ROOT,
  type ServiceProcess,
  startApi,
  startWorker,
} from '../../../test/e2e/support/processes.ts';

/**
 * The dashboard in a real browser: headless Chromium loads `GET /` from the API (a child process)
 * fed by the worker (a child process) over a seeded database, and a person's view of it is checked:
 * the figures, a trade closed in the database arriving without a reload, the connection indicator
 * going stale when the API stops and live again when it returns. Screenshots go to test-artifacts/.
 */

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS = resolve(REPO_ROOT, 'test-artifacts');
// CI installs Chromium (.ci/run), so there a missing browser is a failure, not a skip.
const runnable = existsSync(CHROMIUM) || Boolean(process.env.CI);
if (!runnable) process.stderr.write(`[web] ${CHROMIUM} not found: browser tests skipped (apt-get install chromium)\n`);

const env = useTestEnv();
let serviceEnv: { DATABASE_URL: string; REDIS_URL: string; KEY_PREFIX: string };
let worker: ServiceProcess;
let api: ApiProcess;
let browser: Browser;
let page: Page;
let db: pg.Pool;
const pageErrors: string[] = [];
const consoleErrors: string[] = [];

const MINUS = '\u2212';

/** "−$1,234.56" → -1234.56 */
function figure(text: string | null): number {
  const cleaned = (text ?? '').replace(MINUS, '-').replace(/[^0-9.-]/g, '');
  return Number(cleaned);
}

async function json<T>(path: string): Promise<T> {
  const response = await fetch(`${api.baseUrl}${path}`);
  expect(response.status, path).toBe(200);
  return (await response.json()) as T;
}

const state = () => page.locator('#conn').getAttribute('data-state');

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** What the page carries for its first paint, as the script reads it. */
async function firstPaintOf(target: Page): Promise<Array<{ section: string; epoch: string; version: number }>> {
  return target.evaluate(() => JSON.parse(document.getElementById('first-paint')?.textContent ?? '{}').snapshots ?? []);
}

/** KPI values whose text does not fit their box (cut, or ellipsed). */
function cutFigures(target: Page): Promise<string[]> {
  return target.evaluate(() =>
    [...document.querySelectorAll<HTMLElement>('.kpi-value')]
      .filter((node) => node.scrollWidth > node.clientWidth)
      .map((node) => `${node.closest('.kpi')?.id}: ${node.textContent}`),
  );
}

describe.skipIf(!runnable)('the dashboard page in Chromium', () => {
  beforeAll(async () => {
    await seed({ databaseUrl: env.databaseUrl, trades: 1000, seed: 20_240_601 });
    db = new pg.Pool({ connectionString: env.databaseUrl, max: 2 });
    serviceEnv = { DATABASE_URL: env.databaseUrl, REDIS_URL: env.redisUrl, KEY_PREFIX: env.keyPrefix };
    worker = startWorker({ ...serviceEnv, PRICE_SOURCE: 'simulated', LOG_LEVEL: 'warn' });
    api = await startApi({ ...serviceEnv, LOG_LEVEL: 'warn' });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--no-first-run',
        '--disable-sync',
      ],
    });
    page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
    mkdirSync(ARTIFACTS, { recursive: true });
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await api?.stop();
    await worker?.stop();
    await db?.end();
  }, 60_000);

  it('shows every section with the figures the API serves, live', async () => {
    await page.goto(api.baseUrl);
    await page.waitForFunction(() => document.querySelectorAll('.card[aria-busy="true"]').length === 0, null, {
      timeout: 30_000,
    });
    await expect.poll(state, { timeout: 10_000 }).toBe('live');
    expect(await page.locator('#conn').textContent()).toContain('Live');

    const lite = await json<{ total_pnl: number; active_trades: number; win_rate: number }>(
      '/api/public/dashboard/lite/',
    );
    const v2 = await json<{
      overview: { total_trades: number; total_accounts: number };
      recent_trades: Array<{ trade_id: number }>;
      open_positions: Array<{ trade_id: number }>;
    }>('/api/public/dashboard/v2/?limit=20');

    expect(figure(await page.locator('#kpi-total-pnl .kpi-value').textContent())).toBeCloseTo(lite.total_pnl, 1);
    expect(figure(await page.locator('#kpi-active-trades .kpi-value').textContent())).toBe(lite.active_trades);
    expect(figure(await page.locator('#kpi-win-rate .kpi-value').textContent())).toBeCloseTo(lite.win_rate, 0);
    expect(figure(await page.locator('#kpi-trades .kpi-value').textContent())).toBe(v2.overview.total_trades);
    expect(await page.locator('#kpi-total-pnl').getAttribute('data-sign')).toBe(lite.total_pnl >= 0 ? 'up' : 'down');
    // The tab title carries the headline figure.
    expect(await page.title()).toBe(`${await page.locator('#kpi-total-pnl .kpi-value').textContent()} · snapboard`);

    // Tables list what v2 lists, in its order, with P&L coloured by sign.
    const tradeKeys = await page
      .locator('#trades tbody tr')
      .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-key')));
    expect(tradeKeys).toEqual(v2.recent_trades.map((t) => String(t.trade_id)));
    expect(await page.locator('#positions tbody tr').count()).toBe(v2.open_positions.length);
    const pnlCells = page.locator('#trades td.pnl');
    for (let i = 0; i < (await pnlCells.count()); i++) {
      const cell = pnlCells.nth(i);
      const value = figure(await cell.locator('span').textContent());
      const className = (await cell.getAttribute('class')) ?? '';
      if (value > 0) expect(className).toContain('sign-up');
      if (value < 0) expect(className).toContain('sign-down');
    }

    // The chart drew 720 hourly points; the leaders and stats are there; every section shows its age.
    expect(await page.locator('#chart canvas').count()).toBeGreaterThan(0);
    expect(await page.locator('#leaders li').count()).toBeGreaterThan(0);
    expect(await page.locator('#stats tbody tr').count()).toBe(3);
    for (const section of ['lite', 'overview', 'open_positions', 'recent_trades', 'pnl_history']) {
      expect(await page.locator(`[data-age-for="${section}"]`).first().textContent()).toMatch(/^\d+s ago$/);
    }

    await page.screenshot({ path: resolve(ARTIFACTS, 'dashboard.png'), fullPage: true });
    const phone = await browser.newPage({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2 });
    await phone.goto(api.baseUrl);
    await phone.waitForFunction(() => document.querySelectorAll('.card[aria-busy="true"]').length === 0);
    // Nothing wider than the phone: tables scroll inside their cards, the page itself does not.
    expect(await phone.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await phone.screenshot({ path: resolve(ARTIFACTS, 'dashboard-phone.png') });
    await phone.close();

    expect(pageErrors).toEqual([]);
    expect(consoleErrors).toEqual([]);
  }, 60_000);

  it('paints every panel from the HTML alone: no request, no socket', async () => {
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    const offline = await context.newPage();
    const requests: string[] = [];
    offline.on('request', (request) => requests.push(new URL(request.url()).pathname));
    // The API and the socket answer nothing: what shows came with the HTML.
    await offline.route('**/api/**', (route) => route.abort());
    await offline.routeWebSocket(/\/ws$/, () => {});
    await offline.goto(api.baseUrl, { waitUntil: 'load' });
    await offline.screenshot({ path: resolve(ARTIFACTS, 'dashboard-first-paint.png') });

    const carried = await firstPaintOf(offline);
    expect(carried.map((s) => s.section).sort()).toEqual([
      'lite',
      'open_positions',
      'overview',
      'performance_metrics',
      'pnl_history',
      'recent_trades',
      'top_performers',
      'trading_stats',
    ]);
    expect(await offline.locator('[data-section][aria-busy="true"]').count()).toBe(0);
    const values = await offline.locator('.kpi-value').allTextContents();
    expect(values).toHaveLength(8);
    for (const value of values) expect(value).not.toBe('—');
    expect(await offline.locator('#trades tbody tr').count()).toBeGreaterThan(0);
    expect(await offline.locator('#positions tbody tr').count()).toBeGreaterThan(0);
    expect(await offline.locator('#chart canvas').count()).toBeGreaterThan(0);
    expect(await offline.locator('#leaders li').count()).toBeGreaterThan(0);
    expect(await offline.locator('#metrics .metric').count()).toBeGreaterThan(0);
    expect(await offline.locator('#stats tbody tr').count()).toBe(3);
    expect((await offline.locator('[data-age-for="lite"]').textContent()) ?? '').toMatch(/ago|old$/);
    // Filled without asking the API anything: only the page and its two assets were fetched.
    expect(requests.filter((path) => path !== '/ws')).toEqual([
      '/',
      expect.stringMatching(/^\/assets\/app-/),
      expect.stringMatching(/^\/assets\/app-/),
    ]);
    await context.close();
  }, 30_000);

  it('resumes the socket from the versions the HTML carried, without resending them', async () => {
    const fresh = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    const sent: Array<Record<string, unknown>> = [];
    const received: Array<Record<string, unknown>> = [];
    fresh.on('websocket', (socket) => {
      socket.on('framesent', (frame) => sent.push(JSON.parse(String(frame.payload))));
      socket.on('framereceived', (frame) => received.push(JSON.parse(String(frame.payload))));
    });
    await fresh.goto(api.baseUrl);
    await expect.poll(() => fresh.locator('#conn').getAttribute('data-state'), { timeout: 10_000 }).toBe('live');
    const carried = await firstPaintOf(fresh);
    const subscribe = sent.find((frame) => frame.type === 'subscribe');
    expect(subscribe?.versions).toEqual(
      Object.fromEntries(carried.map(({ section, epoch, version }) => [section, { epoch, version }])),
    );
    // Whatever the socket sent was newer than what the page carried: nothing carried came again.
    const frames = received.flatMap((frame) => (frame.type === 'batch' ? (frame.items as typeof received) : [frame]));
    for (const frame of frames.filter((f) => f.type === 'snapshot' || f.type === 'patch')) {
      const held = carried.find((s) => s.section === frame.section);
      expect(
        held && held.epoch === frame.epoch && held.version >= (frame.version as number),
        String(frame.section),
      ).toBe(false);
    }
    await fresh.close();
  }, 30_000);

  it('never cuts a headline figure, from 1,280 to 1,920 px and on a phone', async () => {
    // The longest figure any tile has to hold (a large book), besides the ones on screen now.
    const widest = '\u2212$12,345,678.90';
    const viewports = [
      { width: 1280, height: 900 },
      { width: 1400, height: 900 },
      { width: 1600, height: 900 },
      { width: 1920, height: 1080 },
      { width: 390, height: 844 },
    ];
    for (const viewport of viewports) {
      const sized = await browser.newPage({ viewport, deviceScaleFactor: viewport.width < 500 ? 2 : 1 });
      await sized.goto(api.baseUrl);
      await sized.waitForFunction(() => document.querySelectorAll('[data-section][aria-busy="true"]').length === 0);
      expect(await cutFigures(sized), `${viewport.width} px, as served`).toEqual([]);
      await sized.evaluate((text) => {
        for (const node of document.querySelectorAll('.kpi-value')) node.textContent = text;
      }, widest);
      expect(await cutFigures(sized), `${viewport.width} px, widest figures`).toEqual([]);
      await sized.screenshot({ path: resolve(ARTIFACTS, `dashboard-kpis-${viewport.width}.png`) });
      await sized.close();
    }
  }, 60_000);

  it('has no serious or critical accessibility violations (axe-core)', async () => {
    // axe is injected as a script, which the page's CSP (rightly) forbids: this context bypasses it.
    for (const viewport of [
      { width: 1440, height: 900 },
      { width: 390, height: 844 },
    ]) {
      const context = await browser.newContext({ viewport, bypassCSP: true });
      const audited = await context.newPage();
      // Figures flash as they move; the audit reads colours at rest.
      await audited.emulateMedia({ reducedMotion: 'reduce' });
      await audited.goto(api.baseUrl);
      await audited.waitForFunction(() => document.querySelectorAll('[data-section][aria-busy="true"]').length === 0);
      await audited.addScriptTag({ content: AXE_SOURCE });
      const violations = await audited.evaluate(async () => {
        const result = await (
          window as unknown as {
            axe: {
              run(): Promise<{
                violations: Array<{
                  id: string;
                  impact: string;
                  help: string;
                  nodes: Array<{ target: unknown; failureSummary?: string }>;
                }>;
              }>;
            };
          }
        ).axe.run();
        return result.violations.map(({ id, impact, help, nodes }) => ({
          id,
          impact,
          help,
          nodes: nodes.slice(0, 5).map((node) => `${JSON.stringify(node.target)}: ${node.failureSummary}`),
        }));
      });
      const blocking = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
      expect(blocking, `${viewport.width} px`).toEqual([]);
      await context.close();
    }
  }, 60_000);

  it('shows a trade closed in the database without a reload', async () => {
    await page.evaluate(() => {
      (window as unknown as { sameDocument: boolean }).sameDocument = true;
    });
    const openTile = page.locator('#kpi-active-trades .kpi-value');
    const openBefore = figure(await openTile.textContent());
    const { rows } = await db.query<{ id: string }>(
      "SELECT id FROM paper_trades WHERE status = 'OPEN' ORDER BY id DESC LIMIT 1",
    );
    const id = rows[0]!.id;
    // As the bot closes a trade at take-profit: exit price and time, P&L, status.
    await db.query(
      `UPDATE paper_trades
          SET status = 'CLOSED_TP', exit_price = entry_price * 1.02, exit_time = now(), updated_at = now(),
              profit_loss = round(position_size * 0.02, 8), profit_loss_percentage = 2
        WHERE id = $1`,
      [id],
    );

    const row = page.locator(`#trades tbody tr[data-key="${id}"]`);
    await row.waitFor({ timeout: 15_000 });
    expect(await row.locator('.result').textContent()).toBe('Take profit');
    // Highlighted as it arrives, so the eye finds it.
    expect(await row.getAttribute('class')).toContain('row-new');
    expect(await row.locator('td.pnl').getAttribute('class')).toContain('sign-up');
    await page.locator(`#positions tbody tr[data-key="${id}"]`).waitFor({ state: 'detached', timeout: 15_000 });
    await expect.poll(async () => figure(await openTile.textContent()), { timeout: 15_000 }).toBe(openBefore - 1);
    expect(await page.evaluate(() => (window as unknown as { sameDocument?: boolean }).sameDocument)).toBe(true);
    expect(pageErrors).toEqual([]);
  }, 45_000);

  it('warns of stale data when the worker stops, and clears the warning when it is back', async () => {
    const pill = page.locator('#conn');
    expect(await pill.getAttribute('data-freshness')).toBe('fresh');
    await worker.stop();
    // lite is recomputed every 2 s, so it is stale (older than three cadences) about 6 s later.
    await expect.poll(() => pill.getAttribute('data-freshness'), { timeout: 20_000, interval: 200 }).toBe('stale');
    expect(await state()).toBe('live');
    expect(await pill.textContent()).toContain('stale data');
    expect(await page.locator('[data-age-for="lite"]').first().textContent()).toMatch(/^stale · \d+s old$/);
    expect(await page.locator('#banner').textContent()).toContain('The worker has not refreshed');

    worker = startWorker({ ...serviceEnv, PRICE_SOURCE: 'simulated', LOG_LEVEL: 'warn' });
    await expect.poll(() => pill.getAttribute('data-freshness'), { timeout: 30_000, interval: 200 }).toBe('fresh');
    expect(await page.locator('#banner').isHidden()).toBe(true);
  }, 60_000);

  it('says stale when the API stops, and live again when it returns', async () => {
    const port = api.port;
    await api.stop();
    await expect.poll(state, { timeout: 20_000, interval: 100 }).not.toBe('live');
    await expect.poll(state, { timeout: 30_000, interval: 200 }).toBe('stale');
    expect(await page.locator('#banner').isVisible()).toBe(true);
    expect(await page.locator('#banner').textContent()).toContain('Server unreachable');
    expect(await page.title()).toMatch(/^\(stale\) /);
    // The last figures stay on screen while the connection is down.
    expect(await page.locator('#trades tbody tr').count()).toBeGreaterThan(0);
    await page.screenshot({ path: resolve(ARTIFACTS, 'dashboard-stale.png') });

    api = await startApi({ ...serviceEnv, LOG_LEVEL: 'warn', PORT: String(port) });
    await expect.poll(state, { timeout: 30_000, interval: 200 }).toBe('live');
    expect(await page.locator('#banner').isHidden()).toBe(true);
    expect(await page.title()).not.toContain('stale');
    expect(pageErrors).toEqual([]);
  }, 90_000);
});

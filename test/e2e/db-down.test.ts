import { SECTION_NAMES, type SectionName } from '@snapboard/shared';
import { describe, expect, it } from 'vitest';
import { assertAlive, useE2E } from './support/fixture.ts';
import { http } from './support/http.ts';
import { recordObservation } from './support/report.ts';
import { type SectionState, tally, ttlEnv } from './support/sections.ts';
import { sleep, waitUntil } from './support/wait.ts';

/**
 * PostgreSQL unreachable (SPEC §4, §5): the worker reaches the database through a proxy the test
 * cuts. Readers keep being served the last snapshots, marked stale after 3 × TTL; the worker
 * retries with backoff, neither crashing nor flooding its log; when the database comes back fresh
 * snapshots resume, and changes made meanwhile arrive, with no restart.
 */

// Every section on a 1 s cadence except open_positions, which is left to change events alone, so
// that its freshness after the outage proves the LISTEN connection came back (not the schedule).
const TTLS = ttlEnv(1, { open_positions: 3600 });
const CADENCED = SECTION_NAMES.filter((s) => s !== 'open_positions');

type V2 = { sections: Record<SectionName, SectionState> } & Record<string, unknown>;

describe('database down', () => {
  const e2e = useE2E();

  it('error: readers keep their snapshots, see them go stale, and get fresh ones after the database returns', async () => {
    const db = e2e.botDb();
    const alice = await db.addUser('alice', { totalPnl: 12.5, winRate: 50 });
    await db.openTrade(alice, 'BTCUSDT', 64_000);
    await db.closeTrade(await db.openTrade(alice, 'ETHUSDT', 3_200), 3_300);

    const proxy = await e2e.postgresProxy();
    const worker = e2e.worker({ ...TTLS, DATABASE_URL: proxy.rewrite(e2e.env.databaseUrl) });
    const api = await e2e.api(TTLS);
    const v2Url = `${api.baseUrl}/api/public/dashboard/v2/`;
    const ready = async () => (await http(`${api.baseUrl}/readyz`)).status === 200;
    await waitUntil(
      'the API to be ready',
      async () => {
        assertAlive(worker, api);
        return ready();
      },
      { timeoutMs: 30_000 },
    );

    const before = (await http<V2>(v2Url)).body;
    const beforeSections = Object.fromEntries(
      await Promise.all(
        SECTION_NAMES.map(async (s) => [s, (await http(`${api.baseUrl}/api/public/dashboard/sections/${s}/`)).body]),
      ),
    ) as Record<SectionName, { version: number; epoch: string; data: unknown }>;

    // --- cut ---
    const linesAtCut = worker.lines.length;
    const acceptedAtCut = proxy.accepted;
    const cutAt = Date.now();
    proxy.cut('reset');
    // A trade written while the worker cannot see the database: it must not be lost.
    const duringOutage = await db.openTrade(alice, 'SOLUSDT', 150);

    const failures: string[] = [];
    let requestsDuringOutage = 0;
    let staleSeenAt: number | undefined;
    let readyz: { status: number; text: string; reasons: string[] | undefined } | undefined;
    const endpoints = [
      '/api/public/dashboard/v2/',
      '/api/public/dashboard/lite/',
      '/api/public/paper-trading/dashboard/',
      ...SECTION_NAMES.map((s) => `/api/public/dashboard/sections/${s}/`),
    ];
    // Serve through the outage: every endpoint, every 250 ms, until staleness shows and a while after.
    while (staleSeenAt === undefined || Date.now() - staleSeenAt < 2000 || Date.now() - cutAt < 6000) {
      if (Date.now() - cutAt > 20_000) throw new Error('sections never turned stale during the outage');
      for (const path of endpoints) {
        requestsDuringOutage++;
        const answer = await http(`${api.baseUrl}${path}`);
        if (answer.status !== 200) failures.push(`${path} → ${answer.status} ${answer.text.slice(0, 120)}`);
      }
      const v2 = (await http<V2>(v2Url)).body;
      for (const s of ['overview', 'recent_trades', 'performance_metrics'] as const) {
        // The last good snapshot, unchanged.
        expect(v2.sections[s].version).toBe(before.sections[s].version);
        expect(v2.sections[s].epoch).toBe(before.sections[s].epoch);
      }
      // Stale exactly when older than 3 × TTL (1 s here), judged at the answer's own timestamp.
      for (const s of CADENCED.filter((name) => name in v2.sections)) {
        const age = Date.parse(String(v2.timestamp)) - Date.parse(v2.sections[s].computed_at);
        if (age > 3300) expect(v2.sections[s].stale, `${s} aged ${age} ms`).toBe(true);
        if (age < 2700) expect(v2.sections[s].stale, `${s} aged ${age} ms`).toBe(false);
      }
      const staleNow = CADENCED.filter((s) => s in v2.sections && v2.sections[s].stale);
      if (staleSeenAt === undefined && staleNow.length === CADENCED.filter((s) => s in v2.sections).length) {
        staleSeenAt = Date.now();
        const r = await http(`${api.baseUrl}/readyz`);
        readyz = { status: r.status, text: r.text, reasons: (r.body as { reasons?: string[] })?.reasons };
      }
      assertAlive(worker, api);
      await sleep(250);
    }
    const outageMs = Date.now() - cutAt;
    const outageLines = worker.lines.slice(linesAtCut);
    const connectAttempts = proxy.accepted - acceptedAtCut;

    expect(failures).toEqual([]);
    for (const s of ['overview', 'lite', 'recent_trades'] as const) {
      const answer = (
        await http<{ stale: boolean; version: number }>(`${api.baseUrl}/api/public/dashboard/sections/${s}/`)
      ).body;
      expect(answer.stale, s).toBe(true);
      expect(answer.version, s).toBe(beforeSections[s].version);
    }
    expect(readyz?.status).toBe(503);
    expect(readyz?.text).toMatch(/stale/i);
    expect(readyz?.text).toContain('overview');

    // Retries with backoff, not a tight loop: a few lines and connection attempts per second.
    const perSecond = (n: number) => n / (outageMs / 1000);
    const report = { outageMs, lines: outageLines.length, connectAttempts, byMessage: tally(outageLines) };
    expect(perSecond(outageLines.length), JSON.stringify(report)).toBeLessThan(40);
    expect(perSecond(connectAttempts), JSON.stringify(report)).toBeLessThan(40);
    expect(outageLines.filter((l) => l.stream === 'stderr' && !l.json)).toEqual([]);

    // --- restore ---
    const restoredAt = new Date().toISOString();
    proxy.restore();
    await waitUntil(
      'fresh snapshots of every cadenced section after the database returned',
      async () => {
        assertAlive(worker, api);
        const v2 = (await http<V2>(v2Url)).body;
        return CADENCED.filter((s) => s in v2.sections).every(
          (s) => v2.sections[s].computed_at >= restoredAt && !v2.sections[s].stale,
        );
      },
      { timeoutMs: 20_000 },
    );
    const freshAfterMs = Date.now() - Date.parse(restoredAt);
    await waitUntil('/readyz to be 200 again', ready, { timeoutMs: 10_000 });

    // The trade opened during the outage reaches readers, though open_positions has no cadence.
    const positions = async () =>
      (await http<{ data: { trade_id: number }[] }>(`${api.baseUrl}/api/public/dashboard/sections/open_positions/`))
        .body.data;
    await waitUntil('the trade opened during the outage', async () =>
      (await positions()).some((p) => p.trade_id === duringOutage),
    );
    // And the change listener is live again: a new trade arrives by event.
    const afterOutage = await db.openTrade(alice, 'XRPUSDT', 0.5);
    await waitUntil('a trade opened after the outage', async () =>
      (await positions()).some((p) => p.trade_id === afterOutage),
    );

    // Same processes throughout; nothing lost: what did not change reads the same.
    expect(worker.alive && api.alive).toBe(true);
    const after = (await http<V2>(v2Url)).body;
    expect(after.overview).toEqual(before.overview);
    expect(after.recent_trades).toEqual(before.recent_trades);
    expect(after.sections.overview.epoch).toBe(before.sections.overview.epoch);

    await recordObservation('db-down', {
      injected: 'TCP proxy in front of PostgreSQL reset every connection and refused new ones',
      outage_ms: outageMs,
      http_requests_during_outage: requestsDuringOutage,
      http_failures_during_outage: failures.length,
      stale_after_ms: staleSeenAt! - cutAt,
      readyz_during_outage: { status: readyz?.status, reasons: readyz?.reasons },
      worker_log_lines_during_outage: outageLines.length,
      worker_log_lines_by_message: report.byMessage,
      db_connection_attempts_during_outage: connectAttempts,
      fresh_after_restore_ms: freshAfterMs,
      trade_written_during_outage_served: true,
      worker_restarted: false,
      api_restarted: false,
    });
  }, 120_000);
});

import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { seed } from '@snapboard/db';
import { SECTION_NAMES } from '@snapboard/shared';
import { describe, expect, it } from 'vitest';
import { assertAlive, useE2E } from './support/fixture.ts';
import { http } from './support/http.ts';
import { type HttpLoadResult, runLoad, type WsLoadResult } from './support/load.ts';
import { REPO_ROOT, spawnService } from './support/processes.ts';
import { recordObservation } from './support/report.ts';
import { listenToAnnouncements } from './support/snapshots.ts';
import { waitUntil } from './support/wait.ts';

/**
 * Load (SPEC §6, §7): 2,000 concurrent HTTP clients and 2,000 WebSocket subscribers for 60 s while
 * the demo simulator writes trades. Zero errors; every subscriber (all of which keep up) sees every
 * version of every section it subscribed to. The load comes from two child processes of their own.
 */

const CLIENTS = 2000;
const DURATION_MS = 60_000;
// Polling clients: 2,000 connections sharing a steady rate, like browsers polling every few seconds.
const HTTP_RATE = 400;

async function rssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  return Math.round(Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024);
}

describe('load', () => {
  const e2e = useE2E();

  it('happy: 2,000 HTTP clients and 2,000 subscribers for 60 s with trades flowing: no errors, no dropped versions', async () => {
    await seed({ databaseUrl: e2e.env.databaseUrl, trades: 5000, seed: 7 });
    const simulator = spawnService('simulator', resolve(REPO_ROOT, 'packages/db/src/cli/simulate.ts'), {
      DATABASE_URL: e2e.env.databaseUrl,
      LOG_LEVEL: 'warn',
    });
    e2e.defer(() => simulator.stop('SIGTERM', 5000));
    const worker = e2e.worker({ PRICE_SOURCE: 'simulated' });
    const api = await e2e.api({ WS_MAX_CONNECTIONS_PER_IP: String(CLIENTS * 2) });
    await waitUntil(
      'v2 served',
      async () => {
        assertAlive(worker, api, simulator);
        return (await http(`${api.baseUrl}/api/public/dashboard/v2/`)).status === 200;
      },
      { timeoutMs: 30_000 },
    );
    const announcements = await listenToAnnouncements(e2e.env.redisUrl, e2e.prefix);
    e2e.defer(() => announcements.close());
    const rssBefore = await rssMb(api.pid);

    const heavy = SECTION_NAMES.filter((s) => s !== 'pnl_history');
    const ws = runLoad<WsLoadResult>(
      'ws-load',
      {
        mode: 'ws',
        baseUrl: api.baseUrl,
        clients: CLIENTS,
        durationMs: DURATION_MS,
        sections: heavy,
        lightSections: ['lite', 'open_positions', 'overview'],
      },
      DURATION_MS + 120_000,
    );
    e2e.defer(() => ws.process.stop('SIGKILL'));
    await ws.ready;
    const announcedAtStart = announcements.received.length;
    const httpLoad = runLoad<HttpLoadResult>(
      'http-load',
      {
        mode: 'http',
        baseUrl: api.baseUrl,
        connections: CLIENTS,
        durationMs: DURATION_MS - 5000,
        rate: HTTP_RATE,
        paths: [
          '/api/public/dashboard/v2/',
          '/api/public/dashboard/lite/',
          '/api/public/dashboard/v2/?limit=5',
          '/api/public/dashboard/sections/open_positions/',
          '/api/public/paper-trading/dashboard/',
        ],
      },
      DURATION_MS + 60_000,
    );
    e2e.defer(() => httpLoad.process.stop('SIGKILL'));

    const [wsResult, httpResult] = await Promise.all([ws.result, httpLoad.result]);
    const rssAfter = await rssMb(api.pid);
    const versionChanges = announcements.received
      .slice(announcedAtStart)
      .filter((r) => r.message.changed === true).length;
    const metrics = (await http(`${api.baseUrl}/metrics`)).text;
    const skips = metrics
      .split('\n')
      .filter((l) => /skip|slow|disconnect/i.test(l) && !l.startsWith('#'))
      .slice(0, 12);

    await recordObservation('load', {
      injected: `${CLIENTS} HTTP connections at ${HTTP_RATE} req/s and ${CLIENTS} WebSocket subscribers for ${DURATION_MS / 1000} s, simulator writing trades`,
      http: httpResult.result,
      ws: { ...wsResult.result, gaps: wsResult.result.gaps.slice(0, 5) },
      version_changes_announced_during_load: versionChanges,
      api_rss_mb: { before: rssBefore, after: rssAfter },
      ws_metrics: skips,
    });

    const h = httpResult.result;
    expect(h.requests).toBeGreaterThan(HTTP_RATE * 30);
    expect({ errors: h.errors, timeouts: h.timeouts, non2xx: h.non2xx, resets: h.resets }).toEqual({
      errors: 0,
      timeouts: 0,
      non2xx: 0,
      resets: 0,
    });
    const w = wsResult.result;
    expect(w.opened).toBe(CLIENTS);
    expect(w.openFailures).toEqual([]);
    expect(w.unexpectedCloses).toEqual({});
    expect(w.errorFrames).toEqual([]);
    expect(w.unparsable).toBe(0);
    expect(w.backwards).toEqual([]);
    expect(w.gaps).toEqual([]);
    expect(w.dropped).toBe(0);
    expect(w.behindAtEnd).toEqual([]);
    expect(versionChanges).toBeGreaterThan(10); // the trades really moved the sections during the run
    assertAlive(worker, api, simulator);
  }, 240_000);
});

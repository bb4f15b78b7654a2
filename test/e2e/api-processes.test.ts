import { get } from 'node:http';
import { describe, expect, it } from 'vitest';
import { everySectionPublished, useE2E } from './support/fixture.ts';
import { http } from './support/http.ts';
import { recordObservation } from './support/report.ts';
import { ttlEnv } from './support/sections.ts';
import { waitUntil } from './support/wait.ts';
import { WsClient } from './support/ws-client.ts';

/**
 * API_PROCESSES=2 (SPEC §12, decision 0013): two API processes on one port. Both answer HTTP and
 * hold sockets, a change reaches subscribers on both, /metrics speaks for both, the connection
 * limits hold for the port as a whole, and SIGTERM drains both.
 */

const TTLS = ttlEnv(2, { pnl_history: 10, trading_stats: 10 });

/** One request on a connection of its own (no keep-alive), so the kernel hands each to a process anew. */
function freshGet(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    get(url, { agent: false, headers: { connection: 'close' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    }).on('error', reject);
  });
}

const metric = (text: string, name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);

describe('API_PROCESSES', () => {
  const e2e = useE2E();

  it('happy: two processes share the port; changes, metrics, limits and SIGTERM cover both', async () => {
    const db = e2e.botDb();
    const alice = await db.addUser('alice', { totalPnl: 10, winRate: 50 });
    const worker = e2e.worker(TTLS);
    const api = await e2e.api({ ...TTLS, API_PROCESSES: '2', WS_MAX_CONNECTIONS_PER_IP: '4' });
    // /healthz answers once the first process listens; the primary says when both do.
    await api.waitForLog('both processes listening', (j) => j.msg === 'api processes listening');
    await everySectionPublished(e2e.reader(), [worker, api]);
    await waitUntil('both processes ready', async () => (await http(`${api.baseUrl}/readyz`)).status === 200);

    // HTTP: requests on fresh connections are answered by both processes (each logs its id).
    for (let i = 0; i < 8; i++) expect(await freshGet(`${api.baseUrl}/no-such-path-${i}`)).toBe(404);
    await waitUntil('404s logged by both processes', () => {
      const by = new Set(api.logs((j) => j.status === 404).map((l) => l.json?.process));
      return by.has(1) && by.has(2);
    });

    // Sockets: 4 from one address, spread over both processes; the 5th is refused for the port.
    const clients: WsClient[] = [];
    for (let i = 0; i < 4; i++) {
      const client = await WsClient.connect(api.wsUrl);
      e2e.defer(() => client.close());
      clients.push(client);
      expect((await client.subscribe(['open_positions'], { limit: 100 })).type).toBe('subscribed');
    }
    await expect(WsClient.connect(api.wsUrl)).rejects.toMatchObject({ status: 429 });

    // /metrics, whichever process answers it, counts both processes and all four sockets.
    const scrape = async () => (await http(`${api.baseUrl}/metrics`)).text;
    for (let i = 0; i < 3; i++) {
      const text = await scrape();
      expect(metric(text, 'snapboard_api_processes')).toBe(2);
      expect(metric(text, 'snapboard_ws_connections')).toBe(4);
    }

    // A change reaches every subscriber, on both processes.
    const id = await db.openTrade(alice, 'ETHUSDT', 3_000);
    const carries = (data: unknown) => Array.isArray(data) && data.some((p) => p.trade_id === id);
    await Promise.all(clients.map((c) => c.waitFor(`trade ${id}`, (m) => m.type === 'snapshot' && carries(m.data))));

    // A closed socket frees its place for the port: another is admitted.
    await clients.pop()?.close();
    await waitUntil('the freed place to be admitted again', async () => {
      const client = await WsClient.connect(api.wsUrl).catch(() => undefined);
      if (client) clients.push(client);
      return client;
    });

    // SIGTERM: every process drains (sockets get 1001), and the primary exits 0.
    const startedAt = Date.now();
    const exit = await api.stop('SIGTERM', 15_000);
    expect(exit).toMatchObject({ code: 0 });
    const closes = await Promise.all(clients.map((c) => c.closed));
    for (const closed of closes) expect(closed.code).toBe(1001);
    // Both processes held sockets (each logs the ones it closed) and both stopped in order.
    const heldBy = new Set(api.logs((j) => j.msg === 'ws closed').map((l) => l.json?.process));
    expect(heldBy).toEqual(new Set([1, 2]));
    const stoppedBy = new Set(
      api.logs((j) => j.msg === 'stopped' && j.process !== undefined).map((l) => l.json?.process),
    );
    expect(stoppedBy).toEqual(new Set([1, 2]));
    await recordObservation('api-processes', {
      processes: 2,
      sockets: clients.length,
      drain_ms: Date.now() - startedAt,
    });
  }, 90_000);
});

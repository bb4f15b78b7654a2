import { keysFor, SECTION_NAMES, type SectionName } from '@snapboard/shared';
import { Queue } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { assertAlive, everySectionPublished, useE2E } from './support/fixture.ts';
import { http } from './support/http.ts';
import { recordObservation } from './support/report.ts';
import { type SectionState, ttlEnv } from './support/sections.ts';
import { sleep, waitUntil } from './support/wait.ts';
import type { Message } from './support/ws-client.ts';

/**
 * Redis restarts empty (SPEC §4): snapshots, version counters, job schedulers and the queue are gone.
 * The worker must rebuild them (a new epoch), the API must re-sync its replica and push the new
 * epoch's snapshots to sockets it kept open; nobody restarts a process.
 */

const TTLS = ttlEnv(2, { pnl_history: 5, trading_stats: 5 });

type V2 = { sections: Record<SectionName, SectionState> } & Record<string, unknown>;

describe('redis restart', () => {
  const e2e = useE2E();

  it('error: a Redis that comes back empty gets a new epoch of every section; sockets receive it', async () => {
    const db = e2e.botDb();
    const bob = await db.addUser('bob', { totalPnl: 40, winRate: 60 });
    await db.openTrade(bob, 'BTCUSDT', 64_000);
    await db.closeTrade(await db.openTrade(bob, 'ETHUSDT', 3_200), 3_100);

    const redis = await e2e.privateRedis();
    const worker = e2e.worker({ ...TTLS, REDIS_URL: redis.url });
    const api = await e2e.api({ ...TTLS, REDIS_URL: redis.url });
    const reader = e2e.reader(redis.url);
    const firsts = await everySectionPublished(reader, [worker, api]);
    const oldEpochs = Object.fromEntries(SECTION_NAMES.map((s) => [s, firsts[s].epoch]));

    const client = await e2e.ws(api.wsUrl);
    expect((await client.subscribe([...SECTION_NAMES])).type).toBe('subscribed');
    await waitUntil('a snapshot of every section on the socket', () =>
      SECTION_NAMES.every((s) => client.ofType('snapshot', s).length > 0),
    );
    const v2Before = (await http<V2>(`${api.baseUrl}/api/public/dashboard/v2/`)).body;

    // --- Redis down: the API answers from its replica; readiness says Redis is unreachable. ---
    const linesAtKill = { worker: worker.lines.length, api: api.lines.length };
    const killedAt = Date.now();
    await redis.kill();
    const whileDown = await http<V2>(`${api.baseUrl}/api/public/dashboard/v2/`);
    expect(whileDown.status).toBe(200);
    expect(whileDown.body.overview).toEqual(v2Before.overview);
    await waitUntil('/readyz to report Redis unreachable', async () => {
      const r = await http(`${api.baseUrl}/readyz`);
      return r.status === 503 && /redis/i.test(r.text);
    });
    expect((await http(`${api.baseUrl}/api/public/dashboard/lite/`)).status).toBe(200);
    await sleep(4000); // long enough to see the steady reconnect rate, not just the first burst
    expect(client.isOpen).toBe(true);

    // --- Redis back, empty ---
    const restartedAt = new Date().toISOString();
    const downMs = Date.now() - killedAt;
    const downLines = { worker: worker.lines.length - linesAtKill.worker, api: api.lines.length - linesAtKill.api };
    const wsMark = client.messages.length;
    await redis.start();

    const seconds = await waitUntil(
      'every section published again under a new epoch',
      async () => {
        assertAlive(worker, api);
        const all = await reader.allPresent();
        return all && SECTION_NAMES.every((s) => all[s].epoch !== oldEpochs[s]) ? all : undefined;
      },
      { timeoutMs: 30_000 },
    );
    for (const s of SECTION_NAMES) expect(seconds[s].computed_at >= restartedAt).toBe(true);
    const republishedAfterMs = Date.now() - Date.parse(restartedAt);

    // The job schedulers are back: one per section, so sections stay fresh without events.
    const keys = keysFor(e2e.prefix);
    const scheduleQueue = new Queue(keys.scheduleQueue, {
      connection: { url: redis.url, maxRetriesPerRequest: 1 },
      prefix: keys.bullPrefix,
    });
    e2e.defer(() => scheduleQueue.close());
    await waitUntil('a job scheduler per section', async () => (await scheduleQueue.getJobSchedulersCount()) >= 8);
    const lite = seconds.lite;
    await waitUntil(
      'lite refreshed by its schedule after the restart',
      async () => ((await reader.get('lite'))?.computed_at ?? '') > lite.computed_at,
      { timeoutMs: 10_000 },
    );

    // The API re-synced: HTTP shows the new epoch of every section.
    await waitUntil('the API serving the new epoch', async () => {
      const v2 = (await http<V2>(`${api.baseUrl}/api/public/dashboard/v2/`)).body;
      return Object.entries(v2.sections).every(([s, state]) => state.epoch !== oldEpochs[s]);
    });
    await waitUntil('/readyz 200 again', async () => (await http(`${api.baseUrl}/readyz`)).status === 200, {
      timeoutMs: 15_000,
    });

    const apiResyncedAfterMs = Date.now() - Date.parse(restartedAt);

    // The socket that stayed open got every section's new-epoch snapshot, in order.
    await waitUntil('the new epoch of every section on the open socket', () =>
      SECTION_NAMES.every((s) =>
        client.messages.slice(wsMark).some((m) => m.type === 'snapshot' && m.section === s && m.epoch !== oldEpochs[s]),
      ),
    );
    const socketHadNewEpochAfterMs = Date.now() - Date.parse(restartedAt);
    expect(client.isOpen).toBe(true);
    for (const s of SECTION_NAMES) {
      const seen = client.ofType('snapshot', s);
      const firstNew = seen.findIndex((m) => m.epoch !== oldEpochs[s]);
      // Once a socket has the new epoch it never gets the old one again.
      expect(seen.slice(firstNew).every((m) => m.epoch !== oldEpochs[s])).toBe(true);
    }

    // A client resuming with old-epoch versions is given the new epoch whatever the numbers.
    const resumer = await e2e.ws(api.wsUrl);
    const versions = Object.fromEntries(SECTION_NAMES.map((s) => [s, { epoch: oldEpochs[s]!, version: 1_000_000 }]));
    await resumer.subscribe([...SECTION_NAMES], { versions });
    await waitUntil('a resumed socket to get every section', () =>
      SECTION_NAMES.every((s) => resumer.ofType('snapshot', s).some((m: Message) => m.epoch !== oldEpochs[s])),
    );

    // Nothing lost: the data is rebuilt from PostgreSQL, the same as before the restart.
    const v2After = (await http<V2>(`${api.baseUrl}/api/public/dashboard/v2/`)).body;
    expect(v2After.overview).toEqual(v2Before.overview);
    expect(v2After.open_positions).toEqual(v2Before.open_positions);
    expect(v2After.recent_trades).toEqual(v2Before.recent_trades);
    expect(v2After.top_performers).toEqual(v2Before.top_performers);
    expect(worker.alive && api.alive).toBe(true);

    // Neither process flooded its log while Redis was away.
    const perSecond = (n: number) => n / (downMs / 1000);
    expect(perSecond(downLines.worker), JSON.stringify(downLines)).toBeLessThan(5);
    expect(perSecond(downLines.api), JSON.stringify(downLines)).toBeLessThan(5);

    await recordObservation('redis-restart', {
      injected: 'private redis-server SIGKILLed, down, then started empty on the same port',
      down_ms: downMs,
      http_while_down: whileDown.status,
      readyz_while_down: 503,
      log_lines_while_down: downLines,
      republished_new_epoch_after_ms: republishedAfterMs,
      api_resynced_after_ms: apiResyncedAfterMs,
      open_socket_had_new_epoch_after_ms: socketHadNewEpochAfterMs,
      socket_stayed_open: true,
      data_equal_before_and_after: true,
      processes_restarted: 0,
    });
  }, 120_000);
});

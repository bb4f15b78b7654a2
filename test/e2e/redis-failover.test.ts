import { SECTION_NAMES } from '@snapboard/shared';
import { describe, expect, it } from 'vitest';
import { assertAlive, type E2E, everySectionPublished, useE2E } from './support/fixture.ts';
import { http } from './support/http.ts';
import type { ApiProcess, ServiceProcess } from './support/processes.ts';
import { startRedisCluster, startRedisSentinel } from './support/redis-topology.ts';
import { recordObservation } from './support/report.ts';
import { ttlEnv } from './support/sections.ts';
import { SnapshotReader } from './support/snapshots.ts';
import { waitUntil } from './support/wait.ts';
import type { Message, WsClient } from './support/ws-client.ts';

/**
 * Proof by failure (SPEC §12): Redis loses its primary while a worker and two APIs serve and push.
 * A replica is promoted (by the cluster itself, or by Sentinel); changes keep reaching HTTP and
 * sockets with no snapboard process restarted; no subscriber sees a version go back, and no
 * (epoch, version) of a section is ever seen with two different data (the fence of fence.ts).
 * Timeouts are short (1 s to declare a primary dead), so each scenario takes seconds.
 */

const TTLS = ttlEnv(2, { pnl_history: 10, trading_stats: 10 });

type Observed = { section: string; epoch: string; version: number; computed_at: string; data: unknown };

/** Every snapshot frame a socket received, checked for the two rules of §4 and §12. */
function checkHistory(clients: WsClient[]): { frames: number; epochs: number } {
  const meaning = new Map<string, string>();
  let frames = 0;
  const epochs = new Set<string>();
  for (const client of clients) {
    const last = new Map<string, Observed>();
    for (const m of client.ofType('snapshot') as (Message & Observed)[]) {
      frames++;
      epochs.add(m.epoch);
      const before = last.get(m.section);
      if (before && before.epoch === m.epoch) expect(m.version).toBeGreaterThan(before.version);
      // A new epoch is taken only when it is newer (SPEC §4): computed at or after the last one.
      if (before && before.epoch !== m.epoch) expect(m.computed_at >= before.computed_at).toBe(true);
      last.set(m.section, m);
      const key = `${m.section}|${m.epoch}|${m.version}`;
      const data = JSON.stringify(m.data);
      const seen = meaning.get(key);
      if (seen === undefined) meaning.set(key, data);
      else expect(data, `${key} was announced twice with different data`).toBe(seen);
    }
  }
  return { frames, epochs: epochs.size };
}

async function serveAndFail(
  e2e: E2E,
  name: string,
  redisEnv: Record<string, string>,
  reader: SnapshotReader,
  fail: () => Promise<{ killedAt: number; promotedAt: number }>,
) {
  const db = e2e.botDb();
  const alice = await db.addUser(`alice-${name}`, { totalPnl: 10, winRate: 50 });
  await db.openTrade(alice, 'BTCUSDT', 64_000);
  const worker = e2e.worker({ ...TTLS, ...redisEnv });
  const apis: ApiProcess[] = [
    await e2e.api({ ...TTLS, ...redisEnv }, 'api-a'),
    await e2e.api({ ...TTLS, ...redisEnv }, 'api-b'),
  ];
  const processes: ServiceProcess[] = [worker, ...apis];
  e2e.defer(() => reader.close());
  await everySectionPublished(reader, processes);

  const clients = await Promise.all(apis.map((api) => e2e.ws(api.wsUrl)));
  for (const client of clients)
    expect((await client.subscribe([...SECTION_NAMES], { limit: 100 })).type).toBe('subscribed');

  /** Open a trade and wait until every socket and every API's HTTP answer carries it. */
  const changeReachesEveryone = async (timeoutMs: number) => {
    const id = await db.openTrade(alice, 'ETHUSDT', 3_000 + Math.random());
    const carries = (positions: unknown) =>
      Array.isArray(positions) && positions.some((p) => (p as { trade_id?: number }).trade_id === id);
    await waitUntil(
      `trade ${id} on every socket and every API`,
      async () => {
        assertAlive(...processes);
        const onSockets = clients.every((c) => c.ofType('snapshot', 'open_positions').some((m) => carries(m.data)));
        if (!onSockets) return false;
        const answers = await Promise.all(
          apis.map((api) =>
            http<{ data: unknown }>(`${api.baseUrl}/api/public/dashboard/sections/open_positions/?limit=100`),
          ),
        );
        return answers.every((a) => a.status === 200 && carries(a.body.data));
      },
      { timeoutMs, intervalMs: 50 },
    );
  };

  await changeReachesEveryone(10_000);
  const { killedAt, promotedAt } = await fail();
  // Changes made while the primary is gone and after the promotion: each must arrive.
  const firstChangeAfterKill = Date.now();
  await changeReachesEveryone(30_000).catch((error: Error) => {
    const sockets = clients.map((c) => c.ofType('snapshot', 'open_positions').length).join(',');
    throw new Error(
      `${error.message}\nsocket frames: ${sockets}\n${processes.map((p) => `--- ${p.name}\n${p.tail()}`).join('\n')}`,
    );
  });
  const recoveredAt = Date.now();
  for (let i = 0; i < 3; i++) await changeReachesEveryone(10_000);

  // Nobody restarted; every socket stayed open.
  assertAlive(...processes);
  for (const client of clients) expect(client.isOpen).toBe(true);
  const history = checkHistory(clients);
  const observed = {
    promotion_ms: promotedAt - killedAt,
    first_change_after_kill_visible_ms: recoveredAt - firstChangeAfterKill,
    kill_to_recovered_ms: recoveredAt - killedAt,
    frames_checked: history.frames,
    epochs_seen: history.epochs,
    fence_rotations: worker.lines.filter((l) => /primary changed/.test(l.raw)).length,
    process_restarts: 0,
  };
  await recordObservation(name, observed);
  return observed;
}

describe('redis failover', () => {
  const e2e = useE2E();

  it('error: the cluster primary holding the deployment slot is SIGKILLed; a replica takes over and changes keep flowing', async () => {
    const cluster = await startRedisCluster();
    e2e.defer(() => cluster.stop());
    const reader = new SnapshotReader(cluster.target, e2e.prefix);
    const slotKey = reader.keys.snapshot('overview');
    await serveAndFail(e2e, 'redis-cluster-failover', cluster.env, reader, async () => {
      const primary = await cluster.primaryOf(slotKey);
      const killedAt = Date.now();
      await cluster.kill(primary);
      await cluster.promotedAway(slotKey, primary);
      return { killedAt, promotedAt: Date.now() };
    });
  }, 120_000);

  it('error: the Sentinel-managed primary is SIGKILLed; Sentinel promotes the replica and changes keep flowing', async () => {
    const sentinel = await startRedisSentinel();
    e2e.defer(() => sentinel.stop());
    const reader = new SnapshotReader(sentinel.target, e2e.prefix);
    await serveAndFail(e2e, 'redis-sentinel-failover', sentinel.env, reader, async () => {
      const primary = await sentinel.primaryPort();
      const killedAt = Date.now();
      await sentinel.kill(primary);
      await sentinel.failedOverFrom(primary);
      return { killedAt, promotedAt: Date.now() };
    });
  }, 120_000);
});

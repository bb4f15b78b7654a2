import { useTestEnv } from '@snapboard/devenv/testing';
import type { BatchMessage, ServerMessage } from '@snapboard/shared';
import { describe, expect, it } from 'vitest';
import { snapshot, useWsServer } from './ws-harness.ts';

// Change sets over real sockets (SPEC §10): one round per set, the batch frame, and what is not a set.

const env = useTestEnv({ database: false });
const api = useWsServer(env);
const { ready } = api;

const rounds = async () =>
  Number(/^snapboard_ws_fanout_seconds_count (\d+)/m.exec(await api.instance.registry.metrics())?.[1] ?? Number.NaN);
const isBatch = (m: ServerMessage): m is BatchMessage => m.type === 'batch';

describe('change sets', () => {
  it('happy: a "batches" subscriber gets each set as one batch frame holding exactly its frames', async () => {
    const batched = await ready();
    const plain = await ready();
    batched.send({ type: 'subscribe', sections: ['overview', 'lite', 'open_positions'], limit: 5, batches: true });
    plain.send({ type: 'subscribe', sections: ['overview', 'lite', 'open_positions'], limit: 5 });
    await batched.drain();
    await plain.drain();
    const before = await rounds();
    const set = [snapshot('overview', 1), snapshot('lite', 1), snapshot('open_positions', 1, { size: 8 })];
    await api.publisher.publishSet(41, set);
    const [batch] = (await batched.until(isBatch)).filter(isBatch);
    const frames = await plain.until((m) => m.type === 'snapshot' && m.section === 'open_positions');
    expect(batch?.change).toBe('41');
    // Exactly the frames the plain subscriber got, in the set's order, cut to the subscriber's limit.
    expect(batch?.items).toEqual(frames);
    expect(batch?.items.map((m) => m.section)).toEqual(['overview', 'lite', 'open_positions']);
    expect(batch?.items[2]).toMatchObject({ type: 'snapshot', data: expect.any(Array) });
    expect((batch?.items[2] as { data: unknown[] } | undefined)?.data).toHaveLength(5);
    expect((await rounds()) - before).toBe(1);

    // The next set carries only what changed for this subscriber, under the next id.
    await api.publisher.publishSet(42, [snapshot('lite', 2), snapshot('recent_trades', 1)]);
    const [next] = (await batched.until(isBatch)).filter(isBatch);
    expect(next).toMatchObject({ change: '42', items: [{ type: 'snapshot', section: 'lite', version: 2 }] });
    expect((await rounds()) - before).toBe(2);
  });

  it('happy: sets published back to back arrive one by one, in order, none merged or skipped', async () => {
    const client = await ready();
    client.send({ type: 'subscribe', sections: ['overview', 'lite'], batches: true });
    await client.drain();
    for (let v = 1; v <= 20; v++)
      await api.publisher.publishSet(100 + v, [snapshot('overview', v), snapshot('lite', v)]);
    const batches = (await client.until((m) => isBatch(m) && m.change === '120')).filter(isBatch);
    expect(batches.map((b) => b.change)).toEqual(Array.from({ length: 20 }, (_, i) => String(101 + i)));
    for (const b of batches) {
      const [overview, lite] = b.items;
      expect(overview?.version).toBe(lite?.version);
    }
  });

  it('edge: subscribers in different states in one round each get their own frames (a state is not carried over)', async () => {
    // Subscribers are served in the order they subscribed; the fan-out reuses the frames of the one
    // before when a subscriber is in the same state. Interleaved states must each be chosen afresh.
    const v1 = snapshot('recent_trades', 1, { size: 30 });
    await api.publisher.publishSet(300, [v1, snapshot('lite', 1)]);
    await api.waitForVersion('lite', 1);
    const [a1, b, a2, c, a3] = await Promise.all(Array.from({ length: 5 }, () => ready()));
    const sections = ['recent_trades', 'lite'];
    const subscribe = { type: 'subscribe', sections, limit: 5, batches: true, patches: true } as const;
    a1?.send(subscribe);
    await a1?.drain();
    b?.send({ ...subscribe, limit: 3 });
    await b?.drain();
    a2?.send(subscribe);
    await a2?.drain();
    // Claims the versions it holds: the server cannot patch against a claim, so it sends snapshots.
    c?.send({
      ...subscribe,
      versions: { recent_trades: { epoch: 'epoch-a', version: 1 }, lite: { epoch: 'epoch-a', version: 1 } },
    });
    await c?.drain();
    a3?.send(subscribe);
    await a3?.drain();
    const clients = [a1, b, a2, c, a3] as NonNullable<typeof a1>[];
    const close = { ...v1.data[0]!, trade_id: 99_999 };
    await api.publisher.publishSet(301, [
      { ...snapshot('recent_trades', 2), data: [close, ...v1.data] },
      snapshot('lite', 2),
    ]);
    const batchOf = async (client: NonNullable<typeof a1>, change: string) =>
      (await client.until((m) => isBatch(m) && m.change === change)).filter(isBatch).at(-1);
    const [x1, y, x2, z, x3] = await Promise.all(clients.map((client) => batchOf(client, '301')));
    expect(x2).toEqual(x1);
    expect(x3).toEqual(x1);
    expect(x1?.items).toMatchObject([{ type: 'patch', keep: [0, 4], prepend: [close] }, { type: 'snapshot' }]);
    expect(y?.items).toMatchObject([{ type: 'patch', keep: [0, 2], prepend: [close] }, { type: 'snapshot' }]);
    expect(z?.items.map((m) => m.type)).toEqual(['snapshot', 'snapshot']);
    expect((z?.items[0] as { data: unknown[] } | undefined)?.data).toHaveLength(5);
    // Each holds version 2 exactly now: the next close is a patch from it for every one of them.
    const next = { ...close, trade_id: 100_000 };
    await api.publisher.publishSet(302, [{ ...snapshot('recent_trades', 3), data: [next, close, ...v1.data] }]);
    for (const batch of await Promise.all(clients.map((client) => batchOf(client, '302')))) {
      expect(batch?.items).toMatchObject([{ type: 'patch', version: 3, base_version: 2, prepend: [next] }]);
    }
    // One of a state's subscribers changes on its own (it leaves lite): it is no longer sent what the
    // others in its old state are.
    a2?.send({ type: 'unsubscribe', sections: ['lite'] });
    await a2?.until((m) => m.type === 'unsubscribed');
    const third = { ...close, trade_id: 100_001 };
    await api.publisher.publishSet(303, [
      { ...snapshot('recent_trades', 4), data: [third, next, close, ...v1.data] },
      snapshot('lite', 3),
    ]);
    const [after1, after2, after3] = await Promise.all([a1, a2, a3].map((client) => batchOf(client!, '303')));
    expect(after1?.items.map((m) => m.section)).toEqual(['recent_trades', 'lite']);
    expect(after3).toEqual(after1);
    expect(after2?.items).toMatchObject([{ type: 'patch', section: 'recent_trades', version: 4, base_version: 3 }]);
    expect(after2?.items).toHaveLength(1);
  });

  it('happy: a set announced while a round is being written joins it: every subscriber gets both sets, whole and in order', async () => {
    // Two subscribers per slice: the round lets the loop in after each pair, and the second set,
    // announced in the same read as the first, joins the round after its first slice.
    await api.restart({ limits: { roundSlice: 2 } });
    const first = snapshot('recent_trades', 1, { size: 12 });
    await api.publisher.publishSet(400, [first, snapshot('lite', 1)]);
    await api.waitForVersion('lite', 1);
    const clients = await Promise.all(Array.from({ length: 7 }, () => ready()));
    for (const [i, client] of clients.entries()) {
      // One of them without batches: it gets the same versions as frames one by one.
      client.send({
        type: 'subscribe',
        sections: ['recent_trades', 'lite'],
        limit: 5,
        patches: true,
        batches: i !== 3,
      });
      await client.drain();
    }
    const joined = async () =>
      Number(/^snapboard_ws_sets_joined_total (\d+)/m.exec(await api.instance.registry.metrics())?.[1] ?? Number.NaN);
    const before = { rounds: await rounds(), joined: await joined() };
    const v1 = first.data;
    const a = { ...v1[0]!, trade_id: 500 };
    const b = { ...v1[0]!, trade_id: 501 };
    await api.publisher.publishSets([
      [401, [{ ...snapshot('recent_trades', 2), data: [a, ...v1] }, snapshot('lite', 2)]],
      [402, [{ ...snapshot('recent_trades', 3), data: [b, a, ...v1] }, snapshot('lite', 3)]],
    ]);
    for (const [i, client] of clients.entries()) {
      const got = await client.until((m) =>
        i === 3
          ? m.type !== 'batch' && 'version' in m && m.section === 'lite' && m.version === 3
          : isBatch(m) && m.change === '402',
      );
      if (i === 3) {
        expect(got.map((m) => ('version' in m ? `${m.section}:${m.version}` : m.type))).toEqual([
          'recent_trades:2',
          'lite:2',
          'recent_trades:3',
          'lite:3',
        ]);
        continue;
      }
      const batches = got.filter(isBatch);
      expect(batches.map((m) => m.change)).toEqual(['401', '402']);
      expect(batches[0]?.items).toMatchObject([
        { type: 'patch', version: 2, prepend: [a] },
        { section: 'lite', version: 2 },
      ]);
      expect(batches[1]?.items).toMatchObject([
        { type: 'patch', version: 3, base_version: 2, prepend: [b] },
        { section: 'lite', version: 3 },
      ]);
    }
    // The second set joined the first's round; the subscribers reached before it came got it in one
    // more round: two rounds for two sets.
    expect((await joined()) - before.joined).toBe(1);
    // The second round ends after its last slice (its other subscribers, holding the set, skipped).
    await expect.poll(async () => (await rounds()) - before.rounds).toBe(2);
  });

  it('edge: the answer to a subscribe is not a set: plain snapshot frames, no change id', async () => {
    await api.publisher.publishSet(7, [snapshot('overview', 3), snapshot('lite', 3)]);
    await api.waitForVersion('lite', 3);
    const client = await ready();
    client.send({ type: 'subscribe', sections: ['overview', 'lite'], batches: true });
    const answer = await client.until((m) => m.type === 'snapshot' && m.section === 'lite');
    expect(answer.map((m) => m.type)).toEqual(['subscribed', 'snapshot', 'snapshot']);
    expect(answer.some((m) => 'change' in m)).toBe(false);
  });

  it('edge: the replica applies a set whole: a reader between two sets never sees half of one', async () => {
    const seen: Array<[number, number]> = [];
    const off = api.instance.replica.onChange(() => {
      // Every change event of a set fires after the whole set is in the replica.
      seen.push([
        api.instance.replica.get('overview')?.snapshot.version ?? 0,
        api.instance.replica.get('lite')?.snapshot.version ?? 0,
      ]);
    });
    try {
      for (let v = 1; v <= 10; v++)
        await api.publisher.publishSet(200 + v, [snapshot('overview', v), snapshot('lite', v)]);
      await api.waitForVersion('lite', 10);
    } finally {
      off();
    }
    expect(seen.length).toBeGreaterThan(0);
    for (const [overview, lite] of seen) expect(overview).toBe(lite);
  });
});

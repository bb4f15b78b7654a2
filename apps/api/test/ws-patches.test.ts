import { useTestEnv } from '@snapboard/devenv/testing';
import {
  applyListPatch,
  type PatchMessage,
  type SectionData,
  type ServerMessage,
  type Snapshot,
  type SnapshotMessage,
} from '@snapboard/shared';
import { describe, expect, it } from 'vitest';
import { position, snapshot, useWsServer } from './ws-harness.ts';

// The opt-in patch frames and the batched delivery of docs/decisions/0006-websocket-patch-frames.md,
// over real sockets.

const env = useTestEnv({ database: false });

const api = useWsServer(env);
const { ready } = api;

async function published<K extends Snapshot['section']>(s: Snapshot<K>): Promise<Snapshot<K>> {
  await api.publisher.publish(s);
  await api.waitForVersion(s.section, s.version);
  return s;
}

const isFrame = (m: ServerMessage): m is SnapshotMessage | PatchMessage => m.type === 'snapshot' || m.type === 'patch';

/** What a client holds after each frame, applying patches the way the SDK does. */
class Holder {
  data = new Map<string, { epoch: string; version: number; data: unknown[] }>();
  take(m: SnapshotMessage | PatchMessage): void {
    if (m.type === 'snapshot') {
      this.data.set(m.section, { epoch: m.epoch, version: m.version, data: m.data as unknown[] });
      return;
    }
    const held = this.data.get(m.section);
    expect(held).toMatchObject({ epoch: m.epoch, version: m.base_version });
    const next = applyListPatch(
      held?.data ?? [],
      m as { keep: [number, number]; prepend: unknown[]; append: unknown[]; update?: unknown },
    );
    expect(next).toBeDefined();
    this.data.set(m.section, { epoch: m.epoch, version: m.version, data: next ?? [] });
  }
}

function pnlHistory(version: number, data: SectionData['pnl_history']): Snapshot<'pnl_history'> {
  return { ...snapshot('pnl_history', version), data };
}

describe('patch frames', () => {
  it('happy: pnl_history moving its last point, then sliding by an hour, reaches a patching subscriber as small patches that rebuild each version exactly', async () => {
    const v1 = await published(snapshot('pnl_history', 1));
    const patching = await ready();
    const plain = await ready();
    patching.send({ type: 'subscribe', sections: ['pnl_history'], patches: true });
    plain.send({ type: 'subscribe', sections: ['pnl_history'] });
    const holder = new Holder();
    for (const m of (await patching.drain()).filter(isFrame)) holder.take(m);
    expect(holder.data.get('pnl_history')?.version).toBe(1);
    await plain.drain();

    const last = v1.data.at(-1)!;
    const moved = [...v1.data.slice(0, -1), { ...last, pnl: last.pnl + 12.5 }];
    const v2 = await published(pnlHistory(2, moved));
    const slid = [...moved.slice(1), { t: new Date(Date.parse(last.t) + 3_600_000).toISOString(), pnl: 99 }];
    const v3 = await published(pnlHistory(3, slid));

    const frames = (await patching.until((m) => isFrame(m) && m.version === 3)).filter(isFrame);
    expect(frames.map((m) => [m.type, m.version])).toEqual([
      ['patch', 2],
      ['patch', 3],
    ]);
    expect(frames[0]).toMatchObject({ base_version: 1, keep: [0, 719], prepend: [], append: [moved.at(-1)] });
    expect(frames[1]).toMatchObject({ base_version: 2, keep: [1, 720], prepend: [], append: [slid.at(-1)] });
    holder.take(frames[0]!);
    expect(holder.data.get('pnl_history')?.data).toEqual(v2.data);
    holder.take(frames[1]!);
    expect(holder.data.get('pnl_history')?.data).toEqual(v3.data);
    for (const frame of frames) expect(JSON.stringify(frame).length).toBeLessThan(300);

    // Without the opt-in, SPEC §7 as written: full snapshots.
    const full = (await plain.until((m) => isFrame(m) && m.version === 3)).filter(isFrame);
    expect(full.map((m) => [m.type, m.version])).toEqual([
      ['snapshot', 2],
      ['snapshot', 3],
    ]);
    expect((full[1] as SnapshotMessage<'pnl_history'>).data).toEqual(v3.data);
    expect(api.instance.ws.stats()).toMatchObject({ patchesSent: 2 });
  });

  it('happy: a new close at the head of recent_trades is one prepended item, cut to each subscriber’s limit', async () => {
    const v1 = await published(snapshot('recent_trades', 1, { size: 30 }));
    const five = await ready();
    const all = await ready();
    five.send({ type: 'subscribe', sections: ['recent_trades'], limit: 5, patches: true });
    all.send({ type: 'subscribe', sections: ['recent_trades'], limit: 100, patches: true });
    const holders = [new Holder(), new Holder()];
    for (const [i, client] of [five, all].entries()) {
      for (const m of (await client.drain()).filter(isFrame)) holders[i]!.take(m);
    }
    const close = { ...v1.data[0]!, trade_id: 99_999, profit_loss: -4 };
    const v2 = await published({ ...snapshot('recent_trades', 2), data: [close, ...v1.data] });

    const [p5] = (await five.until(isFrame)).filter(isFrame);
    const [pAll] = (await all.until(isFrame)).filter(isFrame);
    expect(p5).toMatchObject({ type: 'patch', keep: [0, 4], prepend: [close], append: [] });
    expect(pAll).toMatchObject({ type: 'patch', keep: [0, 30], prepend: [close], append: [] });
    holders[0]!.take(p5!);
    holders[1]!.take(pAll!);
    expect(holders[0]!.data.get('recent_trades')?.data).toEqual(v2.data.slice(0, 5));
    expect(holders[1]!.data.get('recent_trades')?.data).toEqual(v2.data);
  });

  it('happy: a version the client only claims (resume) is answered with a snapshot first; patches follow', async () => {
    const v1 = await published(snapshot('pnl_history', 1));
    const client = await ready();
    // It says it holds version 1, but at which limit or from where the server cannot know.
    client.send({
      type: 'subscribe',
      sections: ['pnl_history'],
      patches: true,
      versions: { pnl_history: { epoch: 'epoch-a', version: 1 } },
    });
    expect((await client.drain()).filter(isFrame)).toEqual([]);
    const moved = v1.data.map((p, i) => (i === 719 ? { ...p, pnl: -1 } : p));
    await published(pnlHistory(2, moved));
    await published(
      pnlHistory(
        3,
        moved.map((p, i) => (i === 719 ? { ...p, pnl: -2 } : p)),
      ),
    );
    const frames = (await client.until((m) => isFrame(m) && m.version === 3)).filter(isFrame);
    expect(frames.map((m) => [m.type, m.version])).toEqual([
      ['snapshot', 2],
      ['patch', 3],
    ]);
  });

  it('happy: a new epoch, a list with nothing in common and an object section all go as snapshots', async () => {
    await published(snapshot('pnl_history', 1));
    await published(snapshot('top_performers', 1));
    await published(snapshot('overview', 1));
    const client = await ready();
    client.send({ type: 'subscribe', sections: ['pnl_history', 'top_performers', 'overview'], patches: true });
    await client.drain();
    await published(snapshot('pnl_history', 1, { epoch: 'epoch-b' })); // Redis lost its data
    await published(snapshot('top_performers', 2)); // its one item changed
    await published(snapshot('overview', 2));
    const frames = (await client.until((m) => isFrame(m) && m.section === 'overview')).filter(isFrame);
    expect(frames.map((m) => [m.type, m.section])).toEqual([
      ['snapshot', 'pnl_history'],
      ['snapshot', 'top_performers'],
      ['snapshot', 'overview'],
    ]);
  });

  it('happy: a subscriber that fell behind gets the newest version as a snapshot, not a patch on a version it never had', async () => {
    await api.restart({
      limits: { softBufferBytes: 64 * 1024, hardBufferBytes: 256 * 1024, hardBehindMs: 60_000 },
    });
    await published(snapshot('pnl_history', 1));
    // A reader that keeps up, so that a frame (and a patch base) is built for every version.
    const fast = await ready();
    fast.send({ type: 'subscribe', sections: ['pnl_history'], patches: true });
    const client = await ready();
    client.send({ type: 'subscribe', sections: ['pnl_history'], patches: true });
    const holder = new Holder();
    for (const m of (await client.drain()).filter(isFrame)) holder.take(m);
    client.ws.pause(); // stops reading: the kernel's buffers fill, then the server's

    // Versions whose every point moves (full snapshots, ~35 KB) until the server skips some for it.
    let version = 1;
    while (api.instance.ws.stats().skips < 3) {
      if (version > 3000) throw new Error('the paused reader never fell behind');
      await api.publisher.publish(snapshot('pnl_history', ++version));
    }
    // Then one that differs from the version before only in its last point: patchable, but not for it.
    const before = snapshot('pnl_history', version);
    const last = await published(
      pnlHistory(
        version + 1,
        before.data.map((p, i) => (i === 719 ? { ...p, pnl: -1 } : p)),
      ),
    );
    client.ws.resume();
    const frames = (await client.until((m) => isFrame(m) && m.version === last.version, 10_000)).filter(isFrame);
    // Every patch applies to exactly what was held before it (Holder checks the base).
    for (const m of frames) holder.take(m);
    expect(holder.data.get('pnl_history')).toMatchObject({ version: last.version, data: last.data });
    expect(frames.at(-1)?.type).toBe('snapshot');
    const fastFrames = (await fast.until((m) => isFrame(m) && m.version === last.version, 10_000)).filter(isFrame);
    expect(fastFrames.at(-1)).toMatchObject({ type: 'patch', base_version: version });
  });

  it('error: a non-boolean patches is refused with an error frame and the connection stays', async () => {
    const client = await ready();
    client.send({ type: 'subscribe', sections: ['lite'], patches: 'yes' });
    expect(await client.next()).toMatchObject({ type: 'error', code: 'invalid_message' });
    client.send({ type: 'ping', id: 1 });
    expect(await client.next()).toMatchObject({ type: 'pong', id: 1 });
  });
});

describe('batched delivery', () => {
  /** Several snapshots announced in one transaction: they reach the API in one read, as a burst does. */
  async function publishTogether(...snapshots: Snapshot[]): Promise<void> {
    const multi = api.publisher.redis.multi();
    for (const s of snapshots) {
      multi.set(api.publisher.keys.snapshot(s.section), JSON.stringify(s));
      multi.publish(api.publisher.keys.announceChannel, JSON.stringify({ changed: true, snapshot: s }));
    }
    await multi.exec();
  }
  const rounds = async () =>
    Number(/^snapboard_ws_fanout_seconds_count (\d+)/m.exec(await api.instance.registry.metrics())?.[1] ?? Number.NaN);

  it('happy: changes announced together go out in one round, in the order announced', async () => {
    const client = await ready();
    client.send({ type: 'subscribe', sections: ['overview', 'lite', 'recent_trades'] });
    await client.drain();
    const before = await rounds();
    await publishTogether(snapshot('lite', 1), snapshot('overview', 1), snapshot('recent_trades', 1));
    const frames = (await client.until((m) => isFrame(m) && m.section === 'recent_trades')).filter(isFrame);
    expect(frames.map((m) => m.section)).toEqual(['lite', 'overview', 'recent_trades']);
    expect((await rounds()) - before).toBe(1);
  });

  it('happy: a section that changes twice in one burst is delivered twice, in order, to those keeping up', async () => {
    const client = await ready();
    client.send({ type: 'subscribe', sections: ['overview', 'lite'] });
    await client.drain();
    const before = await rounds();
    await publishTogether(snapshot('lite', 1), snapshot('overview', 1), snapshot('lite', 2), snapshot('lite', 3));
    const frames = (await client.until((m) => isFrame(m) && m.section === 'lite' && m.version === 3)).filter(isFrame);
    expect(frames.map((m) => [m.section, m.version])).toEqual([
      ['lite', 1],
      ['overview', 1],
      ['lite', 2],
      ['lite', 3],
    ]);
    expect((await rounds()) - before).toBe(3);
  });

  it('happy: what was announced before a shutdown still goes out ahead of the 1001 close', async () => {
    const client = await ready();
    client.send({ type: 'subscribe', sections: ['lite'] });
    await client.drain();
    // Close in the same turn as the replica learns of the change, before its delivery was due.
    const closedEarly = new Promise<void>((resolve) => {
      const off = api.instance.replica.onChange(() => {
        off();
        void api.instance.ws.close();
        resolve();
      });
    });
    await api.publisher.publish(snapshot('lite', 1));
    await closedEarly;
    expect((await client.closed).code).toBe(1001);
    expect(client.messages.filter(isFrame).map((m) => m.version)).toEqual([1]);
  });
});

describe('field updates (a price tick)', () => {
  /** 100 open positions at `price`, priced the way the worker prices them (SPEC §3). */
  function positions(price: number): SectionData['open_positions'] {
    return Array.from({ length: 100 }, (_, i) => {
      const p = position(5000 - i);
      const entry = 64_000 + i * 3.25;
      const current = price + i * 0.5;
      const pnl = Math.round((current - entry) * p.quantity! * 1e8) / 1e8;
      return {
        ...p,
        entry_price: entry,
        current_price: current,
        unrealized_pnl: pnl,
        unrealized_pnl_pct: Math.round((pnl / 100) * 100 * 1e4) / 1e4,
        price_change: Math.round((current - entry) * 1e8) / 1e8,
        price_change_pct: Math.round(((current - entry) / entry) * 100 * 100) / 100,
      };
    });
  }
  const bytes = (m: ServerMessage) => Buffer.byteLength(JSON.stringify(m));

  it('happy: a tick that moves every position reaches a "fields" subscriber as the moved fields only, ≥3× smaller, rebuilt exactly', async () => {
    await published({ ...snapshot('open_positions', 1), data: positions(64_100) });
    const fields = await ready();
    const patchesOnly = await ready();
    fields.send({ type: 'subscribe', sections: ['open_positions'], limit: 100, patches: true, fields: true });
    patchesOnly.send({ type: 'subscribe', sections: ['open_positions'], limit: 100, patches: true });
    const holder = new Holder();
    for (const m of (await fields.drain()).filter(isFrame)) holder.take(m);
    await patchesOnly.drain();

    const ticked = positions(64_180.5);
    await published({ ...snapshot('open_positions', 2), data: ticked });
    const [update] = (await fields.until((m) => isFrame(m) && m.version === 2)).filter(isFrame);
    const [full] = (await patchesOnly.until((m) => isFrame(m) && m.version === 2)).filter(isFrame);
    expect(update).toMatchObject({ type: 'patch', base_version: 1, keep: [0, 100], prepend: [], append: [] });
    expect([...((update as PatchMessage<'open_positions'>).update?.fields ?? [])].sort()).toEqual(
      ['current_price', 'price_change', 'price_change_pct', 'unrealized_pnl', 'unrealized_pnl_pct'].sort(),
    );
    // Without "fields" nothing of the list survives a tick: the whole snapshot, as before.
    expect(full?.type).toBe('snapshot');
    holder.take(update as PatchMessage);
    expect(JSON.stringify(holder.data.get('open_positions')?.data)).toBe(JSON.stringify(ticked));
    const ratio = bytes(full as ServerMessage) / bytes(update as ServerMessage);
    expect(
      ratio,
      `${bytes(full as ServerMessage)} B snapshot vs ${bytes(update as ServerMessage)} B update`,
    ).toBeGreaterThanOrEqual(3);
  });

  it('error: an update that does not fit the list held is refused whole, never applied in part', () => {
    const list = [
      { a: 1, b: 2 },
      { a: 3, b: 4 },
    ];
    expect(
      applyListPatch(list, {
        keep: [0, 2],
        prepend: [],
        append: [],
        update: {
          fields: ['b'],
          items: [
            [0, 9],
            [2, 9],
          ],
        },
      }),
    ).toBeUndefined();
    expect(
      applyListPatch(list, { keep: [0, 2], prepend: [], append: [], update: { fields: ['c'], items: [[0, 9]] } }),
    ).toBeUndefined();
    expect(
      applyListPatch(list, { keep: [0, 2], prepend: [], append: [], update: { fields: ['b'], items: [[0]] } }),
    ).toBeUndefined();
    expect(
      applyListPatch(list, { keep: [0, 2], prepend: [], append: [], update: { fields: ['b'], items: [[1, 9]] } }),
    ).toEqual([
      { a: 1, b: 2 },
      { a: 3, b: 9 },
    ]);
    expect(list[1]).toEqual({ a: 3, b: 4 });
  });
});

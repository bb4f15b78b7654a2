import type { SectionName } from '@snapboard/shared';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import {
  type ConnectionState,
  createDashboardClient,
  type DashboardClient,
  type DashboardClientOptions,
  fullJitter,
  type SectionSnapshot,
} from '../src/index.ts';
import { type SocketPeer, startSocketPeer } from './support/socket-peer.ts';
import { eventually } from './support/wait.ts';

/**
 * The SDK's socket side, against a protocol-faithful peer that can drop, go silent and come back.
 * Resume and polling against the real API are in api.test.ts.
 */

const lite = (total_pnl: number) => ({ total_pnl, win_rate: 50, active_trades: 3, daily_pnl: 12.5 });
const trades = (count: number) =>
  Array.from({ length: count }, (_, i) => ({ trade_id: 1000 - i, symbol: 'BTCUSDT', profit_loss: i }));

let peer: SocketPeer;
let client: DashboardClient | undefined;

beforeEach(async () => {
  peer = await startSocketPeer();
});
afterEach(async () => {
  client?.close();
  client = undefined;
  await peer.close();
});

function connect(overrides: Partial<DashboardClientOptions> = {}) {
  const seen: SectionSnapshot[] = [];
  const states: ConnectionState[] = [];
  client = createDashboardClient({
    baseUrl: peer.url,
    sections: ['lite', 'recent_trades'],
    limit: 5,
    WebSocket: WebSocket,
    backoff: { baseMs: 20, maxMs: 100 },
    // No HTTP here: polling would only add noise to these tests.
    pollAfterFailures: 1000,
    freshnessCheckMs: 0,
    ...overrides,
  });
  client.onSnapshot((snapshot) => seen.push(snapshot));
  client.onState((state) => states.push(state));
  return { client, seen, states };
}

const subscribes = () => peer.received.filter((message) => message.type === 'subscribe');

describe('happy: live subscription', () => {
  it('subscribes with the limit, receives each section, and then every new version', async () => {
    peer.publish('lite', lite(10));
    peer.publish('recent_trades', trades(30));
    const { client, seen, states } = connect();

    await eventually('both sections', () => client.get('lite') && client.get('recent_trades'));
    expect(client.state).toBe('live');
    expect(states).toEqual(['live']);
    expect(subscribes()[0]).toMatchObject({ sections: ['lite', 'recent_trades'], limit: 5 });
    expect(subscribes()[0]).not.toHaveProperty('versions');
    expect(client.get('recent_trades')?.data).toHaveLength(5);
    expect(client.get('lite')).toMatchObject({ data: lite(10), version: 1, epoch: peer.current('lite')?.epoch });

    const perSection: number[] = [];
    client.on('lite', (snapshot) => perSection.push(snapshot.data.total_pnl));
    expect(perSection).toEqual([10]);
    peer.publish('lite', lite(11));
    await eventually('version 2', () => client.get('lite')?.version === 2);
    expect(perSection).toEqual([10, 11]);
    expect(seen.map((s) => `${s.section}@${s.version}`)).toEqual(['lite@1', 'recent_trades@1', 'lite@2']);
  });

  it('reports each section age from computed_at and marks it stale after three cadences', async () => {
    let clock = Date.now();
    peer.publish('lite', lite(1));
    const { client } = connect({ sections: ['lite'], now: () => clock });
    await eventually('lite', () => client.get('lite'));
    const computedAt = Date.parse(client.get('lite')!.computed_at);

    clock = computedAt + 5000;
    const fresh = client.status('lite')!;
    // The welcome's server_time corrects for clock skew, so allow the few ms between welcome and now.
    expect(fresh.ageMs).toBeGreaterThan(4000);
    expect(fresh.ageMs).toBeLessThan(6000);
    expect(fresh).toMatchObject({ ttl: 2, stale: false });

    clock = computedAt + 7000;
    expect(client.status('lite')?.stale).toBe(true);
  });
});

describe('reconnect and resume', () => {
  it('resumes with the versions it holds and only receives what changed while it was away', async () => {
    peer.publish('lite', lite(1));
    peer.publish('recent_trades', trades(3));
    const { client, seen, states } = connect();
    await eventually('both sections', () => seen.length === 2);

    await peer.stop();
    await eventually('reconnecting', () => client.state === 'reconnecting');
    peer.publish('recent_trades', trades(4));
    await peer.resume();

    await eventually('live again', () => client.state === 'live' && client.get('recent_trades')?.version === 2);
    const resume = subscribes().at(-1)!;
    expect(resume.versions).toEqual({
      lite: { epoch: peer.current('lite')!.epoch, version: 1 },
      recent_trades: { epoch: peer.current('recent_trades')!.epoch, version: 1 },
    });
    expect(seen.map((s) => `${s.section}@${s.version}`)).toEqual(['lite@1', 'recent_trades@1', 'recent_trades@2']);
    expect(states).toEqual(expect.arrayContaining(['live', 'reconnecting']));
    expect(states.at(-1)).toBe('live');
  });

  it('starts from given snapshots: listeners get them before any frame, and the socket resumes from them', async () => {
    const liteHeld = peer.publish('lite', lite(7));
    const tradesHeld = peer.publish('recent_trades', trades(3));
    peer.publish('recent_trades', trades(4));
    const seeded: SectionSnapshot[] = [
      { section: 'lite', ...liteHeld, ttl: 4 } as SectionSnapshot,
      { section: 'recent_trades', ...tradesHeld, data: trades(3) } as SectionSnapshot,
      // Not subscribed: ignored.
      { section: 'overview', epoch: 'e', version: 1, computed_at: liteHeld.computed_at, data: {} } as SectionSnapshot,
    ];
    const { client, seen } = connect({ snapshots: seeded });
    // Held before any socket frame: a listener added now is called at once.
    const first: number[] = [];
    client.on('lite', (snapshot) => first.push(snapshot.data.total_pnl));
    expect(first).toEqual([7]);
    expect(client.status('lite')).toMatchObject({ version: 1, ttl: 4 });
    expect(client.get('overview')).toBeUndefined();

    await eventually('recent_trades version 2', () => client.get('recent_trades')?.version === 2);
    expect(subscribes()[0]?.versions).toEqual({
      lite: { epoch: liteHeld.epoch, version: 1 },
      recent_trades: { epoch: tradesHeld.epoch, version: 1 },
    });
    // lite was not sent again; only what changed since the seed was.
    const snapshotsSent = peer.sent.filter((frame) => frame.type === 'snapshot').map((frame) => frame.section);
    expect(snapshotsSent).toEqual(['recent_trades']);
    expect(seen.map((s) => `${s.section}@${s.version}`)).toEqual(['recent_trades@2']);
  });

  it('refuses a malformed starting snapshot at creation', () => {
    expect(() =>
      connect({ snapshots: [{ section: 'lite', epoch: 'e', computed_at: 'x' } as unknown as SectionSnapshot] }),
    ).toThrow(TypeError);
  });

  it('takes a new epoch whatever its version (the server lost its data)', async () => {
    peer.publish('lite', lite(1));
    peer.publish('lite', lite(2));
    peer.publish('lite', lite(3));
    const { client } = connect({ sections: ['lite'] });
    await eventually('version 3', () => client.get('lite')?.version === 3);

    peer.publish('lite', lite(99), { epoch: 'after-flush' });
    await eventually('the new epoch', () => client.get('lite')?.epoch === 'after-flush');
    expect(client.get('lite')).toMatchObject({ version: 1, data: lite(99) });
  });

  it('detects a silent peer by ping timeout and reconnects', async () => {
    peer.publish('lite', lite(1));
    const { client, states } = connect({ sections: ['lite'], heartbeatMs: 50, timeoutMs: 100 });
    await eventually('live', () => client.state === 'live');
    const pingsBefore = peer.received.filter((m) => m.type === 'ping').length;
    await eventually('a ping answered', () => peer.received.filter((m) => m.type === 'ping').length > pingsBefore);
    expect(client.state).toBe('live');

    peer.silence(true);
    await eventually('the drop', () => states.includes('reconnecting'));
    peer.silence(false);
    await eventually('live again', () => client.state === 'live' && subscribes().length >= 2);
  });

  it('keeps retrying with growing, jittered delays while nothing listens', async () => {
    const attempts: number[] = [];
    class CountingSocket extends WebSocket {
      constructor(url: string) {
        super(url);
        attempts.push(Date.now());
      }
    }
    const { client } = connect({
      sections: ['lite'],
      WebSocket: CountingSocket,
      backoff: { baseMs: 20, maxMs: 80, random: () => 0.99 },
    });
    await eventually('live', () => client.state === 'live');
    await peer.stop();
    await eventually('several failed attempts', () => attempts.length >= 6);
    // Delays drawn at 99% of 20, 40, 80, 80 ms: each gap is at least its draw (timers never fire early).
    const gaps = attempts.slice(2, 6).map((at, i) => at - attempts[i + 1]!);
    expect(gaps[0]).toBeGreaterThanOrEqual(39 - 1);
    expect(gaps[1]).toBeGreaterThanOrEqual(79 - 1);
    expect(gaps[2]).toBeGreaterThanOrEqual(79 - 1);
    await peer.resume();
    await eventually('live again', () => client.state === 'live');
  });
});

describe('patches', () => {
  const trade = (trade_id: number) => ({ trade_id, symbol: 'ETHUSDT', profit_loss: trade_id / 100 });
  const patchesSent = () => peer.sent.filter((frame) => frame.type === 'patch');
  const resubscribes = () => subscribes().slice(1);

  it('happy: a patch on the version held gives exactly the data a full snapshot gives, and listeners fire with it', async () => {
    const first = Array.from({ length: 8 }, (_, i) => trade(100 - i));
    peer.publish('recent_trades', first);
    const { client } = connect({ sections: ['recent_trades'] });
    const plain = createDashboardClient({
      baseUrl: peer.url,
      sections: ['recent_trades'],
      limit: 5,
      WebSocket,
      patches: false,
      pollAfterFailures: 1000,
      freshnessCheckMs: 0,
    });
    try {
      const heard: unknown[] = [];
      client.on('recent_trades', (snapshot) => heard.push(snapshot.data));
      await eventually('both hold v1', () => client.get('recent_trades') && plain.get('recent_trades'));
      expect(subscribes()).toEqual(
        expect.arrayContaining([
          { type: 'subscribe', sections: ['recent_trades'], limit: 5, patches: true, fields: true, batches: true },
          { type: 'subscribe', sections: ['recent_trades'], limit: 5, batches: true },
        ]),
      );

      // A new close at the head: prepend one, keep four.
      const second = [trade(101), ...first];
      peer.publish('recent_trades', second);
      await eventually('v2 in both', () => [client, plain].every((c) => c.get('recent_trades')?.version === 2));
      expect(patchesSent()).toHaveLength(1);
      expect(patchesSent()[0]).toMatchObject({ base_version: 1, version: 2, keep: [0, 4], append: [] });
      expect(client.get('recent_trades')).toEqual(plain.get('recent_trades'));
      expect(client.get('recent_trades')?.data).toEqual(second.slice(0, 5));

      // The newest item changes in place (as pnl_history's last hour does): keep the rest, append it.
      const third = [...second.slice(0, 4), { ...trade(97), profit_loss: 5 }, ...second.slice(5)];
      peer.publish('recent_trades', third);
      await eventually('v3 in both', () => [client, plain].every((c) => c.get('recent_trades')?.version === 3));
      expect(patchesSent()).toHaveLength(2);
      expect(patchesSent()[1]).toMatchObject({ keep: [0, 4], prepend: [], append: [third[4]] });
      expect(client.get('recent_trades')).toEqual(plain.get('recent_trades'));
      expect(heard).toEqual([first.slice(0, 5), second.slice(0, 5), third.slice(0, 5)]);
      expect(resubscribes()).toHaveLength(1); // only the plain client's own subscribe
    } finally {
      plain.close();
    }
  });

  const misfits: Array<[string, (held: { epoch: string; version: number }) => Record<string, unknown>]> = [
    ['a base version it does not hold', (held) => ({ epoch: held.epoch, version: held.version + 7, base_version: 6 })],
    ['another epoch', (held) => ({ epoch: 'another', version: held.version + 1, base_version: held.version })],
    [
      'a kept run beyond the list held',
      (held) => ({ epoch: held.epoch, version: held.version + 1, base_version: held.version, keep: [0, 50] }),
    ],
  ];
  it.each(misfits)(
    'error: a patch with %s is not applied; the section is subscribed again without versions, once until its snapshot',
    async (_, misfit) => {
      peer.publish('lite', lite(1));
      peer.publish('recent_trades', trades(3));
      const { client, seen, states } = connect();
      const errors: string[] = [];
      client.onError((error) => errors.push(error.code));
      await eventually('both sections', () => seen.length === 2);
      const held = client.get('recent_trades')!;

      // The server moved on without the client getting it, then sends patches against a base it lacks.
      const current = peer.publish('recent_trades', trades(4), { push: false });
      const patch = {
        type: 'patch',
        section: 'recent_trades',
        computed_at: new Date().toISOString(),
        keep: [0, 3],
        prepend: [{ trade_id: 1, symbol: 'XRPUSDT', profit_loss: 0 }],
        append: [],
        ...misfit(held),
      };
      peer.push(patch);
      peer.push(patch);
      const pushed = patchesSent().length;

      await eventually('the full snapshot', () => client.get('recent_trades')?.version === current.version);
      expect(client.get('recent_trades')?.data).toEqual(trades(4));
      expect(resubscribes()).toEqual([
        { type: 'subscribe', sections: ['recent_trades'], limit: 5, patches: true, fields: true, batches: true },
      ]);
      expect(seen.map((s) => `${s.section}@${s.version}`)).toEqual(['lite@1', 'recent_trades@1', 'recent_trades@2']);
      expect(errors).toEqual(['patch_resync', 'patch_resync']);
      // The answer to the resubscribe did not disturb the connection.
      expect(states).toEqual(['live']);
      expect(client.state).toBe('live');

      // Back on track: the next change comes as a patch again and is applied.
      peer.publish('recent_trades', [trades(1)[0], ...trades(4)]);
      await eventually('v3 by patch', () => client.get('recent_trades')?.version === current.version + 1);
      expect(patchesSent()).toHaveLength(pushed + 1);
      expect(client.get('recent_trades')?.data).toEqual([trades(1)[0], ...trades(4)].slice(0, 5));
      expect(resubscribes()).toHaveLength(1);

      // The snapshot ended that resync: a later misfit asks again (once more), and changes nothing.
      const seenBefore = seen.length;
      const snapshots = () => peer.sent.filter((frame) => frame.type === 'snapshot').length;
      const snapshotsBefore = snapshots();
      peer.push({ ...patch, ...misfit(client.get('recent_trades')!) });
      await eventually('a second resubscribe', () => resubscribes().length === 2);
      await eventually('its snapshot', () => snapshots() === snapshotsBefore + 1);
      expect(client.get('recent_trades')?.version).toBe(current.version + 1);
      expect(seen).toHaveLength(seenBefore);
    },
  );

  it('happy: a patch to a version already held is ignored, without asking again', async () => {
    peer.publish('recent_trades', trades(3));
    const { client, seen } = connect({ sections: ['recent_trades'] });
    const errors: string[] = [];
    client.onError((error) => errors.push(error.code));
    await eventually('v1', () => client.get('recent_trades'));
    const held = client.get('recent_trades')!;
    peer.push({
      type: 'patch',
      section: 'recent_trades',
      epoch: held.epoch,
      version: held.version,
      base_version: 0,
      computed_at: new Date().toISOString(),
      keep: [0, 0],
      prepend: [],
      append: [{ trade_id: 1, symbol: 'XRPUSDT', profit_loss: 0 }],
    });
    peer.publish('recent_trades', trades(4));
    await eventually('v2', () => client.get('recent_trades')?.version === 2);
    expect(client.get('recent_trades')?.data).toEqual(trades(4));
    expect(seen.map((s) => s.version)).toEqual([1, 2]);
    expect(resubscribes()).toEqual([]);
    expect(errors).toEqual([]);
  });

  it('error: malformed patch frames are reported, never thrown, and leave what is held alone', async () => {
    peer.publish('recent_trades', trades(3));
    const { client, seen, states } = connect({ sections: ['recent_trades'] });
    const errors: string[] = [];
    client.onError((error) => errors.push(error.code));
    await eventually('v1', () => client.get('recent_trades'));
    const held = client.get('recent_trades')!;
    const good = {
      type: 'patch',
      section: 'recent_trades',
      epoch: held.epoch,
      version: 2,
      base_version: 1,
      computed_at: new Date().toISOString(),
      keep: [0, 3],
      prepend: [],
      append: [],
    };
    const malformed: unknown[] = [
      { type: 'patch' },
      { ...good, section: 'nope' },
      { ...good, version: '2' },
      { ...good, base_version: -1 },
      { ...good, keep: '0,3' },
      { ...good, keep: [0] },
      { ...good, keep: [0, '3'] },
      { ...good, prepend: null },
      { ...good, append: { 0: 1 } },
      'null',
      '"patch"',
      '[1,2]',
    ];
    for (const frame of malformed) peer.push(frame);
    // Well-formed but for a section not subscribed to, or of an unknown type: ignored.
    peer.push({ ...good, section: 'overview' });
    peer.push({ type: 'ping-me-not' });
    await eventually('every frame reported', () => errors.length >= malformed.length);
    // Give a stray exception or a late answer the time to show.
    await new Promise((resolve) => setTimeout(resolve, 100));

    expect(errors).toEqual(Array(malformed.length).fill('invalid_frame'));
    expect(client.get('recent_trades')).toEqual(held);
    expect(seen).toHaveLength(1);
    expect(states).toEqual(['live']);
    // The frames naming recent_trades say a version was missed: it is asked for again, once.
    expect(resubscribes()).toEqual([
      { type: 'subscribe', sections: ['recent_trades'], limit: 5, patches: true, fields: true, batches: true },
    ]);

    peer.publish('recent_trades', trades(4));
    await eventually('v2', () => client.get('recent_trades')?.version === 2);
    expect(client.get('recent_trades')?.data).toEqual(trades(4));
  });
});

describe('rate_limited (SPEC §13)', () => {
  it('backs off when told rate_limited: silent for at least a second, then asks again for what was dropped', async () => {
    peer.publish('lite', lite(1));
    peer.rateLimit(1);
    const { client, states } = connect({ sections: ['lite'], timeoutMs: 500 });
    const errors: string[] = [];
    client.onError((error) => errors.push(error.code));
    await eventually('the dropped subscribe', () => subscribes().length === 1);
    const droppedAt = Date.now();
    await eventually('live', () => client.state === 'live', 5000);
    // Nothing in between: the SDK waited, without reconnecting (the notice shows the socket lives).
    expect(Date.now() - droppedAt).toBeGreaterThanOrEqual(950);
    expect(peer.received.map((m) => m.type)).toEqual(['subscribe', 'subscribe']);
    expect(states).toEqual(['live']);
    expect(errors).toEqual(['rate_limited']);
    expect(client.get('lite')?.data).toEqual(lite(1));
  });

  it('a resync needed while backing off goes out once, after the pause, for every section waiting', async () => {
    peer.publish('lite', lite(1));
    peer.publish('recent_trades', trades(3));
    const { client } = connect({ heartbeatMs: 60_000 });
    await eventually('live', () => client.state === 'live' && client.get('recent_trades'));
    // Told rate_limited; then a patch on a base the client does not hold needs a resync.
    peer.received.length = 0;
    peer.push({ type: 'error', code: 'rate_limited', message: 'slow down' });
    const held = client.get('recent_trades')!;
    peer.push({
      type: 'patch',
      section: 'recent_trades',
      epoch: held.epoch,
      version: held.version + 2,
      base_version: held.version + 1,
      computed_at: new Date().toISOString(),
      keep: [0, 3],
      prepend: [],
      append: [],
    });
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(subscribes()).toEqual([]);
    await eventually('the resync after the pause', () => subscribes().length === 1, 5000);
    expect(subscribes()[0]).toMatchObject({ sections: ['recent_trades'] });
    expect(subscribes()[0]).not.toHaveProperty('versions');
  });
});

describe('lifecycle and errors', () => {
  it('close() stops the socket, timers and events', async () => {
    peer.publish('lite', lite(1));
    const { client, seen } = connect({ sections: ['lite'] });
    await eventually('live', () => client.state === 'live');
    client.close();
    expect(client.state).toBe('closed');
    peer.publish('lite', lite(2));
    await eventually('server saw the close', () => peer.connections() === 0);
    expect(seen).toHaveLength(1);
  });

  it('rejects options that could only be a programming error', () => {
    const base = { baseUrl: peer.url, WebSocket };
    expect(() => createDashboardClient({ ...base, sections: [] })).toThrow(/at least one/);
    expect(() => createDashboardClient({ ...base, sections: ['nope' as SectionName] })).toThrow(/unknown section/);
    expect(() => createDashboardClient({ ...base, sections: ['lite'], limit: 0 })).toThrow(/limit/);
    expect(() => createDashboardClient({ ...base, sections: ['lite'], limit: 101 })).toThrow(/limit/);
  });
});

describe('fullJitter', () => {
  it('draws uniformly below an exponentially growing, capped window', () => {
    expect(fullJitter(0, 100, 1000, () => 0)).toBe(0);
    expect(fullJitter(0, 100, 1000, () => 0.999)).toBe(99);
    expect(fullJitter(3, 100, 1000, () => 0.999)).toBe(799);
    expect(fullJitter(4, 100, 1000, () => 0.999)).toBe(999);
    expect(fullJitter(500, 100, 1000, () => 0.5)).toBe(500);
  });
});

describe('happy: change sets', () => {
  it('asks for batches, holds a whole set before any listener runs, and reports it as one update', async () => {
    peer.publish('lite', lite(10));
    peer.publish('recent_trades', trades(3));
    const { client, seen } = connect();
    await eventually('both sections', () => client.get('lite') && client.get('recent_trades'));
    expect(subscribes()[0]).toMatchObject({ batches: true });

    const updates: Array<{ change: string | undefined; sections: string[] }> = [];
    client.onUpdate((u) => updates.push({ change: u.change, sections: u.snapshots.map((s) => s.section) }));
    // What a listener of one section reads of the other: the set's state, never the one before.
    const liteSeenByTrades: number[] = [];
    client.on('recent_trades', () => liteSeenByTrades.push(client.get('lite')?.data.total_pnl ?? -1));
    liteSeenByTrades.length = 0;
    const before = seen.length;
    // The peer's state moves without pushing; the set goes out as the server would send it.
    const frame = (section: SectionName, data: unknown) => {
      const held = peer.publish(section, data, { push: false });
      return {
        type: 'snapshot',
        section,
        epoch: held.epoch,
        version: held.version,
        computed_at: held.computed_at,
        data,
      };
    };
    peer.push({ type: 'batch', change: '17', items: [frame('recent_trades', trades(4)), frame('lite', lite(11))] });
    await eventually('the set', () => client.get('lite')?.version === 2);
    expect(liteSeenByTrades).toEqual([11]);
    expect(updates).toEqual([{ change: '17', sections: ['recent_trades', 'lite'] }]);
    expect(seen.slice(before).map((s) => `${s.section}@${s.version}`)).toEqual(['recent_trades@2', 'lite@2']);

    // A section that comes on its own is an update of its own, without a change id.
    peer.publish('lite', lite(12));
    await eventually('lite 3', () => client.get('lite')?.version === 3);
    expect(updates.at(-1)).toEqual({ change: undefined, sections: ['lite'] });
  });
});

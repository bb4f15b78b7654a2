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

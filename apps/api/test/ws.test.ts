import { request } from 'node:http';
import { useTestEnv } from '@snapboard/devenv/testing';
import { MAX_FRAME_BYTES, SECTION_NAMES, type SnapshotMessage } from '@snapboard/shared';
import { describe, expect, it } from 'vitest';
import {
  eventually,
  type Instance,
  nextComputedAt,
  snapshot,
  snapshotsOf,
  startInstance,
  TestClient,
  useWsServer,
} from './ws-harness.ts';

const env = useTestEnv({ database: false });

const api = useWsServer(env);
const { connect, ready, waitForVersion } = api;

describe('protocol', () => {
  it('happy: welcome names every section and the server time', async () => {
    const client = await connect();
    const welcome = await client.next();
    expect(welcome).toMatchObject({ type: 'welcome', sections: [...SECTION_NAMES] });
    expect(welcome.type === 'welcome' && Math.abs(Date.parse(welcome.server_time) - Date.now())).toBeLessThan(60_000);
  });

  it('happy: subscribe answers subscribed, then the current snapshot of each named section that has one', async () => {
    await api.publisher.publish(snapshot('overview', 3));
    await api.publisher.publish(snapshot('open_positions', 1, { size: 30 }));
    await api.publisher.publish(snapshot('pnl_history', 2));
    await waitForVersion('pnl_history', 2);

    const client = await ready();
    client.send({ type: 'subscribe', sections: ['overview', 'open_positions', 'lite', 'pnl_history'] });
    const [subscribed, ...rest] = await client.drain();
    expect(subscribed).toEqual({
      type: 'subscribed',
      sections: ['overview', 'open_positions', 'lite', 'pnl_history'],
    });
    // lite has no snapshot yet: nothing for it until one is published.
    expect(snapshotsOf(rest)).toEqual([
      { section: 'overview', epoch: 'epoch-a', version: 3 },
      { section: 'open_positions', epoch: 'epoch-a', version: 1 },
      { section: 'pnl_history', epoch: 'epoch-a', version: 2 },
    ]);
    const positions = rest[1] as SnapshotMessage<'open_positions'>;
    expect(positions.data).toHaveLength(20); // the default limit
    expect(positions.data.map((p) => p.trade_id)).toEqual(
      snapshot('open_positions', 1, { size: 30 })
        .data.slice(0, 20)
        .map((p) => p.trade_id),
    );
    expect((rest[2] as SnapshotMessage<'pnl_history'>).data).toHaveLength(720); // not a limited section
    const stored = api.instance.replica.get('overview')!.snapshot;
    expect(rest[0]).toEqual({
      type: 'snapshot',
      section: 'overview',
      epoch: stored.epoch,
      version: 3,
      computed_at: stored.computed_at,
      data: stored.data,
    });

    await api.publisher.publish(snapshot('lite', 1));
    const [lite] = await client.until((m) => m.type === 'snapshot');
    expect(lite).toMatchObject({ type: 'snapshot', section: 'lite', version: 1, data: { total_pnl: 1 } });
  });

  it('happy: every version change reaches the subscribers of that section only, cut to each one’s limit', async () => {
    const five = await ready();
    const fifty = await ready();
    const other = await ready();
    five.send({ type: 'subscribe', sections: ['open_positions', 'recent_trades'], limit: 5 });
    fifty.send({ type: 'subscribe', sections: ['open_positions'], limit: 50 });
    other.send({ type: 'subscribe', sections: ['overview'] });
    for (const c of [five, fifty, other])
      expect(await c.drain()).toEqual([expect.objectContaining({ type: 'subscribed' })]);

    await api.publisher.publish(snapshot('open_positions', 1, { size: 80 }));
    await api.publisher.publish(snapshot('recent_trades', 1, { size: 80 }));
    await api.publisher.publish(snapshot('overview', 1));

    const [p5, r5] = (await five.until(
      (m) => m.type === 'snapshot' && m.section === 'recent_trades',
    )) as SnapshotMessage[];
    expect(p5).toMatchObject({ section: 'open_positions', version: 1 });
    expect((p5 as SnapshotMessage<'open_positions'>).data).toHaveLength(5);
    expect((r5 as SnapshotMessage<'recent_trades'>).data).toHaveLength(5);
    const [p50] = (await fifty.until((m) => m.type === 'snapshot')) as SnapshotMessage<'open_positions'>[];
    expect(p50?.data).toHaveLength(50);
    expect(snapshotsOf(await other.until((m) => m.type === 'snapshot'))).toEqual([
      { section: 'overview', epoch: 'epoch-a', version: 1 },
    ]);
    // Nobody got a section they did not ask for.
    expect(snapshotsOf(await fifty.drain())).toEqual([]);
    expect(snapshotsOf(await other.drain())).toEqual([]);
  });

  it('happy: a change is serialized once per distinct limit, however many sockets receive it', async () => {
    const subscribers = await Promise.all(Array.from({ length: 9 }, () => ready()));
    subscribers.forEach((client, i) => {
      // Limits 5 and 10 cut a 30-item list; 50 and 100 both mean "all 30".
      client.send({ type: 'subscribe', sections: ['open_positions', 'overview'], limit: [5, 10, 50, 100][i % 4] });
    });
    for (const client of subscribers) await client.drain();
    const before = api.instance.ws.stats();
    await api.publisher.publish(snapshot('open_positions', 1, { size: 30 }));
    await api.publisher.publish(snapshot('overview', 1));
    const lengths = await Promise.all(
      subscribers.map(async (client) => {
        const [positions] = (await client.until(
          (m) => m.type === 'snapshot' && m.section === 'overview',
        )) as SnapshotMessage<'open_positions'>[];
        return positions?.data.length;
      }),
    );
    expect(lengths).toEqual([5, 10, 30, 30, 5, 10, 30, 30, 5]);
    const after = api.instance.ws.stats();
    expect(after.snapshotsSent - before.snapshotsSent).toBe(18);
    expect(after.framesSerialized - before.framesSerialized).toBe(4); // 3 cuts of the list + 1 overview
  });

  it('happy: a refresh of computed_at alone sends nothing; new subscribers still see the fresh computed_at', async () => {
    const first = snapshot('overview', 1);
    await api.publisher.publish(first);
    await waitForVersion('overview', 1);
    const client = await ready();
    client.send({ type: 'subscribe', sections: ['overview', 'lite'] });
    expect(snapshotsOf(await client.drain())).toEqual([{ section: 'overview', epoch: 'epoch-a', version: 1 }]);

    const refreshedAt = nextComputedAt();
    await api.publisher.refresh(first, refreshedAt);
    // The refresh and this change travel the same channel in order: lite arriving alone proves the
    // refresh produced no frame.
    await api.publisher.publish(snapshot('lite', 1));
    expect(snapshotsOf(await client.until((m) => m.type === 'snapshot'))).toEqual([
      { section: 'lite', epoch: 'epoch-a', version: 1 },
    ]);
    expect(api.instance.replica.get('overview')?.snapshot.computed_at).toBe(refreshedAt);

    const late = await ready();
    late.send({ type: 'subscribe', sections: ['overview'] });
    const [, overview] = await late.drain();
    expect(overview).toMatchObject({ section: 'overview', version: 1, computed_at: refreshedAt });
  });

  it('happy: re-subscribing with another limit changes the cut of later pushes', async () => {
    const client = await ready();
    client.send({ type: 'subscribe', sections: ['recent_trades'], limit: 3 });
    await client.drain();
    await api.publisher.publish(snapshot('recent_trades', 1, { size: 40 }));
    const [first] = (await client.until((m) => m.type === 'snapshot')) as SnapshotMessage<'recent_trades'>[];
    expect(first?.data).toHaveLength(3);

    client.send({
      type: 'subscribe',
      sections: ['recent_trades'],
      limit: 30,
      versions: { recent_trades: { epoch: 'epoch-a', version: 1 } },
    });
    expect(snapshotsOf(await client.drain())).toEqual([]); // it holds version 1 already
    await api.publisher.publish(snapshot('recent_trades', 2, { size: 40 }));
    const [second] = (await client.until((m) => m.type === 'snapshot')) as SnapshotMessage<'recent_trades'>[];
    expect(second).toMatchObject({ version: 2 });
    expect(second?.data).toHaveLength(30);

    // Without versions the current snapshot comes again, in the new cut.
    client.send({ type: 'subscribe', sections: ['recent_trades'], limit: 100 });
    const [, again] = (await client.drain()) as SnapshotMessage<'recent_trades'>[];
    expect(again).toMatchObject({ version: 2 });
    expect(again?.data).toHaveLength(40);
  });

  it('happy: unsubscribe stops the pushes of the named sections and keeps the others', async () => {
    const client = await ready();
    client.send({ type: 'subscribe', sections: ['overview', 'lite'] });
    await client.drain();
    client.send({ type: 'unsubscribe', sections: ['overview', 'top_performers'] });
    expect(await client.drain()).toEqual([{ type: 'unsubscribed', sections: ['overview', 'top_performers'] }]);
    expect(api.instance.ws.stats().subscriptions).toMatchObject({ overview: 0, lite: 1 });

    await api.publisher.publish(snapshot('overview', 1));
    await api.publisher.publish(snapshot('lite', 1));
    expect(snapshotsOf(await client.until((m) => m.type === 'snapshot'))).toEqual([
      { section: 'lite', epoch: 'epoch-a', version: 1 },
    ]);
  });

  it('happy: ping is answered by pong with the same id', async () => {
    const client = await ready();
    for (const id of [7, 'abc', { nested: [1, 2] }, null]) {
      client.send({ type: 'ping', id });
      expect(await client.next()).toEqual({ type: 'pong', id });
    }
    client.send({ type: 'ping' });
    expect(await client.next()).toEqual({ type: 'pong', id: null });
  });
});

describe('resume and ordering', () => {
  it('happy: after a reconnect only sections whose version or epoch moved are sent again', async () => {
    for (const section of ['overview', 'lite', 'trading_stats'] as const)
      await api.publisher.publish(snapshot(section, 4));
    await waitForVersion('trading_stats', 4);
    const first = await ready();
    first.send({ type: 'subscribe', sections: ['overview', 'lite', 'trading_stats'] });
    const held = snapshotsOf(await first.drain());
    expect(held).toHaveLength(3);
    first.close();
    await first.closed;

    await api.publisher.publish(snapshot('lite', 5));
    await api.publisher.publish(snapshot('trading_stats', 4, { epoch: 'epoch-b' })); // Redis lost its data
    await waitForVersion('lite', 5);
    await api.instance.replica.waitFor(
      () => api.instance.replica.get('trading_stats')?.snapshot.epoch === 'epoch-b',
      5000,
    );

    const second = await ready();
    const versions = Object.fromEntries(held.map(({ section, epoch, version }) => [section, { epoch, version }]));
    second.send({ type: 'subscribe', sections: ['overview', 'lite', 'trading_stats'], versions });
    expect(snapshotsOf(await second.drain())).toEqual([
      { section: 'lite', epoch: 'epoch-a', version: 5 },
      { section: 'trading_stats', epoch: 'epoch-b', version: 4 },
    ]);
    // Still subscribed to the section that was not resent.
    await api.publisher.publish(snapshot('overview', 5));
    expect(snapshotsOf(await second.until((m) => m.type === 'snapshot'))).toEqual([
      { section: 'overview', epoch: 'epoch-a', version: 5 },
    ]);
  });

  it('security: a client holding a newer version than this instance is never sent an older one', async () => {
    await api.publisher.publish(snapshot('overview', 3));
    await waitForVersion('overview', 3);
    const client = await ready();
    // E.g. it saw version 5 on another instance that is ahead of this one.
    client.send({
      type: 'subscribe',
      sections: ['overview'],
      versions: { overview: { epoch: 'epoch-a', version: 5 } },
    });
    expect(snapshotsOf(await client.drain())).toEqual([]);
    await api.publisher.publish(snapshot('overview', 4));
    await api.publisher.publish(snapshot('overview', 6));
    expect(snapshotsOf(await client.until((m) => m.type === 'snapshot'))).toEqual([
      { section: 'overview', epoch: 'epoch-a', version: 6 },
    ]);
  });

  it('happy: a burst of versions arrives complete and in order', async () => {
    const client = await ready();
    client.send({ type: 'subscribe', sections: ['lite', 'overview'] });
    await client.drain();
    for (let v = 1; v <= 40; v++) {
      await api.publisher.publish(snapshot('lite', v));
      if (v % 4 === 0) await api.publisher.publish(snapshot('overview', v / 4));
    }
    const got = snapshotsOf(
      await client.until((m) => m.type === 'snapshot' && m.section === 'overview' && m.version === 10),
    );
    expect(got.filter((s) => s.section === 'lite').map((s) => s.version)).toEqual(
      Array.from({ length: 40 }, (_, i) => i + 1),
    );
    expect(got.filter((s) => s.section === 'overview').map((s) => s.version)).toEqual(
      Array.from({ length: 10 }, (_, i) => i + 1),
    );
  });
});

describe('hostile clients', () => {
  it.each([
    ['not json', 'invalid_json'],
    ['[1,2]', 'invalid_message'],
    ['{"sections":["overview"]}', 'invalid_message'],
    [{ type: 'hello' }, 'unknown_type'],
    [{ type: 42 }, 'invalid_message'],
    [{ type: 'subscribe' }, 'invalid_message'],
    [{ type: 'subscribe', sections: [] }, 'invalid_message'],
    [{ type: 'subscribe', sections: 'overview' }, 'invalid_message'],
    [{ type: 'subscribe', sections: ['overview', 'nope'] }, 'unknown_section'],
    [{ type: 'unsubscribe', sections: ['x'.repeat(5000)] }, 'unknown_section'],
    [{ type: 'subscribe', sections: ['overview'], limit: 0 }, 'invalid_limit'],
    [{ type: 'subscribe', sections: ['overview'], limit: 101 }, 'invalid_limit'],
    [{ type: 'subscribe', sections: ['overview'], limit: 2.5 }, 'invalid_limit'],
    [{ type: 'subscribe', sections: ['overview'], limit: '20' }, 'invalid_limit'],
    [{ type: 'subscribe', sections: ['overview'], versions: { overview: { epoch: 'e' } } }, 'invalid_message'],
  ])('error: %j → an error frame with code %s, and the connection stays', async (frame, code) => {
    await api.publisher.publish(snapshot('overview', 1));
    await waitForVersion('overview', 1);
    const client = await ready();
    client.send(frame);
    const [error, ...rest] = await client.drain();
    expect(error).toMatchObject({ type: 'error', code });
    expect(error?.type === 'error' && error.message.length).toBeLessThan(200);
    expect(rest).toEqual([]);
    // A rejected subscribe subscribed to nothing.
    expect(api.instance.ws.stats().subscriptions.overview).toBe(0);
    client.send({ type: 'subscribe', sections: ['overview'] });
    expect(snapshotsOf(await client.drain())).toEqual([{ section: 'overview', epoch: 'epoch-a', version: 1 }]);
  });

  it('error: a binary frame is refused with an error frame', async () => {
    const client = await ready();
    client.ws.send(Buffer.from('{"type":"ping"}'), { binary: true });
    expect(await client.drain()).toEqual([expect.objectContaining({ type: 'error', code: 'invalid_message' })]);
  });

  it('security: a frame over 64 KiB closes the connection with 1009', async () => {
    const client = await ready();
    client.send({ type: 'ping', id: 'x'.repeat(MAX_FRAME_BYTES) });
    expect((await client.closed).code).toBe(1009);
    // A frame just under the bound is fine.
    const other = await ready();
    const id = 'y'.repeat(MAX_FRAME_BYTES - 100);
    other.send({ type: 'ping', id });
    expect(await other.next()).toEqual({ type: 'pong', id });
  });

  it('security: a client that floods bad frames is closed with 1008', async () => {
    const client = await ready();
    for (let i = 0; i < 25; i++) client.send('nope');
    expect((await client.closed).code).toBe(1008);
    const errors = client.messages.filter((m) => m.type === 'error');
    expect(errors).toHaveLength(21);
    expect(api.instance.ws.stats().disconnects.error_flood).toBe(1);
  });

  it('security: upgrades anywhere but /ws are refused with 404', async () => {
    const status = await upgradeStatus(api.instance.port, '/api/ws');
    expect(status).toBe(404);
    expect(await upgradeStatus(api.instance.port, '/ws/?x=1')).toBe(101);
  });

  it('security: foreign origins are refused; same-origin, listed and origin-less clients are let in', async () => {
    const host = `127.0.0.1:${api.instance.port}`;
    expect(await upgradeStatus(api.instance.port, '/ws', { Origin: 'https://evil.example' })).toBe(403);
    expect(await upgradeStatus(api.instance.port, '/ws', { Origin: 'null' })).toBe(403);
    expect(await upgradeStatus(api.instance.port, '/ws', { Origin: `http://${host}` })).toBe(101);
    expect(await upgradeStatus(api.instance.port, '/ws', {})).toBe(101);

    const listed = await startInstance(env, { env: { CORS_ORIGINS: 'https://board.example' } });
    try {
      expect(await upgradeStatus(listed.port, '/ws', { Origin: 'https://board.example' })).toBe(101);
      expect(await upgradeStatus(listed.port, '/ws', { Origin: 'https://other.example' })).toBe(403);
    } finally {
      await listed.stop();
    }
  });
});

describe('limits and lifecycle', () => {
  it('security: connections beyond the per-address limit are refused with 429, and freed slots are reused', async () => {
    const limited = await startInstance(env, { env: { WS_MAX_CONNECTIONS_PER_IP: '2' } });
    try {
      // Failed handshakes give their slot back.
      for (let i = 0; i < 3; i++) {
        expect(await upgradeStatus(limited.port, '/ws', { 'Sec-WebSocket-Key': 'short' })).toBe(400);
      }
      const a = await TestClient.connect(limited.url);
      const b = await TestClient.connect(limited.url);
      await expect(TestClient.connect(limited.url)).rejects.toThrow('HTTP 429');
      a.close();
      await a.closed;
      await eventually(() => limited.ws.stats().connections === 1);
      const c = await TestClient.connect(limited.url);
      expect(limited.ws.stats()).toMatchObject({ connections: 2, rejected: { per_ip_limit: 1 } });
      b.close();
      c.close();
    } finally {
      await limited.stop();
    }
  });

  it('security: behind a trusted proxy the limit is per forwarded client; without one the header is ignored', async () => {
    const behindProxy = await startInstance(env, { env: { WS_MAX_CONNECTIONS_PER_IP: '1', TRUST_PROXY_HOPS: '1' } });
    const direct = await startInstance(env, { env: { WS_MAX_CONNECTIONS_PER_IP: '1' } });
    const open: TestClient[] = [];
    const from = (instance: Instance, forwardedFor: string) =>
      TestClient.connect(instance.url, { headers: { 'X-Forwarded-For': forwardedFor } }).then((client) => {
        open.push(client);
        return client;
      });
    try {
      await from(behindProxy, '203.0.113.1');
      await from(behindProxy, '203.0.113.2');
      // A client cannot escape its limit by prepending addresses of its own.
      await expect(from(behindProxy, '198.51.100.9, 203.0.113.1')).rejects.toThrow('HTTP 429');
      expect(behindProxy.ws.stats()).toMatchObject({ connections: 2, rejected: { per_ip_limit: 1 } });

      await from(direct, '203.0.113.1');
      await expect(from(direct, '203.0.113.2')).rejects.toThrow('HTTP 429');
    } finally {
      for (const client of open) client.close();
      await behindProxy.stop();
      await direct.stop();
    }
  });

  it('security: connections beyond the process limit are refused with 503', async () => {
    const limited = await startInstance(env, { env: { WS_MAX_CONNECTIONS: '1' } });
    try {
      const a = await TestClient.connect(limited.url);
      await expect(TestClient.connect(limited.url)).rejects.toThrow('HTTP 503');
      a.close();
    } finally {
      await limited.stop();
    }
  });

  it('happy: a peer that stops answering pings is dropped; a live one is kept', async () => {
    const beating = await startInstance(env, { limits: { heartbeatMs: 50 } });
    try {
      const dead = await TestClient.connect(beating.url, { autoPong: false });
      const live = await TestClient.connect(beating.url);
      expect((await dead.closed).code).toBe(1006);
      await eventually(() => beating.ws.stats().connections === 1);
      expect(live.ws.readyState).toBe(live.ws.OPEN);
      expect(beating.ws.stats().disconnects.dead_peer).toBe(1);
      live.close();
    } finally {
      await beating.stop();
    }
  });

  it('happy: close() says 1001 to every client after what it was sent, and refuses new upgrades', async () => {
    const client = await ready();
    client.send({ type: 'subscribe', sections: ['lite'] });
    await client.drain();
    await api.publisher.publish(snapshot('lite', 1, { size: 1 }));
    await waitForVersion('lite', 1);
    const closing = api.instance.ws.close();
    expect(await upgradeStatus(api.instance.port, '/ws')).toBe(503);
    await closing;
    expect((await client.closed).code).toBe(1001);
    expect(snapshotsOf(client.messages)).toEqual([{ section: 'lite', epoch: 'epoch-a', version: 1 }]);
    expect(api.instance.ws.stats().connections).toBe(0);
  });

  it('happy: /metrics figures are registered in the registry given', async () => {
    const client = await ready();
    client.send({ type: 'subscribe', sections: ['overview', 'lite'] });
    client.send('bad');
    await client.drain();
    const text = await api.instance.registry.metrics();
    expect(text).toContain('snapboard_ws_connections 1');
    expect(text).toContain('snapboard_ws_subscriptions{section="lite"} 1');
    expect(text).toContain('snapboard_ws_errors_sent_total{code="invalid_json"} 1');
    expect(text).toMatch(/snapboard_ws_messages_sent_total\{type="welcome"\} 1/);
    expect(text).toContain('snapboard_ws_slow_reader_skips_total 0');
  });
});

/** The status line an upgrade request gets (101 when accepted). */
function upgradeStatus(port: number, path: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({
      host: '127.0.0.1',
      port,
      path,
      headers: {
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
        ...headers,
      },
    });
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve(res.statusCode ?? 0);
    });
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

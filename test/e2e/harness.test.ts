import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { useE2E } from './support/fixture.ts';
import { WsClient } from './support/ws-client.ts';

/** The fault injectors themselves: if these lie, every scenario built on them proves nothing. */
describe('e2e harness', () => {
  const e2e = useE2E();

  async function tryQuery(url: string): Promise<string> {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1500 });
    client.on('error', () => {});
    try {
      await client.connect();
      const { rows } = await client.query<{ ok: number }>('SELECT 1 AS ok');
      return `ok ${rows[0]?.ok}`;
    } catch (error) {
      return `failed: ${(error as Error).message}`;
    } finally {
      await client.end().catch(() => {});
    }
  }

  it('the PostgreSQL proxy forwards, cuts (reset and blackhole) and restores', async () => {
    const proxy = await e2e.postgresProxy();
    const url = proxy.rewrite(e2e.env.databaseUrl);
    expect(await tryQuery(url)).toBe('ok 1');

    const held = new pg.Client({ connectionString: url });
    held.on('error', () => {});
    await held.connect();
    proxy.cut('reset');
    await expect(held.query('SELECT 1')).rejects.toThrow();
    await held.end().catch(() => {});
    expect(await tryQuery(url)).toMatch(/^failed/);

    proxy.cut('blackhole');
    expect(await tryQuery(url)).toMatch(/^failed: .*timeout/i);

    proxy.restore();
    expect(await tryQuery(url)).toBe('ok 1');
  });

  it('a private Redis loses its data on restart and answers again on the same port', async () => {
    const redis = await e2e.privateRedis();
    const reader = e2e.reader(redis.url);
    await reader.redis.set('probe', '1');
    await redis.restart();
    await expect.poll(() => reader.redis.get('probe').catch(() => 'unreachable'), { timeout: 5000 }).toBeNull();
  });

  it('the WebSocket client records frames, waits for one, and reports the close code', async () => {
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    e2e.defer(() => new Promise((done) => server.close(done)));
    await new Promise((done) => server.once('listening', done));
    server.on('connection', (socket) => {
      socket.send(JSON.stringify({ type: 'welcome' }));
      socket.on('message', (data) => {
        if (data.toString() === 'bye') socket.close(1001, 'going away');
        else socket.send(data.toString());
      });
    });
    const { port } = server.address() as { port: number };
    const client = await WsClient.connect(`ws://127.0.0.1:${port}`);
    await client.waitFor('welcome', (m) => m.type === 'welcome');
    client.send({ type: 'echo', n: 1 });
    client.send('not json');
    expect((await client.waitFor('echo', (m) => m.type === 'echo')).n).toBe(1);
    await expect.poll(() => client.garbage).toEqual(['not json']);
    client.send('bye');
    expect((await client.closed).code).toBe(1001);
    await expect(client.waitFor('anything after close', () => true, { from: 99 })).rejects.toThrow(/closed/);
  });
});

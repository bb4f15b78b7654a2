import { createConnection, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy the test can cut and restore, put between a process and PostgreSQL so the database
 * becomes unreachable for that process alone while the shared server keeps running.
 *
 * - `cut('reset')`: every open connection is reset and new ones are reset at once (a crashed or
 *   restarting server, a firewall sending RST).
 * - `cut('blackhole')`: open connections are reset, new ones are accepted and then hear nothing
 *   (a dead host or a partition: the client must time out on its own).
 */
export type CutMode = 'reset' | 'blackhole';

export interface TcpProxy {
  port: number;
  /** Connections accepted since start, forwarded or not. */
  readonly accepted: number;
  /** Connections currently forwarded to the target. */
  readonly open: number;
  readonly isCut: boolean;
  cut(mode?: CutMode): void;
  restore(): void;
  /**
   * Stop forwarding on every connection open now, without closing it, and leave it so: the peer
   * is gone without a word (a host that died, a failover to a new address). New connections are
   * forwarded normally.
   */
  freezeOpenConnections(): number;
  close(): Promise<void>;
  /** `url` with its host and port replaced by the proxy's. */
  rewrite(url: string): string;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const pairs = new Set<{ client: Socket; upstream: Socket }>();
  const held = new Set<Socket>();
  const frozen = new Set<Socket>();
  let mode: CutMode | undefined;
  let accepted = 0;

  const server: Server = createServer((client) => {
    accepted++;
    client.on('error', () => {});
    if (mode === 'reset') {
      client.resetAndDestroy();
      return;
    }
    if (mode === 'blackhole') {
      held.add(client);
      client.once('close', () => held.delete(client));
      client.resume();
      return;
    }
    const upstream = createConnection(target);
    upstream.on('error', () => {});
    const pair = { client, upstream };
    pairs.add(pair);
    const drop = () => {
      pairs.delete(pair);
      if (!client.destroyed) client.destroy();
      if (!upstream.destroyed) upstream.destroy();
    };
    client.once('close', drop);
    upstream.once('close', drop);
    client.pipe(upstream);
    upstream.pipe(client);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('proxy has no port');

  const resetAll = () => {
    for (const { client, upstream } of pairs) {
      client.resetAndDestroy();
      upstream.destroy();
    }
    pairs.clear();
  };

  return {
    port: address.port,
    get accepted() {
      return accepted;
    },
    get open() {
      return pairs.size;
    },
    get isCut() {
      return mode !== undefined;
    },
    cut(newMode = 'reset') {
      mode = newMode;
      resetAll();
    },
    freezeOpenConnections() {
      for (const { client, upstream } of pairs) {
        client.unpipe(upstream);
        upstream.unpipe(client);
        // Keep reading so nothing pushes back; what is read goes nowhere.
        client.on('data', () => {});
        upstream.on('data', () => {});
        frozen.add(client).add(upstream);
      }
      const count = pairs.size;
      pairs.clear();
      return count;
    },
    restore() {
      mode = undefined;
      for (const socket of held) socket.resetAndDestroy();
      held.clear();
    },
    async close() {
      mode = 'reset';
      resetAll();
      for (const socket of held) socket.destroy();
      for (const socket of frozen) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
    rewrite(url) {
      const u = new URL(url);
      u.hostname = '127.0.0.1';
      u.port = String(address.port);
      return u.toString();
    },
  };
}

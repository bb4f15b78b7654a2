import { useTestEnv } from '@snapboard/devenv/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClosablePool } from '../src/pool.ts';

describe('closable pool', () => {
  const env = useTestEnv({ migrate: false });
  let admin: pg.Client;
  beforeAll(async () => {
    admin = new pg.Client({ connectionString: env.databaseUrl });
    await admin.connect();
  });
  afterAll(() => admin.end());

  const backends = async (name: string) =>
    (
      await admin.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1', [
        name,
      ])
    ).rows[0]?.n;

  it('happy: close() resolves only once every connection the pool opened is gone from the server', async () => {
    // pg-pool's own end() resolves before the sockets close, so one round would pass only by luck.
    for (let round = 0; round < 10; round++) {
      const name = `closable-${round}`;
      const pool = createClosablePool({ connectionString: env.databaseUrl, max: 4, application_name: name });
      await Promise.all([1, 2, 3, 4].map(() => pool.query('SELECT pg_sleep(0.01)')));
      expect(await backends(name)).toBe(4);
      await pool.close();
      expect(await backends(name)).toBe(0);
    }
  });

  it('edge: a pool that never connected closes at once, and closing twice is one close', async () => {
    const pool = createClosablePool({ connectionString: env.databaseUrl });
    await Promise.all([pool.close(), pool.close()]);
    expect(pool.ended).toBe(true);
  });

  it('edge: a connection lost while idle does not keep close() waiting', async () => {
    const name = 'closable-lost';
    const pool = createClosablePool({ connectionString: env.databaseUrl, max: 2, application_name: name });
    pool.on('error', () => {});
    await Promise.all([1, 2].map(() => pool.query('SELECT 1')));
    await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [name]);
    await expect.poll(() => pool.idleCount).toBe(0);
    await pool.close();
    expect(await backends(name)).toBe(0);
  });
});

import { randomBytes } from 'node:crypto';
import { useTestEnv } from '@snapboard/devenv/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The origin's bot writes its tables with a role of its own, which has no rights on snapboard's tables;
 * the triggers snapboard adds to those tables must work for it (migration 0011, decision 0024). Roles
 * are the cluster's, not the database's: this one has a name of its own and is dropped after.
 */

const env = useTestEnv();
const role = `snapboard_test_bot_${randomBytes(4).toString('hex')}`;
let owner: pg.Client;
let bot: pg.Client;

beforeAll(async () => {
  owner = new pg.Client({ connectionString: env.databaseUrl });
  await owner.connect();
  await owner.query(`CREATE ROLE ${role} NOLOGIN`);
  // What the origin's application holds: its own tables, nothing of snapboard's.
  await owner.query(
    `GRANT SELECT, INSERT, UPDATE, DELETE ON paper_trades, signals_paperaccount, users, signals TO ${role}`,
  );
  await owner.query(`GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO ${role}`);
  bot = new pg.Client({ connectionString: env.databaseUrl });
  await bot.connect();
  await bot.query(`SET ROLE ${role}`);
});

afterAll(async () => {
  await bot?.end();
  await owner?.query(`DROP OWNED BY ${role}`);
  await owner?.query(`DROP ROLE IF EXISTS ${role}`);
  await owner?.end();
});

const changeLog = async () =>
  (await owner.query<{ tbl: string }>('SELECT tbl FROM snapboard_change_log ORDER BY xid, at')).rows.map((r) => r.tbl);
const dirtyHours = async () =>
  Number((await owner.query<{ n: string }>('SELECT count(*) AS n FROM snapboard_dirty_hours')).rows[0]?.n);

describe("the bot's writes under its own role", () => {
  it('happy: opening, closing and deleting trades and updating accounts succeed, and snapboard hears each', async () => {
    const heard: string[] = [];
    const listener = new pg.Client({ connectionString: env.databaseUrl });
    await listener.connect();
    listener.on('notification', (n) => heard.push(n.payload ?? ''));
    await listener.query('LISTEN snapboard_changes');
    try {
      const logBefore = (await changeLog()).length;
      const dirtyBefore = await dirtyHours();
      const user = (await bot.query<{ id: number }>(`INSERT INTO users (username) VALUES ('dora') RETURNING id`))
        .rows[0]?.id as number;
      await bot.query(`INSERT INTO signals_paperaccount (user_id) VALUES ($1)`, [user]);
      const trade = (
        await bot.query<{ id: number }>(
          `INSERT INTO paper_trades (user_id, symbol, direction, market_type, entry_price, entry_time, quantity, status)
           VALUES ($1, 'BTCUSDT', 'LONG', 'SPOT', 64000, now(), 0.01, 'OPEN') RETURNING id`,
          [user],
        )
      ).rows[0]?.id as number;
      await bot.query(
        `UPDATE paper_trades SET status = 'CLOSED_TP', exit_price = 65000, exit_time = now(), profit_loss = 10 WHERE id = $1`,
        [trade],
      );
      await bot.query(`UPDATE signals_paperaccount SET realized_pnl = 10 WHERE user_id = $1`, [user]);
      await bot.query(`DELETE FROM paper_trades WHERE id = $1`, [trade]);

      expect((await changeLog()).slice(logBefore)).toEqual([
        'signals_paperaccount',
        'paper_trades',
        'paper_trades',
        'signals_paperaccount',
        'paper_trades',
      ]);
      expect(await dirtyHours()).toBeGreaterThan(dirtyBefore);
      await expect.poll(() => heard.length).toBeGreaterThanOrEqual(5);
      expect(new Set(heard)).toEqual(new Set(['paper_trades', 'signals_paperaccount']));
    } finally {
      await listener.end();
    }
  });

  it("security: the triggers grant the bot nothing of snapboard's, and its search_path cannot redirect them", async () => {
    await expect(bot.query('SELECT count(*) FROM snapboard_change_log')).rejects.toThrow(/permission denied/);
    await expect(bot.query('DELETE FROM snapboard_dirty_hours')).rejects.toThrow(/permission denied/);
    // A table of the bot's own under the same name, first on its path: the trigger still writes snapboard's.
    await bot.query('CREATE TEMP TABLE snapboard_change_log (xid xid8, tbl text, at timestamptz, system boolean)');
    await bot.query('SET search_path = pg_temp, public');
    try {
      const before = (await changeLog()).length;
      await bot.query(`UPDATE signals_paperaccount SET balance = balance WHERE false`);
      await bot.query(`UPDATE signals_paperaccount SET balance = 1`);
      expect((await changeLog()).length).toBeGreaterThan(before);
      expect(
        (await bot.query<{ n: string }>('SELECT count(*) AS n FROM pg_temp.snapboard_change_log')).rows[0]?.n,
      ).toBe('0');
    } finally {
      await bot.query('RESET search_path');
    }
  });
});

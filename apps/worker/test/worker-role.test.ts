import { randomBytes } from 'node:crypto';
import { workerGrants } from '@snapboard/db';
import { useTestEnv } from '@snapboard/devenv/testing';
import { SECTION_NAMES } from '@snapboard/shared';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertFixture, trade } from './support/fixtures.ts';
import { LONG_TTLS, type RunningWorker, SnapshotReader, startWorker } from './support/harness.ts';

/**
 * The worker under a role of its own holding only workerGrants() (README, "Pointing it at the bot's
 * database"): it reads the bot's tables and writes nothing of the bot's; of snapboard's tables it
 * writes what the fold and the change log's trim need. Roles are the cluster's: this one has a name of
 * its own and is dropped after.
 */

const env = useTestEnv();
const role = `snapboard_test_worker_${randomBytes(4).toString('hex')}`;
let owner: pg.Pool;
let asRole: pg.Client;
let running: RunningWorker | undefined;

const roleUrl = () => {
  const url = new URL(env.databaseUrl);
  url.username = role;
  url.password = '';
  return url.toString();
};

beforeAll(async () => {
  owner = new pg.Pool({ connectionString: env.databaseUrl, max: 2 });
  await insertFixture(owner, {
    users: [],
    accounts: [],
    trades: [trade({ id: 1, status: 'OPEN' }), trade({ id: 2, status: 'CLOSED_TP' })],
  });
  // An entry older than the log keeps (10 minutes): the worker's first fold trims it.
  await owner.query(`INSERT INTO snapboard_change_log (tbl, at) VALUES ('paper_trades', now() - interval '1 hour')`);
  await owner.query(`CREATE ROLE ${role} LOGIN`);
  for (const statement of workerGrants(role)) await owner.query(statement);
  asRole = new pg.Client({ connectionString: roleUrl() });
  await asRole.connect();
});

afterAll(async () => {
  await running?.worker.close();
  await asRole?.end();
  await owner?.query(`DROP OWNED BY ${role}`);
  await owner?.query(`DROP ROLE IF EXISTS ${role}`);
  await owner?.end();
});

describe('the worker under a role with only its grants', () => {
  it('happy: it publishes every section, hears and publishes a change, folds the rollups and trims the log', async () => {
    const prefix = `${env.keyPrefix}:role`;
    running = startWorker(
      { ...env.config({ ...LONG_TTLS, KEY_PREFIX: prefix }), databaseUrl: roleUrl() },
      { debounce: { waitMs: 5, maxWaitMs: 20 } },
    );
    const reader = new SnapshotReader(env, prefix);
    try {
      await running.worker.start();
      // Every section's read works under the role.
      await expect
        .poll(async () => (await Promise.all(SECTION_NAMES.map((s) => reader.get(s)))).every(Boolean), {
          timeout: 15_000,
        })
        .toBe(true);

      await owner.query(
        `UPDATE paper_trades SET status = 'CLOSED_SL', exit_price = 90, exit_time = now() WHERE id = 1`,
      );
      await expect
        .poll(async () => (await reader.data('open_positions'))?.length, { timeout: 10_000, interval: 50 })
        .toBe(0);
      // The fold runs after a set publishes: the hours the close marked are folded into the rollups.
      await expect
        .poll(async () => Number((await owner.query('SELECT count(*) AS n FROM snapboard_dirty_hours')).rows[0]?.n), {
          timeout: 10_000,
          interval: 50,
        })
        .toBe(0);
      const failures = running.logs.filter((l) => Number(l.level) >= 50 || /permission denied/.test(JSON.stringify(l)));
      expect(failures).toEqual([]);
      // The trim ran with the first fold: nothing older than the log keeps is left.
      const old = await owner.query(`SELECT 1 FROM snapboard_change_log WHERE at < now() - interval '30 minutes'`);
      expect(old.rowCount).toBe(0);
    } finally {
      await reader.close();
    }
  });

  it("security: the role cannot write the bot's tables, nor drop or change snapboard's", async () => {
    await expect(asRole.query(`UPDATE paper_trades SET profit_loss = 0 WHERE id = 2`)).rejects.toThrow(
      /permission denied/,
    );
    await expect(asRole.query(`INSERT INTO users (username) VALUES ('mallory')`)).rejects.toThrow(/permission denied/);
    await expect(asRole.query(`DELETE FROM signals_paperaccount`)).rejects.toThrow(/permission denied/);
    await expect(asRole.query(`DROP TABLE snapboard_change_log`)).rejects.toThrow(/must be owner/);
    await expect(asRole.query(`INSERT INTO snapboard_change_log (tbl) VALUES ('paper_trades')`)).rejects.toThrow(
      /permission denied/,
    );
  });
});

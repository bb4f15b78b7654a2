import { randomBytes } from 'node:crypto';
import { useTestEnv } from '@snapboard/devenv/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './run-cli.ts';

/**
 * `npm run db:grant-worker -- --role NAME` (the worker's grants, packages/db/src/grants.ts; what they
 * let the worker do is apps/worker/test/worker-role.test.ts). Roles are the cluster's: this one has a
 * name of its own and is dropped after.
 */

const env = useTestEnv();
const role = `snapboard_test_grant_${randomBytes(4).toString('hex')}`;
let owner: pg.Client;

const grant = (args: string[]) => runCli('grant-worker', args, { DATABASE_URL: env.databaseUrl });

const can = async (privilege: string, table: string) =>
  (await owner.query<{ ok: boolean }>('SELECT has_table_privilege($1, $2, $3) AS ok', [role, table, privilege])).rows[0]
    ?.ok;

beforeAll(async () => {
  owner = new pg.Client({ connectionString: env.databaseUrl });
  await owner.connect();
});

afterAll(async () => {
  await owner?.query(`DROP OWNED BY ${role}`).catch(() => {});
  await owner?.query(`DROP ROLE IF EXISTS ${role}`);
  await owner?.end();
});

describe('db:grant-worker', () => {
  it('error: a missing or malformed --role exits 2 with the reason and the usage, before connecting', async () => {
    for (const args of [[], ['--role'], ['--role', 'Robert"); DROP TABLE users;--'], ['--role', 'ok', 'extra']]) {
      const result = await grant(args);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr).toMatch(/^db:grant-worker: .+\nusage: npm run db:grant-worker/);
    }
  });

  it('error: a role the server does not know exits 1 and grants nothing', async () => {
    const result = await grant(['--role', `${role}_absent`]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/db:grant-worker failed: .*does not exist/);
  });

  it("happy: the role can read the bot's tables and fold the rollups, and write nothing of the bot's", async () => {
    await owner.query(`CREATE ROLE ${role}`);
    const result = await grant(['--role', role]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(`${role} can run the worker`);
    for (const table of ['paper_trades', 'signals_paperaccount', 'users', 'signals', 'snapboard_closed_hours']) {
      expect(await can('SELECT', table), table).toBe(true);
    }
    expect(await can('INSERT', 'snapboard_closed_hours')).toBe(true);
    expect(await can('DELETE', 'snapboard_change_log')).toBe(true);
    for (const privilege of ['INSERT', 'UPDATE', 'DELETE']) {
      for (const table of ['paper_trades', 'signals_paperaccount', 'users', 'signals']) {
        expect(await can(privilege, table), `${privilege} ${table}`).toBe(false);
      }
    }
    expect(await can('INSERT', 'snapboard_change_log')).toBe(false);
    // Again: GRANT is idempotent, so running it twice is harmless.
    expect((await grant(['--role', role])).code).toBe(0);
  });
});

import { readFileSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { migrate } from '@snapboard/db';
import { createDatabaseIfMissing, createPostgresServer, type PostgresServer } from '@snapboard/devenv';
import pg from 'pg';
import { freePort } from './ports.ts';

/**
 * A private PostgreSQL primary and a streaming hot standby of it (SPEC §12's read replica), on
 * loopback ports, made by devenv as `npm start` makes its private server (initdb, then
 * `pg_basebackup -R`). The test controls the standby: pause and resume its replay, stop and start it.
 */

const dataDirs = new Set<string>();
// A test runner that dies must not leave postmasters behind: SIGKILL them by their pid files.
process.once('exit', () => {
  for (const dir of dataDirs) {
    try {
      const pid = Number(readFileSync(join(dir, 'postmaster.pid'), 'utf8').split('\n')[0]);
      if (pid > 0) process.kill(pid, 'SIGKILL');
    } catch {
      // Not running.
    }
  }
});

export interface PrimaryAndStandby {
  primary: PostgresServer;
  standby: PostgresServer;
  /** The migrated bot database on the primary, and the same database read on the standby. */
  primaryUrl: string;
  standbyUrl: string;
  /** pg_wal_replay_pause() / pg_wal_replay_resume() on the standby. */
  pauseReplay(): Promise<void>;
  resumeReplay(): Promise<void>;
  /** Stop both servers (immediately: nothing to keep) and delete their data. */
  stop(): Promise<void>;
}

export async function startPrimaryAndStandby(database = 'snapboard'): Promise<PrimaryAndStandby> {
  const base = await mkdtemp(join(tmpdir(), 'snapboard-e2e-replica-'));
  // The servers run as the `postgres` user when the tests run as root: it must reach its directories.
  await chmod(base, 0o755);
  const servers: PostgresServer[] = [];
  const stop = async () => {
    for (const server of servers.reverse()) await server.stop('immediate');
    for (const server of servers) dataDirs.delete(server.dir);
    await rm(base, { recursive: true, force: true });
  };
  try {
    const primary = await createPostgresServer({ dir: join(base, 'primary'), port: await freePort() });
    servers.push(primary);
    dataDirs.add(primary.dir);
    await primary.start();
    const primaryUrl = primary.url(database);
    await createDatabaseIfMissing(primaryUrl);
    await migrate(primaryUrl);
    const standby = await createPostgresServer({
      dir: join(base, 'standby'),
      port: await freePort(),
      standbyOf: primary,
    });
    servers.push(standby);
    dataDirs.add(standby.dir);
    await standby.start();
    const onStandby = async (sql: string) => {
      const client = new pg.Client({ connectionString: standby.url() });
      await client.connect();
      try {
        await client.query(sql);
      } finally {
        await client.end();
      }
    };
    return {
      primary,
      standby,
      primaryUrl,
      standbyUrl: standby.url(database),
      pauseReplay: () => onStandby('SELECT pg_wal_replay_pause()'),
      resumeReplay: () => onStandby('SELECT pg_wal_replay_resume()'),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

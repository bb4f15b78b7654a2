import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { createRedisClient } from '@snapboard/redis';
import pg from 'pg';

/**
 * Find the Redis and PostgreSQL that REDIS_URL / DATABASE_URL name, or start private ones under
 * `.data/` when the server programs are installed (SPEC §9). Used by `npm start` and by the tests.
 */

const run = promisify(execFile);

export class MissingServiceError extends Error {
  override name = 'MissingServiceError';
}

export interface Service {
  url: string;
  /** True when this process started the server and will stop it. */
  started: boolean;
  stop(): Promise<void>;
}

const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

function tcpReachable(host: string, port: number, timeoutMs = 800): Promise<boolean> {
  return new Promise((done) => {
    const socket = createConnection({ host: host.replace(/^\[|\]$/g, ''), port });
    const finish = (ok: boolean) => {
      socket.destroy();
      done(ok);
    };
    socket.setTimeout(timeoutMs, () => finish(false));
    socket.once('connect', () => finish(true));
    socket.once('error', () => finish(false));
  });
}

async function redisAnswers(host: string, port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = createConnection({ host: host.replace(/^\[|\]$/g, ''), port });
    const finish = (ok: boolean) => {
      socket.destroy();
      done(ok);
    };
    socket.setTimeout(1000, () => finish(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (chunk) => finish(/^(\+PONG|-NOAUTH)/.test(chunk.toString())));
    socket.once('error', () => finish(false));
  });
}

async function waitFor(check: () => Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} did not become ready within ${timeoutMs} ms`);
}

async function which(program: string, extraDirs: string[] = []): Promise<string | undefined> {
  for (const dir of [...(process.env.PATH ?? '').split(':'), ...extraDirs]) {
    if (dir && existsSync(join(dir, program))) return join(dir, program);
  }
  return undefined;
}

async function postgresBinDirs(): Promise<string[]> {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return [];
  const versions = (await readdir(root)).sort((a, b) => Number(b) - Number(a));
  return versions.map((v) => join(root, v, 'bin'));
}

/** Redis at `url`, or a private `redis-server` on the same port under `dataDir`. */
export async function ensureRedis(url: string, dataDir: string, log: (line: string) => void): Promise<Service> {
  const u = new URL(url);
  const host = u.hostname || '127.0.0.1';
  const port = Number(u.port || 6379);
  if (await redisAnswers(host, port)) return { url, started: false, stop: async () => {} };
  if (!LOCAL_HOSTS.has(host)) {
    throw new MissingServiceError(`Redis is not reachable at ${host}:${port}. Start it there, or set REDIS_URL.`);
  }
  if (await tcpReachable(host, port)) {
    throw new MissingServiceError(`Something listens on ${host}:${port} but does not answer as Redis. Set REDIS_URL.`);
  }
  const server = await which('redis-server');
  if (!server) {
    throw new MissingServiceError(
      `Redis is not reachable at ${host}:${port} and redis-server is not installed.\n` +
        '  Install it (Debian/Ubuntu: sudo apt-get install redis-server; macOS: brew install redis),\n' +
        '  or point REDIS_URL at a running Redis 6.2 or newer.',
    );
  }
  const dir = resolve(dataDir, 'redis');
  await mkdir(dir, { recursive: true });
  log(`starting a private Redis on ${host}:${port} (data in ${dir})`);
  const child = await spawnRedisServer({ port, dir, program: server });
  return { url, started: true, stop: () => stopChild(child) };
}

/**
 * Start `redis-server` on 127.0.0.1:`port` with no persistence and `noeviction` (as snapboard wants
 * it), and resolve once it answers PING. The one place that spawns Redis: `npm start`, the tests'
 * private servers that are crashed and restarted, all use it.
 */
export async function spawnRedisServer(options: {
  port: number;
  dir: string;
  program?: string;
  /** More arguments (cluster mode, replicaof, …), after the defaults so they may override them. */
  args?: readonly string[];
}): Promise<ChildProcess> {
  const { port, dir } = options;
  const child = spawn(
    options.program ?? 'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir].concat([
      '--maxmemory-policy',
      'noeviction',
      '--loglevel',
      'warning',
      ...(options.args ?? []),
    ]),
    { stdio: 'ignore' },
  );
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code) => reject(new Error(`redis-server on port ${port} exited (${code}) while starting`))),
  );
  exited.catch(() => {});
  await Promise.race([waitFor(() => redisAnswers('127.0.0.1', port), `redis-server on port ${port}`), exited]);
  return child;
}

/** SIGTERM (SIGKILL after 5 s) and wait for the exit. */
export function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  return new Promise((done) => {
    if (child.exitCode !== null || child.signalCode !== null) return done();
    child.once('exit', () => done());
    child.kill(signal);
    setTimeout(() => child.kill('SIGKILL'), 5000).unref();
  });
}

async function postgresAnswers(adminUrl: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 1500 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

/** The same server, database `postgres`: where CREATE DATABASE is issued. */
export function adminUrlOf(databaseUrl: string): string {
  const u = new URL(databaseUrl);
  u.pathname = '/postgres';
  return u.toString();
}

export function databaseNameOf(databaseUrl: string): string {
  const name = decodeURIComponent(new URL(databaseUrl).pathname.replace(/^\//, ''));
  if (!name) throw new Error('DATABASE_URL names no database');
  return name;
}

export function withDatabase(databaseUrl: string, name: string): string {
  const u = new URL(databaseUrl);
  u.pathname = `/${encodeURIComponent(name)}`;
  return u.toString();
}

/** PostgreSQL at `url` (its database created when missing), or a private server under `dataDir`. */
export async function ensurePostgres(url: string, dataDir: string, log: (line: string) => void): Promise<Service> {
  const u = new URL(url);
  const host = u.hostname || '127.0.0.1';
  const port = Number(u.port || 5432);
  let service: Service = { url, started: false, stop: async () => {} };
  if (!(await postgresAnswers(adminUrlOf(url)))) {
    if (!LOCAL_HOSTS.has(host) || (await tcpReachable(host, port))) {
      throw new MissingServiceError(
        `PostgreSQL is not reachable at ${host}:${port} as ${u.username || 'the current user'}. ` +
          'Check that it runs and accepts that user, or set DATABASE_URL.',
      );
    }
    service = await startPrivatePostgres(url, port, dataDir, log);
  }
  await createDatabaseIfMissing(url, log);
  return service;
}

async function startPrivatePostgres(url: string, port: number, dataDir: string, log: (line: string) => void) {
  const dir = resolve(dataDir, 'postgres');
  const fresh = !existsSync(join(dir, 'PG_VERSION'));
  if (fresh) log(`initialising a private PostgreSQL in ${dir}`);
  const server = await createPostgresServer({ dir, port, user: new URL(url).username || 'postgres' });
  if (fresh) {
    await writeFile(
      join(dataDir, 'postgres.README'),
      'A private PostgreSQL started by snapboard (npm start / npm test).\n',
    );
  }
  log(`starting a private PostgreSQL on 127.0.0.1:${port}`);
  await server.start();
  return { url, started: true, stop: () => server.stop() };
}

/** A PostgreSQL server of our own on 127.0.0.1 (its data directory made, not necessarily running). */
export interface PostgresServer {
  readonly port: number;
  readonly dir: string;
  /** `postgres://user@127.0.0.1:port/database` (default database `postgres`). */
  url(database?: string): string;
  /** Start it and resolve once it answers queries (a standby answers read-only ones). */
  start(): Promise<void>;
  /** pg_ctl stop: 'fast' (the default) disconnects clients cleanly; 'immediate' is a crash. */
  stop(mode?: 'fast' | 'immediate'): Promise<void>;
}

/**
 * A private PostgreSQL in `dir` on 127.0.0.1:`port`, trust authentication, fsync off: made with
 * initdb, or, with `standbyOf`, a streaming standby of that (running) server made with
 * `pg_basebackup -R` (SPEC §12's read replica). Its socket lives in `<dir>-socket`. The one place
 * that makes PostgreSQL servers: `npm start`, the tests' shared server and the replica tests use it.
 * PostgreSQL refuses to run as root; as root, every program runs as the `postgres` system user.
 */
export async function createPostgresServer(options: {
  dir: string;
  port: number;
  /** The superuser initdb creates (default `postgres`); a standby has its primary's. */
  user?: string;
  standbyOf?: PostgresServer;
}): Promise<PostgresServer> {
  const { dir, port } = options;
  const user = options.user ?? 'postgres';
  const programs = await postgresPrograms(port);
  const asUser = await serverUser();
  const exec = async (program: string, args: string[]) => {
    if (asUser) return run('runuser', ['-u', asUser.name, '--', program, ...args]);
    return run(program, args);
  };
  const socketDir = `${dir}-socket`;
  for (const d of [dir, socketDir]) {
    await mkdir(d, { recursive: true });
    await chmod(d, 0o700);
    if (asUser) await chown(d, asUser.uid, asUser.gid);
  }
  if (!existsSync(join(dir, 'PG_VERSION'))) {
    if (options.standbyOf) {
      const primary = new URL(options.standbyOf.url());
      // -R writes primary_conninfo and standby.signal: the copy starts as a streaming hot standby. A
      // fast checkpoint: the default spread one can take minutes of a busy primary's checkpoint_timeout.
      await exec(programs.basebackup, [
        ...['-D', dir, '-R', '-X', 'stream', '--checkpoint=fast', '--no-sync'],
        ...['-h', primary.hostname, '-p', primary.port, '-U', decodeURIComponent(primary.username)],
      ]);
    } else {
      await exec(programs.initdb, ['-D', dir, '-U', user, '--auth=trust', '--encoding=UTF8', '--no-sync']);
    }
  }
  const url = (database = 'postgres') =>
    `postgres://${encodeURIComponent(user)}@127.0.0.1:${port}/${encodeURIComponent(database)}`;
  return {
    port,
    dir,
    url,
    async start() {
      await exec(programs.pgCtl, [
        ...['-D', dir, '-l', join(dir, 'server.log'), '-w'],
        ...['-o', `-p ${port} -c listen_addresses=127.0.0.1 -k ${socketDir} -c fsync=off`, 'start'],
      ]);
      await waitFor(() => postgresAnswers(url()), `the private PostgreSQL on port ${port}`);
    },
    async stop(mode = 'fast') {
      await exec(programs.pgCtl, ['-D', dir, '-m', mode, '-w', 'stop']).catch(() => {});
    },
  };
}

async function postgresPrograms(port: number) {
  const binDirs = await postgresBinDirs();
  const [initdb, pgCtl, basebackup] = await Promise.all(
    ['initdb', 'pg_ctl', 'pg_basebackup'].map((program) => which(program, binDirs)),
  );
  if (!initdb || !pgCtl || !basebackup) {
    throw new MissingServiceError(
      `PostgreSQL is not reachable at 127.0.0.1:${port} and its server programs (initdb, pg_ctl, pg_basebackup) are not installed.\n` +
        '  Install PostgreSQL 13 or newer (Debian/Ubuntu: sudo apt-get install postgresql; macOS: brew install postgresql@16),\n' +
        '  or point DATABASE_URL at a running server.',
    );
  }
  return { initdb, pgCtl, basebackup };
}

async function serverUser(): Promise<{ name: string; uid: number; gid: number } | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const passwd = await readFile('/etc/passwd', 'utf8').catch(() => '');
  const entry = passwd.split('\n').find((line) => line.startsWith('postgres:'));
  const [, , uid, gid] = entry?.split(':') ?? [];
  if (!uid || !gid) {
    throw new MissingServiceError(
      'PostgreSQL cannot run as root and there is no `postgres` system user to run it as.\n' +
        '  Install PostgreSQL from your distribution (it creates that user), or set DATABASE_URL.',
    );
  }
  return { name: 'postgres', uid: Number(uid), gid: Number(gid) };
}

export async function createDatabaseIfMissing(url: string, log: (line: string) => void = () => {}): Promise<boolean> {
  const name = databaseNameOf(url);
  const admin = new pg.Client({ connectionString: adminUrlOf(url) });
  await admin.connect();
  try {
    const found = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (found.rowCount) return false;
    try {
      await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
    } catch (error) {
      // Another process created it between our check and our CREATE.
      if ((error as { code?: string }).code !== '42P04') throw error;
      return false;
    }
    log(`created database ${name}`);
    return true;
  } finally {
    await admin.end();
  }
}

export async function dropDatabase(url: string): Promise<void> {
  const admin = new pg.Client({ connectionString: adminUrlOf(url) });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(databaseNameOf(url))} WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}

/** Delete every key under `prefix:` (snapshots, meta, BullMQ's queue keys); returns how many. */
export async function deletePrefix(redisUrl: string, prefix: string): Promise<number> {
  const redis = createRedisClient(
    { mode: 'single', url: redisUrl },
    { name: 'snapboard-devenv', lazyConnect: true, maxRetriesPerRequest: 1 },
  );
  let deleted = 0;
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) deleted += await redis.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  return deleted;
}

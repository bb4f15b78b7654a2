import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { useTestEnv } from '@snapboard/devenv/testing';
import { describe, expect, it } from 'vitest';

/**
 * SPEC §1: nothing under apps/api imports a PostgreSQL client or opens a database connection, and the
 * API runs with no DATABASE_URL at all. Checked three ways: the sources, the static import graph
 * from main.ts through the workspace packages, and a real `npm run api` process.
 */

const env = useTestEnv({ database: false });
const here = dirname(fileURLToPath(import.meta.url));
const apiRoot = resolve(here, '..');
const repoRoot = resolve(apiRoot, '../..');

/** Database clients and anything that wraps one. */
const DB_MODULES = [
  'pg',
  'pg-pool',
  'pg-native',
  'pg-cursor',
  'pg-query-stream',
  'pg-copy-streams',
  'pg-protocol',
  'postgres',
  '@snapboard/db',
  '@neondatabase/serverless',
  'slonik',
  'knex',
  'kysely',
  'drizzle-orm',
  'typeorm',
  'sequelize',
  '@prisma/client',
  'mysql',
  'mysql2',
  'sqlite3',
  'better-sqlite3',
];
const isDbModule = (specifier: string) =>
  DB_MODULES.some((name) => specifier === name || specifier.startsWith(`${name}/`));

const IMPORT = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+|\brequire\s*\(\s*)['"]([^'"]+)['"]/g;
const specifiers = (source: string) => [...source.matchAll(IMPORT)].map((m) => m[1] as string);

async function files(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await files(path)));
    else if (/\.(m|c)?(t|j)sx?$/.test(entry.name)) out.push(path);
  }
  return out;
}

/** `@snapboard/x` (and `@snapboard/x/sub`) → the source file its package.json exports. */
async function workspaceEntry(specifier: string): Promise<string | undefined> {
  const [scope, name, ...sub] = specifier.split('/');
  for (const base of ['packages', 'apps']) {
    const dir = join(repoRoot, base, name as string);
    if (!existsSync(join(dir, 'package.json'))) continue;
    const pkg = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8'));
    if (pkg.name !== `${scope}/${name}`) continue;
    const key = sub.length ? `./${sub.join('/')}` : '.';
    const target = typeof pkg.exports === 'string' ? pkg.exports : pkg.exports?.[key];
    const path = typeof target === 'string' ? target : (target?.import ?? target?.default);
    return path ? join(dir, path) : undefined;
  }
  return undefined;
}

describe('no database in the API', () => {
  it('security: no source file under apps/api imports a database client', async () => {
    const offenders: string[] = [];
    for (const file of await files(apiRoot)) {
      for (const spec of specifiers(await readFile(file, 'utf8'))) {
        if (isDbModule(spec)) offenders.push(`${relative(repoRoot, file)} imports ${spec}`);
      }
    }
    expect(offenders).toEqual([]);
    const pkg = JSON.parse(await readFile(join(apiRoot, 'package.json'), 'utf8'));
    expect(Object.keys(pkg.dependencies ?? {}).filter(isDbModule)).toEqual([]);
  });

  it('security: the static import graph from main.ts never reaches a database client', async () => {
    const seen = new Set<string>();
    const bare = new Set<string>();
    const queue = [join(apiRoot, 'src/main.ts')];
    while (queue.length) {
      const file = queue.pop() as string;
      if (seen.has(file)) continue;
      seen.add(file);
      for (const spec of specifiers(await readFile(file, 'utf8'))) {
        if (spec.startsWith('.')) {
          const target = resolve(dirname(file), spec);
          if (existsSync(target)) queue.push(target);
        } else if (spec.startsWith('@snapboard/')) {
          bare.add(spec);
          const entry = await workspaceEntry(spec);
          if (entry && existsSync(entry)) queue.push(entry);
        } else {
          bare.add(spec);
        }
      }
    }
    // The walk is real: it reached the app, the replica and the shared contract.
    expect([...seen].map((f) => relative(repoRoot, f))).toEqual(
      expect.arrayContaining([
        'apps/api/src/app.ts',
        'apps/api/src/snapshot-replica.ts',
        'packages/shared/src/index.ts',
      ]),
    );
    expect([...bare].filter(isDbModule)).toEqual([]);
  });

  it('security: `npm run api` starts and serves with no DATABASE_URL, loading no database module', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'snapboard-nodb-'));
    const probe = join(dir, 'probe.log');
    const childEnv: Record<string, string> = {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? dir,
      REDIS_URL: env.redisUrl,
      KEY_PREFIX: env.keyPrefix,
      PORT: '0',
      LOG_LEVEL: 'info',
      SNAPBOARD_PROBE_FILE: probe,
    };
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--import', join(here, 'fixtures/probe-preload.mjs'), join(apiRoot, 'src/main.ts')],
      { cwd: repoRoot, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
    try {
      const url = await new Promise<string>((done, fail) => {
        const timer = setTimeout(() => fail(new Error(`no 'api listening' line; stderr: ${stderr}`)), 20_000);
        const check = () => {
          const line = stdout.split('\n').find((l) => l.includes('"api listening"'));
          if (line) {
            clearTimeout(timer);
            done(JSON.parse(line).url);
          }
        };
        child.stdout.on('data', check);
        child.once('exit', () => fail(new Error(`exited early; stderr: ${stderr}`)));
      });
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
      expect((await fetch(`${url}/api/public/dashboard/v2/`)).status).toBe(503);
      expect((await fetch(`${url}/readyz`)).status).toBe(503);

      // Graceful shutdown on SIGTERM: exit code 0.
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(stdout).toContain('"stopped"');

      const lines = (await readFile(probe, 'utf8')).split('\n').filter(Boolean);
      const modules = lines.filter((l) => l.startsWith('resolve ') || l.startsWith('cjs '));
      // The probe saw the process for real (ioredis and hono were loaded).
      expect(modules.some((l) => l.includes('/node_modules/ioredis/'))).toBe(true);
      expect(modules.some((l) => l.includes('/node_modules/hono/'))).toBe(true);
      const dbModule = new RegExp(
        `/node_modules/(${DB_MODULES.map((m) => m.replace(/[/.]/g, '\\$&')).join('|')})/|/packages/db/`,
      );
      expect(modules.filter((l) => dbModule.test(l))).toEqual([]);
      const redisPort = new URL(env.redisUrl).port || '6379';
      const connections = [...new Set(lines.filter((l) => l.startsWith('connect ')))];
      expect(connections.length).toBeGreaterThan(0);
      for (const line of connections) expect(line, 'only Redis is dialled').toMatch(new RegExp(`:${redisPort}$`));
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await rm(dir, { recursive: true, force: true });
    }
  }, 40_000);
});

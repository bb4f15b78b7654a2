import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { useTestEnv } from '@snapboard/devenv/testing';
import { SECTION_NAMES } from '@snapboard/shared';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { timeSections } from '../src/timings.ts';
import { startWorker } from './support/harness.ts';

const env = useTestEnv();
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const children: ReturnType<typeof spawn>[] = [];
afterAll(() => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
});

function run(script: string, args: string[], extraEnv: Record<string, string> = {}) {
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      DATABASE_URL: env.databaseUrl,
      REDIS_URL: env.redisUrl,
      KEY_PREFIX: env.keyPrefix,
      PRICE_SOURCE: 'none',
      ...extraEnv,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => {
    stdout += d;
  });
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  return { child, exited, output: () => ({ stdout, stderr }) };
}

describe('npm run recompute', () => {
  it('error: an unknown section is refused with exit code 2 and the list of known ones', async () => {
    const r = run('apps/worker/src/cli/recompute.ts', ['overview', 'nope']);
    expect(await r.exited).toBe(2);
    expect(r.output().stderr).toContain('unknown section: nope');
    expect(r.output().stderr).toContain(SECTION_NAMES.join(', '));
  });

  it('happy: queues the named sections and waits until a worker has recomputed them', async () => {
    const w = startWorker(env.config(), { schedule: false, listen: false });
    await w.worker.start();
    try {
      // Let the start-up round finish, so the requests below are not folded into it.
      await expect.poll(() => w.jobs().length, { timeout: 15_000 }).toBe(SECTION_NAMES.length);
      const r = run('apps/worker/src/cli/recompute.ts', ['lite', 'overview', '--timeout', '20']);
      expect(await r.exited, r.output().stderr).toBe(0);
      expect(r.output().stdout).toMatch(/recomputed lite: version \d+/);
      expect(r.output().stdout).toMatch(/recomputed overview: version \d+/);
      expect(
        w
          .jobs()
          .filter((l) => l.reason === 'manual')
          .map((l) => l.section)
          .sort(),
      ).toEqual(['lite', 'overview']);
    } finally {
      await w.worker.close();
    }
  });
});

describe('npm run worker', () => {
  it('happy: starts, publishes, and on SIGTERM shuts down cleanly with exit code 0', async () => {
    const prefix = `${env.keyPrefix}:main`;
    const r = run('apps/worker/src/main.ts', [], { KEY_PREFIX: prefix, LOG_LEVEL: 'info' });
    await expect.poll(() => r.output().stdout, { timeout: 20_000 }).toContain('"msg":"worker started"');
    await expect.poll(() => r.output().stdout, { timeout: 20_000 }).toContain('"outcome":"changed"');
    r.child.kill('SIGTERM');
    expect(await r.exited).toBe(0);
    expect(r.output().stdout).toContain('"msg":"worker stopped"');
  });

  it('error: a bad environment stops it at once, naming the variable', async () => {
    const r = run('apps/worker/src/main.ts', [], { PRICE_SOURCE: 'carrier-pigeon' });
    expect(await r.exited).toBe(1);
    expect(r.output().stderr).toContain('PRICE_SOURCE');
  });

  it('error: two Redis modes at once (SPEC §12) stop the worker, the API and the CLI, naming both variables', async () => {
    const mix = { REDIS_CLUSTER_NODES: '127.0.0.1:7000,127.0.0.1:7001' }; // beside run()'s REDIS_URL
    for (const script of ['apps/worker/src/main.ts', 'apps/api/src/main.ts', 'apps/worker/src/cli/recompute.ts']) {
      const r = run(script, script.includes('recompute') ? ['overview'] : [], mix);
      expect(await r.exited).toBe(1);
      expect(r.output().stderr).toMatch(/REDIS_CLUSTER_NODES: cannot be combined with REDIS_URL/);
    }
  });
});

describe('timeSections', () => {
  it('happy: times every section once against the database', async () => {
    const db = new pg.Pool({ connectionString: env.databaseUrl, max: 1 });
    try {
      const timings = await timeSections(db);
      expect(timings.sections.map((s) => s.section)).toEqual([...SECTION_NAMES]);
      for (const s of timings.sections) expect(s.ms).toBeGreaterThan(0);
      expect(timings.totalMs).toBeCloseTo(timings.sections.reduce((sum, s) => sum + s.ms, 0));
    } finally {
      await db.end();
    }
  });
});

import { execFileSync, spawn } from 'node:child_process';
import { join } from 'node:path';
import { MIN_SEED_TRADES } from '@snapboard/db';
import { useTestEnv } from '@snapboard/devenv/testing';
import { describe, expect, it } from 'vitest';
import { freePort } from '../e2e/support/ports.ts';

/**
 * `npm start` (scripts/start.ts) on this file's own database, prefix and port: Ctrl-C stops the demo
 * with every child's account of its own shutdown printed, and nothing left running.
 */

const ROOT = join(import.meta.dirname, '..', '..');
const env = useTestEnv({ migrate: false });

/** The demo's children (simulator, worker, API): the processes under npm whose group is their own. */
function demoPids(root: number): number[] {
  const table = execFileSync('ps', ['-e', '-o', 'pid=,ppid=,pgid='], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .map((line) => line.trim().split(/\s+/).map(Number) as [number, number, number]);
  const under = new Set([root]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const [pid, ppid] of table) if (under.has(ppid) && !under.has(pid)) grew = Boolean(under.add(pid));
  }
  return table.filter(([pid, , pgid]) => pid !== root && under.has(pid) && pgid === pid).map(([pid]) => pid);
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('npm start', () => {
  it("happy: Ctrl-C stops every child, each one's last lines (how it shut down) printed before the script exits", async () => {
    const port = await freePort();
    // As a user runs it: npm, then tsx's CLI, then the script, one process group, as in a terminal.
    const child = spawn('npm', ['start', '--silent'], {
      cwd: ROOT,
      env: {
        ...process.env,
        DATABASE_URL: env.databaseUrl,
        REDIS_URL: env.redisUrl,
        KEY_PREFIX: env.keyPrefix,
        PORT: String(port),
        DEMO_TRADES: String(MIN_SEED_TRADES),
        PRICE_SOURCE: 'simulated',
        LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      // Ctrl-C goes to that group (the demo's children have groups of their own).
      detached: true,
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    // 'close': npm and everything under it that shares its output have let go of it.
    const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
    try {
      await expect.poll(() => out, { timeout: 90_000, interval: 200 }).toContain('snapboard is up');
      const pids = demoPids(child.pid as number);
      expect(pids.length).toBe(3);
      process.kill(-(child.pid as number), 'SIGINT');
      // npm itself leaves on the signal (its status is its own); what matters is what the demo printed
      // and that nothing of it is left running.
      await closed;
      const lines = out.split('\n');
      const stopping = lines.findIndex((l) => l.includes('stopping…'));
      expect(stopping).toBeGreaterThan(0);
      const after = lines.slice(stopping);
      const told = after.join('\n');
      expect(
        after.some((l) => l.startsWith('worker') && l.includes('"worker stopped"')),
        told,
      ).toBe(true);
      expect(
        after.some((l) => l.startsWith('api') && l.includes('"msg":"stopped"')),
        told,
      ).toBe(true);
      expect(pids.filter(alive)).toEqual([]);
    } finally {
      if (child.exitCode === null && child.signalCode === null) process.kill(-(child.pid as number), 'SIGKILL');
    }
  }, 150_000);
});

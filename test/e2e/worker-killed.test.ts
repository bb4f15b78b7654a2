import { keysFor, SECTION_NAMES } from '@snapboard/shared';
import { Queue } from 'bullmq';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { assertAlive, everySectionPublished, useE2E } from './support/fixture.ts';
import { recordObservation } from './support/report.ts';
import { tally, ttlEnv } from './support/sections.ts';
import { listenToAnnouncements } from './support/snapshots.ts';
import { VersionMonitor } from './support/versions.ts';
import { waitUntil } from './support/wait.ts';

/**
 * A worker SIGKILLed in the middle of a set (SPEC §4, §5, §10): what it was computing is computed by
 * the other worker and no version ever goes backwards. The sets are made slow for real: the test holds
 * an ACCESS EXCLUSIVE lock on a table the set reads, so the worker waits on it inside PostgreSQL. The
 * file waits out BullMQ's stalled-job check and the set lock's expiry: it runs in a group of its own.
 */

const TTLS = ttlEnv(2, { pnl_history: 5 });
/** No cadence in the second test's window: the only set is the one the listener starts for the trade. */
const QUIET = ttlEnv(600);

/** Every announced (section, epoch, version), in the order received, for the versions that went back. */
function announcedVersions(received: readonly { message: Record<string, unknown> }[]): VersionMonitor {
  const monitor = new VersionMonitor();
  for (const { message } of received) {
    const snapshot = (message.changed ? message.snapshot : message) as {
      section: string;
      epoch: string;
      version: number;
    };
    monitor.observe('announce', snapshot.section, snapshot.epoch, snapshot.version);
  }
  return monitor;
}

describe('worker killed mid-job', () => {
  const e2e = useE2E();

  const named = (name: string) => {
    const u = new URL(e2e.env.databaseUrl);
    u.searchParams.set('application_name', name);
    return u.toString();
  };

  it("error: a SIGKILLed worker's running jobs are taken over by another; versions never go backwards", async () => {
    const db = e2e.botDb();
    const carol = await db.addUser('carol', { totalPnl: 5 });
    await db.openTrade(carol, 'BTCUSDT', 64_000);
    const announcements = await listenToAnnouncements(e2e.env.redisUrl, e2e.prefix);
    e2e.defer(() => announcements.close());
    const reader = e2e.reader();

    const a = e2e.worker({ ...TTLS, DATABASE_URL: named('e2e-worker-a') }, 'worker-a');
    await everySectionPublished(reader, [a]);

    // Block every query on paper_trades, with a new trade waiting behind the lock.
    const locker = new pg.Client({ connectionString: e2e.env.databaseUrl });
    await locker.connect();
    e2e.defer(() => locker.end());
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE paper_trades IN ACCESS EXCLUSIVE MODE');
    const { rows } = await locker.query<{ id: string }>(
      `INSERT INTO paper_trades (user_id, symbol, direction, market_type, entry_price, entry_time, quantity, status)
       VALUES ($1, 'LINKUSDT', 'SHORT', 'SPOT', 14.5, now(), 6.9, 'OPEN') RETURNING id`,
      [carol],
    );
    const lockedTrade = Number(rows[0]!.id);

    const blockedBackends = async (app: string) => {
      const { rows: blocked } = await db.query<{ n: string }>(
        `SELECT count(*) AS n FROM pg_stat_activity
          WHERE datname = current_database() AND application_name = $1 AND wait_event_type = 'Lock'`,
        [app],
      );
      return Number(blocked[0]!.n);
    };
    await waitUntil(
      'worker A to be stuck on the lock mid-job',
      async () => (await blockedBackends('e2e-worker-a')) > 0,
      {
        timeoutMs: 15_000,
      },
    );

    const killedAt = Date.now();
    a.signal('SIGKILL');
    expect((await a.exited).signal).toBe('SIGKILL');

    // With A dead and no other worker yet, every job still marked active is one A was killed in.
    const keys = keysFor(e2e.prefix);
    const recomputeQueue = new Queue(keys.recomputeQueue, {
      connection: { url: e2e.env.redisUrl },
      prefix: keys.bullPrefix,
    });
    e2e.defer(() => recomputeQueue.close());
    const killedJobs = (await recomputeQueue.getActive()).map((job) => ({ id: job.id!, section: job.data.section }));
    expect(killedJobs.length).toBeGreaterThan(0);

    const b = e2e.worker({ ...TTLS, DATABASE_URL: named('e2e-worker-b') }, 'worker-b');
    await b.waitForLog('worker B started', (j) => j.msg === 'worker started', { timeoutMs: 30_000 });
    await locker.query('COMMIT');

    // Every job A held is run to completion by B (BullMQ finds it stalled once A's lock lapses).
    await waitUntil(
      `worker B to finish the jobs A was killed in (${killedJobs.map((j) => `${j.section}#${j.id}`).join(', ')})`,
      () => {
        assertAlive(b);
        const done = new Set(
          b
            .logs((j) => j.msg === 'recompute' && j.outcome !== 'retrying' && j.outcome !== 'failed')
            .map((l) => String(l.json!.job_id)),
        );
        return killedJobs.every((job) => done.has(job.id));
      },
      { timeoutMs: 80_000, intervalMs: 250 },
    ).catch(async (error) => {
      const states = await Promise.all(
        killedJobs.map(async (j) => `${j.id}: ${await recomputeQueue.getJobState(j.id)}`),
      );
      const job = await recomputeQueue.getJob(killedJobs[0]!.id);
      throw new Error(
        `${(error as Error).message}\nstates: ${states.join(', ')}\njob: ${JSON.stringify(job?.toJSON()).slice(0, 600)}\n` +
          `B: ${JSON.stringify(tally(b.lines))}\n${b.tail(8)}`,
      );
    });
    expect(await recomputeQueue.getFailedCount()).toBe(0);
    const takeoverLines = b.logs((j) => j.msg === 'recompute' && killedJobs.some((k) => k.id === String(j.job_id)));
    const takenOverAfterMs = Math.max(...takeoverLines.map((l) => l.atMs)) - killedAt;
    // How long the sections A held went without a publish: until B took the job over.
    const heldSections = new Set(killedJobs.map((j) => j.section));
    const publishesOfHeld = announcements.received.filter((r) => {
      const m = (r.message.changed ? r.message.snapshot : r.message) as { section: string };
      return heldSections.has(m.section) && r.atMs > killedAt;
    });

    // The trade committed behind the lock reached the snapshot.
    await waitUntil('the trade written behind the lock', async () => {
      const positions = (await reader.get('open_positions'))?.data as { trade_id: number }[] | undefined;
      return positions?.some((p) => p.trade_id === lockedTrade);
    });

    // Versions never went backwards, in the announcements nor in what Redis held.
    const monitor = announcedVersions(announcements.received);
    const now = await reader.all();
    for (const s of SECTION_NAMES) {
      const last = announcements.received
        .map((r) => (r.message.changed ? r.message.snapshot : r.message) as { section: string; version: number })
        .filter((m) => m.section === s)
        .at(-1);
      if (last && now[s]) expect(now[s].version, s).toBeGreaterThanOrEqual(last.version);
    }
    expect(monitor.violations).toEqual([]);
    expect(monitor.observations).toBeGreaterThan(SECTION_NAMES.length);
    const epochs = new Set(
      announcements.received.map((r) => JSON.stringify(r.message).match(/"epoch":"([^"]+)"/)?.[1]),
    );
    expect(epochs.size).toBe(SECTION_NAMES.length); // one epoch per section, never a second

    await recordObservation('worker-killed', {
      injected:
        'ACCESS EXCLUSIVE lock on paper_trades held by the test, worker A SIGKILLed while blocked, worker B started',
      killed_jobs: killedJobs,
      taken_over_by_b_after_ms: takenOverAfterMs,
      first_publish_of_held_sections_after_kill_ms: (publishesOfHeld[0]?.atMs ?? Number.NaN) - killedAt,
      announcements: announcements.received.length,
      version_regressions: monitor.violations.length,
      failed_jobs: 0,
      trade_behind_lock_published: true,
    });
  }, 150_000);

  it("error: a worker SIGKILLed in a change's own set (no job) leaves the change to the next set once the set lock expires", async () => {
    const db = e2e.botDb();
    const dave = await db.addUser('dave', { totalPnl: 1 });
    const announcements = await listenToAnnouncements(e2e.env.redisUrl, e2e.prefix);
    e2e.defer(() => announcements.close());
    const reader = e2e.reader();
    const keys = keysFor(e2e.prefix);
    const recomputeQueue = new Queue(keys.recomputeQueue, {
      connection: { url: e2e.env.redisUrl },
      prefix: keys.bullPrefix,
    });
    e2e.defer(() => recomputeQueue.close());

    const c = e2e.worker({ ...QUIET, DATABASE_URL: named('e2e-worker-c') }, 'worker-c');
    await everySectionPublished(reader, [c]);
    // The start's set and the fold a second after it are behind us.
    await new Promise((done) => setTimeout(done, 1500));

    // Every set locks the rollups among its tables before its snapshot (changeset.ts SET_TABLES); a
    // trade's own write does not touch them, so it commits and notifies, and the set it starts waits.
    const locker = new pg.Client({ connectionString: e2e.env.databaseUrl });
    await locker.connect();
    e2e.defer(() => locker.end());
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE snapboard_closed_hours IN ACCESS EXCLUSIVE MODE');
    const tradeId = await db.openTrade(dave, 'SOLUSDT', 150);

    await waitUntil(
      "worker C's set for the trade to wait on the lock",
      async () => {
        const { rows } = await db.query<{ n: string }>(
          `SELECT count(*) AS n FROM pg_stat_activity
            WHERE datname = current_database() AND application_name = 'e2e-worker-c'
              AND wait_event_type = 'Lock' AND query LIKE 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY%'`,
        );
        return Number(rows[0]!.n) > 0;
      },
      { timeoutMs: 15_000 },
    );
    // The listener's set: it holds the set lock and runs under no queue job.
    const counts = await recomputeQueue.getJobCounts('active', 'waiting', 'delayed', 'prioritized');
    expect(counts).toEqual({ active: 0, waiting: 0, delayed: 0, prioritized: 0 });
    expect(await reader.redis.pttl(keys.setLock)).toBeGreaterThan(0);

    const killedAt = Date.now();
    c.signal('SIGKILL');
    expect((await c.exited).signal).toBe('SIGKILL');
    const lockLeftMs = await reader.redis.pttl(keys.setLock);
    expect(lockLeftMs).toBeGreaterThan(0);
    await locker.query('COMMIT');

    const d = e2e.worker({ ...QUIET, DATABASE_URL: named('e2e-worker-d') }, 'worker-d');
    await d.waitForLog('worker D started', (j) => j.msg === 'worker started', { timeoutMs: 30_000 });
    await waitUntil(
      'the trade C was killed computing to be published by D',
      async () => {
        assertAlive(d);
        const positions = (await reader.get('open_positions'))?.data as { trade_id: number }[] | undefined;
        return positions?.some((p) => p.trade_id === tradeId) === true;
      },
      { timeoutMs: 40_000, intervalMs: 100 },
    ).catch(async (error) => {
      const [lock, taken, pending] = await Promise.all([
        reader.redis.get(keys.setLock),
        reader.redis.hgetall(keys.setTaken),
        reader.redis.hgetall(keys.pendingSections),
      ]);
      throw new Error(
        `${(error as Error).message}\nlock ${lock}, taken ${JSON.stringify(taken)}, pending ${JSON.stringify(pending)}\n` +
          `C: ${c.tail(6)}\nD: ${d.tail(12)}`,
      );
    });
    // Nothing was published in C's name while its lock stood: D's first set waited it out.
    const afterKill = announcements.received.filter((r) => r.atMs > killedAt);
    expect(afterKill.length).toBeGreaterThan(0);
    expect(afterKill[0]!.atMs - killedAt).toBeGreaterThanOrEqual(lockLeftMs - 250);
    // D's set found the change in the change log since the last published set (its line follows the publish).
    await d.waitForLog(
      "D's set of the trade's change",
      (j) => j.msg === 'change set' && j.outcome === 'published' && (j.tables as string[]).includes('paper_trades'),
      { timeoutMs: 5000 },
    );
    expect(d.logs((j) => j.outcome === 'recovered')).toHaveLength(1);

    const monitor = announcedVersions(announcements.received);
    expect(monitor.violations).toEqual([]);

    await recordObservation('worker-killed-direct-set', {
      injected:
        'ACCESS EXCLUSIVE lock on snapboard_closed_hours held by the test, a trade committed, worker C SIGKILLed in its set, worker D started',
      set_lock_left_at_kill_ms: lockLeftMs,
      first_publish_after_kill_ms: afterKill[0]!.atMs - killedAt,
      trade_published: true,
      version_regressions: monitor.violations.length,
    });
  }, 120_000);
});

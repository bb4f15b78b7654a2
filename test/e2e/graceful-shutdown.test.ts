import { keysFor, SECTION_NAMES } from '@snapboard/shared';
import { Queue } from 'bullmq';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { assertAlive, everySectionPublished, useE2E } from './support/fixture.ts';
import { http } from './support/http.ts';
import { recordObservation } from './support/report.ts';
import { ttlEnv } from './support/sections.ts';
import { sleep, waitUntil } from './support/wait.ts';
import { WsClient } from './support/ws-client.ts';

/**
 * SIGTERM (SPEC §5, §6): the API stops taking new work, lets the requests it has finish, closes
 * sockets with 1001 and exits 0; the worker finishes the job it is running (or hands it back) and
 * exits 0. Jobs are held mid-way by a lock on paper_trades that the test controls.
 */

const TTLS = ttlEnv(2, { pnl_history: 10, trading_stats: 10 });

describe('graceful shutdown', () => {
  const e2e = useE2E();

  async function lockTrades() {
    const locker = new pg.Client({ connectionString: e2e.env.databaseUrl });
    await locker.connect();
    e2e.defer(() => locker.end());
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE paper_trades IN ACCESS EXCLUSIVE MODE');
    return locker;
  }

  /** The worker's DATABASE_URL, naming its connections so the test can find them in pg_stat_activity. */
  const workerEnv = (name = 'e2e-worker') => {
    const u = new URL(e2e.env.databaseUrl);
    u.searchParams.set('application_name', name);
    return { ...TTLS, DATABASE_URL: u.toString() };
  };

  const blockedWorkerQueries = async (db: ReturnType<typeof e2e.botDb>) => {
    const { rows } = await db.query<{ n: string }>(
      `SELECT count(*) AS n FROM pg_stat_activity
        WHERE datname = current_database() AND wait_event_type = 'Lock' AND application_name LIKE 'e2e-worker%'`,
    );
    return Number(rows[0]!.n);
  };

  it('happy: SIGTERM to the API drains the request in flight, closes sockets with 1001 and exits 0', async () => {
    const db = e2e.botDb();
    await db.openTrade(await db.addUser('dave'), 'BTCUSDT', 64_000);
    const worker = e2e.worker(workerEnv());
    const api = await e2e.api({ ...TTLS, REFRESH_WAIT_MS: '4000' });
    await waitUntil('v2 served', async () => {
      assertAlive(worker, api);
      return (await http(`${api.baseUrl}/api/public/dashboard/v2/`)).status === 200;
    });
    const clients = await Promise.all(Array.from({ length: 5 }, () => e2e.ws(api.wsUrl)));
    for (const client of clients) await client.subscribe([...SECTION_NAMES]);

    // A forced refresh waits for recomputes that cannot finish while the trades are locked.
    const locker = await lockTrades();
    await waitUntil('the worker blocked on the lock', async () => (await blockedWorkerQueries(db)) > 0);
    const inFlight = http(`${api.baseUrl}/api/public/dashboard/v2/?refresh=true`, { timeoutMs: 20_000 });
    await sleep(500);
    const termAt = Date.now();
    api.signal('SIGTERM');

    // New work is refused while it drains (a refused connection or a 503, never a hang or a 500).
    await sleep(200);
    const late = await http(`${api.baseUrl}/api/public/dashboard/lite/`, { timeoutMs: 3000 }).then(
      (r) => r.status,
      () => 'refused',
    );
    expect([503, 'refused']).toContain(late);
    await expect(WsClient.connect(api.wsUrl)).rejects.toThrow();

    const answer = await inFlight;
    expect(answer.status).toBe(200);
    expect(answer.body).toHaveProperty('overview');
    const closes = await Promise.all(clients.map((c) => c.closed));
    for (const close of closes) expect(close.code).toBe(1001);
    const exit = await api.exited;
    expect(exit).toEqual({ code: 0, signal: null });
    const exitAfterMs = Date.now() - termAt;
    expect(exitAfterMs).toBeLessThan(15_000);
    await locker.query('ROLLBACK');
    await recordObservation('api-sigterm', {
      injected: 'SIGTERM to the API with a refresh=true request in flight and 5 subscribed sockets',
      in_flight_request_status: answer.status,
      request_after_sigterm: late,
      socket_close_codes: closes.map((c) => c.code),
      exit_code: exit.code,
      exit_after_sigterm_ms: exitAfterMs,
    });
  }, 90_000);

  it('happy: SIGTERM to the worker lets its running jobs finish and publish, then exits 0', async () => {
    const db = e2e.botDb();
    const erin = await db.addUser('erin');
    await db.openTrade(erin, 'BTCUSDT', 64_000);
    const worker = e2e.worker(workerEnv());
    const reader = e2e.reader();
    await everySectionPublished(reader, [worker]);

    const locker = await lockTrades();
    const lockedTrade = Number(
      (
        await locker.query<{ id: string }>(
          `INSERT INTO paper_trades (user_id, symbol, direction, market_type, entry_price, entry_time, quantity, status)
           VALUES ($1, 'ETHUSDT', 'LONG', 'SPOT', 3200, now(), 0.03, 'OPEN') RETURNING id`,
          [erin],
        )
      ).rows[0]!.id,
    );
    await waitUntil('the worker blocked mid-job', async () => (await blockedWorkerQueries(db)) > 0);
    const linesAtTerm = worker.lines.length;
    worker.signal('SIGTERM');
    await sleep(1000);
    expect(worker.alive).toBe(true); // still finishing its jobs
    await locker.query('COMMIT');

    const exit = await worker.exited;
    expect(exit).toEqual({ code: 0, signal: null });
    const finished = worker.logs(
      (j) => j.msg === 'recompute' && (j.outcome === 'changed' || j.outcome === 'unchanged'),
      linesAtTerm,
    );
    expect(finished.length).toBeGreaterThan(0);
    expect(worker.logs((j) => j.msg === 'recompute' && j.outcome === 'failed', linesAtTerm)).toEqual([]);

    // Nothing left active: the jobs it held were finished, not abandoned.
    const keys = keysFor(e2e.prefix);
    const queue = new Queue(keys.recomputeQueue, { connection: { url: e2e.env.redisUrl }, prefix: keys.bullPrefix });
    e2e.defer(() => queue.close());
    expect(await queue.getActiveCount()).toBe(0);

    await recordObservation('worker-sigterm', {
      injected: 'SIGTERM to a worker whose jobs are blocked on a lock the test releases 1 s later',
      exit_code: exit.code,
      jobs_finished_after_sigterm: finished.length,
      active_jobs_left: 0,
    });

    // A successor picks up what was requested meanwhile, including the trade that waited on the lock.
    const successor = e2e.worker(workerEnv('e2e-worker-2'), 'worker-2');
    await waitUntil('the locked trade published', async () => {
      assertAlive(successor);
      const positions = (await reader.get('open_positions'))?.data as { trade_id: number }[] | undefined;
      return positions?.some((p) => p.trade_id === lockedTrade);
    });
  }, 90_000);

  it('error: SIGTERM while a job cannot finish: the worker still exits 0 and the job is completed by a successor', async () => {
    const db = e2e.botDb();
    await db.openTrade(await db.addUser('frank'), 'BTCUSDT', 64_000);
    const worker = e2e.worker(workerEnv());
    const reader = e2e.reader();
    await everySectionPublished(reader, [worker]);
    const keys = keysFor(e2e.prefix);
    const queue = new Queue(keys.recomputeQueue, { connection: { url: e2e.env.redisUrl }, prefix: keys.bullPrefix });
    e2e.defer(() => queue.close());

    const locker = await lockTrades();
    await waitUntil('the worker blocked mid-job', async () => (await blockedWorkerQueries(db)) > 0);
    const held = await waitUntil('active jobs', async () => {
      const active = await queue.getActive();
      return active.length > 0 ? active.map((j) => j.id!) : undefined;
    });
    const termAt = Date.now();
    worker.signal('SIGTERM');
    // The lock is still held. The worker's own grace for running jobs is 10 s; an orchestrator
    // (docker stop: 10 s, Kubernetes: 30 s) SIGKILLs soon after, so the worker must be gone within
    // 20 s. Past that the lock is released anyway so that the rest of the scenario still runs.
    const exitedInTime = await Promise.race([worker.exited.then(() => true), sleep(20_000).then(() => false)]);
    await locker.query('ROLLBACK');
    const exit = await worker.exited;
    const exitAfterMs = Date.now() - termAt;
    const shutdownLines = worker.tail(4);

    const successor = e2e.worker(workerEnv('e2e-worker-2'), 'worker-2');
    await waitUntil(
      `the successor to complete the jobs handed back (${held.join(', ')})`,
      () => {
        assertAlive(successor);
        const done = new Set(
          successor
            .logs((j) => j.msg === 'recompute' && (j.outcome === 'changed' || j.outcome === 'unchanged'))
            .map((l) => String(l.json!.job_id)),
        );
        return held.every((id) => done.has(id));
      },
      { timeoutMs: 80_000, intervalMs: 250 },
    );
    const completedAfterMs = Date.now() - termAt;
    await recordObservation('worker-sigterm-blocked-job', {
      injected: 'SIGTERM to a worker whose job is blocked on a lock held by the test (released after 20 s)',
      exit_after_sigterm_ms: exitAfterMs,
      exit_code: exit.code,
      job_completed_by_successor_after_ms: completedAfterMs,
    });
    expect(exit).toEqual({ code: 0, signal: null });
    expect(exitedInTime, `the worker exited ${exitAfterMs} ms after SIGTERM\n${shutdownLines}`).toBe(true);
    expect(await queue.getFailedCount()).toBe(0);
  }, 150_000);
});

import { SECTION_NAMES } from '@snapboard/shared';
import { listenToAnnouncements } from '../lib/announcements.ts';
import type { BenchContext } from '../lib/context.ts';
import { databaseCounters, withClient } from '../lib/env.ts';
import { type Managed, sleep, spawnTs } from '../lib/procs.ts';
import { type Figure, figure } from '../lib/report.ts';

/**
 * 5. Database load under readers: PostgreSQL's own count of committed transactions in the bench
 * database (pg_stat_database, read from another database so reading adds none) over an idle minute
 * (worker running, no readers) and over a minute with 1,000 HTTP pollers (1 request/s each) and
 * 1,000 WebSocket subscribers. The worker's cadence makes two minutes differ by a job or two per
 * section, so a third window stops the worker and keeps the readers: there the count must be zero.
 */

const POLLERS = 1000;
const SUBSCRIBERS = 1000;

interface Window {
  seconds: number;
  xact: number;
  sessions: number;
  jobs: number;
}

export async function dbLoadSuite(ctx: BenchContext): Promise<Figure[]> {
  const stack = await ctx.stack();
  const windowSec = ctx.quick ? 20 : 60;
  const stoppedSec = ctx.quick ? 10 : 30;
  const announcements = await listenToAnnouncements(ctx.redisUrl, ctx.keyPrefix);
  const owned: Managed[] = [];

  const observe = async (seconds: number): Promise<Window> => {
    const before = await databaseCounters(ctx.postgresUrl, ctx.databaseName);
    announcements.start();
    await sleep(seconds * 1000);
    const after = await databaseCounters(ctx.postgresUrl, ctx.databaseName);
    return {
      seconds,
      xact: after.xactCommit + after.xactRollback - before.xactCommit - before.xactRollback,
      sessions: after.sessions - before.sessions,
      jobs: announcements.entries.length,
    };
  };

  try {
    // Leave autovacuum nothing to do in the windows (earlier suites closed trades): its transactions
    // would count as well. Then let the stack settle.
    await withClient(ctx.databaseUrl, (c) => c.query('VACUUM (ANALYZE)'));
    await sleep(5000);
    ctx.log(`db: idle window, ${windowSec} s (worker running, no readers)`);
    const idle = await observe(windowSec);

    const subscribers = spawnTs('db-subscribers', 'bench/children/ws-clients.ts', { ipc: true });
    owned.push(subscribers);
    subscribers.send({
      type: 'connect',
      url: stack.api.wsUrl,
      count: SUBSCRIBERS,
      limit: 20,
      sections: SECTION_NAMES,
      localAddress: '127.0.200.1',
      concurrency: 100,
    });
    await subscribers.next((m: { type: string }) => m.type === 'connected', 120_000, 'subscribers connected');
    const pollers = spawnTs('db-pollers', 'bench/children/load-http.ts', { ipc: true });
    owned.push(pollers);
    const totalSec = windowSec + stoppedSec + 30;
    pollers.send({
      type: 'run',
      id: 1,
      url: `${stack.api.baseUrl}/api/public/dashboard/v2/?limit=20`,
      connections: POLLERS,
      durationSec: totalSec,
      overallRate: POLLERS,
    });
    await sleep(5000);
    ctx.log(`db: loaded window, ${windowSec} s (${POLLERS} pollers at 1 req/s, ${SUBSCRIBERS} subscribers)`);
    const loaded = await observe(windowSec);

    ctx.log(`db: worker stopped, readers on, ${stoppedSec} s`);
    await stack.stopWorker();
    await sleep(2000);
    const stopped = await observe(stoppedSec);
    await stack.startWorker();

    const polled = await pollers.next<{ type: string; total: number; statuses: Record<string, number> }>(
      (m) => m.type === 'result',
      (totalSec + 60) * 1000,
      'poller result',
    );
    const perMin = (w: Window) => (w.xact / w.seconds) * 60;
    const perJob = idle.jobs ? idle.xact / idle.jobs : 0;
    // Two windows of equal length differ by at most one run per scheduled section at each edge.
    const allowance = SECTION_NAMES.length * perJob;
    ctx.facts.db = {
      idle,
      loaded,
      stopped,
      pollerRequests: polled.total,
      pollerStatuses: polled.statuses,
      transactionsPerWorkerJob: perJob,
    };
    return [
      figure({
        id: 'db.readers_vs_idle',
        suite: 'db',
        label: `DB transactions/min, ${POLLERS} pollers + ${SUBSCRIBERS} subs`,
        value: perMin(loaded),
        unit: 'tx/min',
        baseline: { label: 'idle minute, worker on', value: perMin(idle) },
        target: { on: 'ratio', op: '<=', limit: idle.xact ? 1 + allowance / idle.xact : 1 },
        note:
          `${idle.jobs} vs ${loaded.jobs} worker publishes; target allows one job per section of cadence jitter ` +
          `(${allowance.toFixed(1)} tx); ${polled.total} polls answered`,
      }),
      figure({
        id: 'db.readers_only',
        suite: 'db',
        label: 'DB transactions from readers alone (worker stopped)',
        value: stopped.xact,
        unit: 'tx',
        baseline: { label: `idle ${stoppedSec} s, worker on`, value: (idle.xact / idle.seconds) * stoppedSec },
        target: { on: 'value', op: '<=', limit: 0 },
        note: `${stopped.sessions} new sessions while readers ran`,
      }),
    ];
  } finally {
    await Promise.all(owned.map((m) => m.stop()));
    await announcements.close();
  }
}

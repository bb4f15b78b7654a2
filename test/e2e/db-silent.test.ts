import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { assertAlive, everySectionPublished, useE2E } from './support/fixture.ts';
import { recordObservation } from './support/report.ts';
import { tally, ttlEnv } from './support/sections.ts';
import { waitUntil } from './support/wait.ts';

/**
 * PostgreSQL connections that go silent (SPEC §5): kept apart from db-down.test.ts so that its wait
 * for the worker's query deadline runs alongside the other files instead of after them.
 */

describe('database connections gone silent', () => {
  const e2e = useE2E();

  // The nastier failure: the worker's open connections go silent without a reset (a database host
  // that died, a failover to a new address, a middlebox dropping the flow) while new connections
  // work. A worker that waits forever on a silent socket stops publishing for good. The worker's
  // client deadline is 15 s (QUERY_DEADLINE_MS), so recovery is allowed up to 45 s.
  it('error: connections that go silent (no reset) do not stop the worker for good', async () => {
    const db = e2e.botDb();
    await db.openTrade(await db.addUser('hal'), 'BTCUSDT', 64_000);
    const proxy = await e2e.postgresProxy();
    const worker = e2e.worker({ ...ttlEnv(1), DATABASE_URL: proxy.rewrite(e2e.env.databaseUrl) });
    const reader = e2e.reader();
    await everySectionPublished(reader, [worker]);
    // Queries in flight at the moment of the silence: held on a lock, answered once it is released.
    const locker = new pg.Client({ connectionString: e2e.env.databaseUrl });
    await locker.connect();
    e2e.defer(() => locker.end());
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE paper_trades IN ACCESS EXCLUSIVE MODE');
    await waitUntil('a worker query waiting on the lock', async () => {
      const { rows } = await db.query<{ n: string }>(
        `SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
      );
      return Number(rows[0]!.n) > 0;
    });
    const frozen = proxy.freezeOpenConnections();
    const frozenAt = new Date().toISOString();
    await locker.query('COMMIT');

    const recovered = await waitUntil(
      'every section published again after its connections went silent',
      async () => {
        assertAlive(worker);
        return reader.allPresent(frozenAt);
      },
      { timeoutMs: 45_000, intervalMs: 500 },
    ).then(
      () => Date.now() - Date.parse(frozenAt),
      () => undefined,
    );
    await recordObservation('db-silent', {
      injected: 'every open worker connection to PostgreSQL silenced (no reset), new connections working',
      connections_silenced: frozen,
      recovered_after_ms: recovered ?? 'not within 45 s',
      worker_log_by_message: tally(worker.lines.filter((l) => l.atMs >= Date.parse(frozenAt))),
    });
    expect(recovered, 'the worker never published again').toBeDefined();
  }, 120_000);
});

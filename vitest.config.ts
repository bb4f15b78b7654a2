import { defineConfig } from 'vitest/config';

// The load scenario saturates both cores for a minute (2,000 HTTP clients and 2,000 sockets); files
// that ran beside it timed out in CI. It runs alone, after everything else.
const LOAD = ['test/e2e/load.test.ts'];
// Failover tests (SPEC §12) run their own Redis topologies with 1 s failure detection: a file beside
// them on two cores could trip it. Each runs alone, after the load scenario.
const FAILOVER = ['test/e2e/redis-failover.test.ts'];
const PROCESSES = ['test/e2e/api-processes.test.ts'];
// The read replica's failures (a private primary and standby, 1 s bounds), alone for the same reason.
const REPLICA = ['test/e2e/read-replica.test.ts'];
// A worker killed mid-set: the file waits out BullMQ's stalled-job check and the set lock's 10 s expiry.
const KILLED = ['test/e2e/worker-killed.test.ts'];

export default defineConfig({
  test: {
    globalSetup: ['packages/devenv/src/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Two cores: files run two at a time, each isolated by its own database and key prefix.
    maxWorkers: 2,
    reporters: ['default'],
    projects: [
      {
        extends: true,
        test: {
          name: 'main',
          include: ['{apps,packages}/*/test/**/*.test.ts', 'test/**/*.test.ts', 'bench/test/**/*.test.ts'],
          exclude: ['**/node_modules/**', ...LOAD, ...FAILOVER, ...PROCESSES, ...REPLICA, ...KILLED],
          sequence: { groupOrder: 0 },
        },
      },
      { extends: true, test: { name: 'load', include: LOAD, sequence: { groupOrder: 1 } } },
      { extends: true, test: { name: 'failover', include: FAILOVER, sequence: { groupOrder: 2 } } },
      { extends: true, test: { name: 'processes', include: PROCESSES, sequence: { groupOrder: 3 } } },
      { extends: true, test: { name: 'replica', include: REPLICA, sequence: { groupOrder: 4 } } },
      { extends: true, test: { name: 'killed', include: KILLED, sequence: { groupOrder: 5 } } },
    ],
  },
});

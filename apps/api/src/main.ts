import cluster from 'node:cluster';
import { describeRedis, loadConfigOrExit } from '@snapboard/shared';
import { pino } from 'pino';
import { clusterProcessDeps, runApiPrimary } from './cluster.ts';
import { startApi } from './server.ts';

/**
 * `npm run api`: parse the environment, serve, and shut down in order on SIGTERM/SIGINT.
 * With API_PROCESSES > 1 this process becomes the node:cluster primary and each API process runs
 * this same file as a cluster worker (cluster.ts).
 */

const config = loadConfigOrExit();

if (config.apiProcesses > 1 && cluster.isPrimary) {
  await runApiPrimary({ config, logger: pino({ level: config.logLevel, base: { app: 'api', role: 'primary' } }) });
} else {
  await serve();
}

async function serve(): Promise<void> {
  const inCluster = cluster.isWorker;
  const logger = pino({
    level: config.logLevel,
    base: inCluster ? { app: 'api', process: cluster.worker?.id } : { app: 'api' },
  });
  const shared = inCluster ? clusterProcessDeps() : undefined;
  const api = await startApi({ config, logger, gate: shared?.gate, scrape: shared?.scrape });
  shared?.shareRegistry(api.registry);
  logger.info(
    { url: api.url, redis: describeRedis(config.redis), prefix: config.keyPrefix, ops: Boolean(config.opsToken) },
    'api listening',
  );

  let stopping = false;
  async function shutdown(signal: NodeJS.Signals): Promise<void> {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    // A shutdown that hangs (a peer that never closes) must not keep the process alive forever.
    setTimeout(() => {
      logger.error('shutdown took too long; exiting');
      process.exit(1);
    }, 10_000).unref();
    try {
      await api.close();
      logger.info('stopped');
      process.exit(0);
    } catch (error) {
      logger.error({ err: error }, 'shutdown failed');
      process.exit(1);
    }
  }
  process.once('SIGTERM', (signal) => void shutdown(signal));
  process.once('SIGINT', (signal) => void shutdown(signal));
}

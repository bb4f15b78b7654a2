import { describeRedis, loadConfigOrExit, redactUrl } from '@snapboard/shared';
import pino from 'pino';
import { createWorker } from './worker.ts';

const config = loadConfigOrExit();
const logger = pino({ level: config.logLevel, base: { service: 'worker' } });
const worker = createWorker({ config, logger });

let stopping = false;
async function shutdown(signal: NodeJS.Signals): Promise<void> {
  if (stopping) {
    logger.warn({ signal }, 'second signal: exiting without waiting');
    process.exit(1);
  }
  stopping = true;
  logger.info({ signal }, 'shutting down');
  try {
    await worker.close();
    logger.info('worker stopped');
    process.exit(0);
  } catch (error) {
    logger.error({ err: error }, 'unclean shutdown');
    process.exit(1);
  }
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));

try {
  await worker.start();
  logger.info(
    {
      database: redactUrl(config.databaseUrl),
      ...(config.databaseReadUrl
        ? { database_read: redactUrl(config.databaseReadUrl), database_read_wait_ms: config.databaseReadWaitMs }
        : {}),
      redis: describeRedis(config.redis),
      key_prefix: config.keyPrefix,
      price_source: config.priceSource,
      ttls: config.ttls,
    },
    'worker started',
  );
} catch (error) {
  logger.fatal({ err: error }, 'worker could not start');
  await worker.close().catch(() => {});
  process.exit(1);
}

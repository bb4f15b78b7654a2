import { describeRedis, loadConfigOrExit } from '@snapboard/shared';
import { pino } from 'pino';
import { startApi } from './server.ts';

/** `npm run api`: parse the environment, serve, and shut down in order on SIGTERM/SIGINT. */

const config = loadConfigOrExit();
const logger = pino({ level: config.logLevel, base: { app: 'api' } });

const api = await startApi({ config, logger });
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

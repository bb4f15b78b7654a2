import { parseArgs } from 'node:util';
import { loadConfigOrExit, redactUrl } from '@snapboard/shared';
import pino from 'pino';
import { migrate } from '../migrate.ts';
import { createSimulator } from '../simulator.ts';

const USAGE = `usage: npm run simulate -- [--interval-ms N]
  --interval-ms N   time between bot cycles, 100 to 60000 (default 1000)
Connects to DATABASE_URL; LOG_LEVEL=debug logs every cycle, info only those that changed something.`;

function intervalFrom(argv: string[]): number {
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: true,
      options: { 'interval-ms': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    });
    if (values.help) {
      console.log(USAGE);
      process.exit(0);
    }
    if (positionals.length) throw new Error(`unexpected argument "${positionals[0]}"`);
    const raw = values['interval-ms'];
    if (raw === undefined) return 1000;
    const ms = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
    if (!(ms >= 100 && ms <= 60_000))
      throw new Error(`--interval-ms must be a whole number from 100 to 60000, got "${raw}"`);
    return ms;
  } catch (error) {
    console.error(`simulate: ${(error as Error).message}\n${USAGE}`);
    process.exit(2);
  }
}

const intervalMs = intervalFrom(process.argv.slice(2));
const config = loadConfigOrExit();
const logger = pino({ level: config.logLevel, base: { service: 'simulator' } });

try {
  await migrate(config.databaseUrl);
} catch (error) {
  logger.fatal({ err: error, database: redactUrl(config.databaseUrl) }, 'cannot prepare the database');
  process.exit(1);
}

const simulator = createSimulator({ databaseUrl: config.databaseUrl, intervalMs, logger });
simulator.start();
logger.info({ database: redactUrl(config.databaseUrl), intervalMs }, 'trade simulator running');

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, async () => {
    logger.info({ signal }, 'stopping after the current step');
    await simulator.stop();
    process.exit(0);
  });
}

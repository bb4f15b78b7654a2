/**
 * Child of section-endpoints.test.ts: starts the API with a catalog whose endpoint collides with v2.
 * startApi must refuse it and close what it opened, so this process then ends by itself.
 */
import { CATALOG, extendCatalog, loadConfig, PATHS } from '@snapboard/shared';
import pino from 'pino';
import { startApi } from '../../src/server.ts';
import { probeEndpoint, probeSection } from './endpoint-probe.ts';

const catalog = extendCatalog(CATALOG, probeSection([probeEndpoint({ path: PATHS.v2 })]));
const config = loadConfig({ ...process.env, PORT: '0', LOG_LEVEL: 'silent' } as Record<string, string>, catalog);
startApi({ config, logger: pino({ level: 'silent' }), catalog, page: false }).then(
  () => console.log('started'),
  (error: Error) => console.log(`refused: ${error.message}`),
);

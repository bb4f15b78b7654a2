/**
 * The bare handler of bare-routes.ts inside a running snapboard API (issue 16): `startApi` exactly as
 * `npm run api` runs it (Redis connections, replica, queue producer, metrics, WebSocket server, page),
 * configured by the same environment, plus the bare handler on a port of its own. Measured alone, it
 * is what any handler costs in a process that does what snapboard's API process does besides answering
 * (node:http's own functions, shared with Redis' and the WebSocket server's sockets, see more than one
 * kind of stream); snapboard's API against it is snapboard's own code.
 *
 * IPC: as bare-http.ts; the API's own port is not used.
 */
import { loadConfigOrExit } from '@snapboard/shared';
import { pino } from 'pino';
import { startApi } from '../../apps/api/src/server.ts';
import { createBareServer, serveRoutesOverIpc } from './bare-routes.ts';

const config = loadConfigOrExit();
const api = await startApi({ config: { ...config, port: 0 }, logger: pino({ level: config.logLevel }) });
const bare = createBareServer();
serveRoutesOverIpc(bare);

const stop = () => {
  bare.server.close();
  void api.close().finally(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('disconnect', stop);

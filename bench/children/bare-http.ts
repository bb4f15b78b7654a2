/**
 * Baseline (a) of the HTTP bench: a bare `node:http` server that answers with bytes captured from
 * snapboard itself (bare-routes.ts). It does nothing else, so its throughput is what Node can serve
 * on this machine: the ceiling snapboard is measured against.
 *
 * IPC: receives `{type:'routes', routes}`; answers `{type:'listening', port}` the first time and
 * `{type:'routes-set'}` after each later one.
 */
import { createBareServer, serveRoutesOverIpc } from './bare-routes.ts';

serveRoutesOverIpc(createBareServer());

process.on('SIGTERM', () => process.exit(0));
process.on('disconnect', () => process.exit(0));

/**
 * Baseline (a) of the HTTP bench run the way `API_PROCESSES=N` runs snapboard: node:cluster, N
 * processes of bench/children/bare-http.ts sharing one port (the primary only forks and passes on
 * connections, as snapboard's does). Its throughput is what N Node processes can serve on this
 * machine. `process.argv[2]` is N.
 *
 * IPC as bare-http.ts: receives `{type:'routes', routes}` (passed to every process); answers
 * `{type:'listening', port}` once all of them listen.
 */
import cluster from 'node:cluster';
import { availableParallelism } from 'node:os';

if (cluster.isPrimary) {
  const count = Math.max(1, Math.min(Number(process.argv[2]) || 1, availableParallelism() * 4));
  const workers = Array.from({ length: count }, () => cluster.fork());
  const ports = new Map<number, number>();
  let stopping = false;
  cluster.on('message', (worker, message: { type?: string; port?: number }) => {
    if (message.type !== 'listening' || typeof message.port !== 'number') return;
    ports.set(worker.id, message.port);
    if (ports.size === count) process.send?.({ type: 'listening', port: message.port });
  });
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) return;
    process.stderr.write(`bare-http process ${worker.id} exited (${signal ?? code})\n`);
    process.exit(1);
  });
  process.on('message', (message) => {
    for (const worker of workers) if (worker.isConnected()) worker.send(message as never);
  });
  const stop = () => {
    stopping = true;
    for (const worker of workers) worker.kill('SIGTERM');
    setTimeout(() => process.exit(0), 500).unref();
  };
  process.on('SIGTERM', stop);
  process.on('disconnect', stop);
} else {
  // The routes may arrive while bare-http.ts is still loading, before it listens for them: held here
  // and handed to it once it does.
  const early: unknown[] = [];
  const hold = (message: unknown) => early.push(message);
  process.on('message', hold);
  await import('./bare-http.ts');
  process.off('message', hold);
  for (const message of early) process.emit('message', message as never, undefined as never);
}

/**
 * The HTTP load generator: autocannon's programmatic API in a process of its own, so the load it puts
 * on the CPU is not counted against the server it measures (though on two cores they still share).
 *
 * IPC: `{type:'run', id, url, connections, durationSec, headers?, overallRate?}` →
 *      `{type:'result', id, rps, total, latencyP50, latencyP99, latencyMax, statuses, errors, timeouts}`.
 */
import autocannon from 'autocannon';

interface RunRequest {
  type: 'run';
  id: number;
  url: string;
  connections: number;
  durationSec: number;
  headers?: Record<string, string>;
  overallRate?: number;
}

function run(request: RunRequest): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    autocannon(
      {
        url: request.url,
        connections: request.connections,
        pipelining: 1,
        duration: request.durationSec,
        headers: request.headers ?? {},
        ...(request.overallRate ? { overallRate: request.overallRate } : {}),
        timeout: 10,
      },
      (error, result) => (error ? reject(error) : resolve(result)),
    );
  });
}

process.on('message', (message: RunRequest) => {
  if (message.type !== 'run') return;
  run(message).then(
    (result) => {
      const statuses: Record<string, number> = {};
      for (const [code, stat] of Object.entries(result.statusCodeStats ?? {})) {
        statuses[code] = Number((stat as { count: number | string }).count);
      }
      process.send?.({
        type: 'result',
        id: message.id,
        rps: result.requests.average,
        total: result.requests.total,
        latencyP50: result.latency.p50,
        latencyP99: result.latency.p99,
        latencyMax: result.latency.max,
        statuses,
        errors: result.errors,
        timeouts: result.timeouts,
      });
    },
    (error: Error) => process.send?.({ type: 'result', id: message.id, error: error.message }),
  );
});

process.on('disconnect', () => process.exit(0));

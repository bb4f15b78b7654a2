/**
 * The HTTP load generator: autocannon's programmatic API in a process of its own, so the load it puts
 * on the CPU is not counted against the server it measures (though on two cores they still share).
 *
 * With `trackEtag`, requests carry the newest ETag any answer has shown (If-None-Match), as pollers
 * that keep their last ETag do: mostly 304s, a 200 whenever the content moved on.
 *
 * IPC: `{type:'run', id, url, connections, durationSec, headers?, overallRate?, trackEtag?}` →
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
  trackEtag?: boolean;
}

function run(request: RunRequest): Promise<autocannon.Result> {
  // autocannon resets a request's context after every request of a one-request sequence, so the
  // ETag lives here, shared by all connections: the newest one seen.
  let etag = request.headers?.['if-none-match'];
  const tracking = request.trackEtag
    ? {
        requests: [
          {
            setupRequest: (req: autocannon.RequestParams) =>
              etag ? { ...req, headers: { ...req.headers, 'if-none-match': etag } } : req,
            onResponse: (_status: number, _body: string, _context: unknown, headers: Record<string, string>) => {
              if (headers.etag) etag = headers.etag;
            },
          },
        ],
      }
    : {};
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
        ...tracking,
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

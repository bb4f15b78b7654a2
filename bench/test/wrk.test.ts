import { describe, expect, it } from 'vitest';
import { figure } from '../lib/report.ts';
import { parseWrk } from '../lib/wrk.ts';

/** wrk 4.1's report with --latency, as Debian's package prints it. */
const REPORT = `Running 5s test @ http://127.0.0.1:40123/api/public/dashboard/v2/?limit=20
  1 threads and 100 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     4.41ms    1.04ms  20.56ms   88.40%
    Req/Sec    22.83k     1.23k   24.41k    78.00%
  Latency Distribution
     50%  850.00us
     75%    4.60ms
     90%    5.24ms
     99%    1.20s
  113566 requests in 5.00s, 1.86GB read
  Socket errors: connect 0, read 2, write 0, timeout 3
  Non-2xx or 3xx responses: 12
Requests/sec:  22708.72
Transfer/sec:    380.31MB
`;

describe('parseWrk', () => {
  it('happy: reads rate, count, percentiles in any unit, errors and bad statuses', () => {
    expect(parseWrk(REPORT)).toEqual({
      rps: 22708.72,
      requests: 113566,
      p50Ms: 0.85,
      p99Ms: 1200,
      badStatus: 12,
      socketErrors: 5,
    });
  });

  it('happy: a clean run has no error lines, which read as zero', () => {
    const clean = REPORT.replace(/ {2}Socket errors.*\n/, '').replace(/ {2}Non-2xx.*\n/, '');
    expect(parseWrk(clean)).toMatchObject({ badStatus: 0, socketErrors: 0 });
  });

  it('sad: output without a rate (wrk failed to connect) is an error, not a zero', () => {
    expect(() => parseWrk('unable to connect to 127.0.0.1:1 Connection refused\n')).toThrow(/unreadable wrk output/);
  });
});

describe('figure with a given ratio', () => {
  it('happy: the median of per-pair ratios is judged, not the ratio of the medians', () => {
    const f = figure({
      id: 'x',
      suite: 'http',
      label: 'x',
      value: 40,
      unit: 'µs',
      baseline: { label: 'bare', value: 30 },
      ratio: 1.04,
      target: { on: 'ratio', op: '<=', limit: 1.05 },
    });
    expect(f.ratio).toBe(1.04);
    expect(f.met).toBe(true);
  });
});

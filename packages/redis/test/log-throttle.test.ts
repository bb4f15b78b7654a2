import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { throttledErrors } from '../src/log-throttle.ts';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) });
  return { logger, lines };
}

afterEach(() => vi.useRealTimers());

describe('throttled connection errors', () => {
  it('happy: a storm of the same error is one line per window, then one that says how many were held back', () => {
    vi.useFakeTimers({ now: 0 });
    const { logger, lines } = capture();
    const report = throttledErrors(logger, 'warn', 10_000);
    const refused = new Error('connect ECONNREFUSED 127.0.0.1:6379');
    // Six connections retrying every 50 ms for 25 s.
    for (let t = 0; t < 25_000; t += 50) {
      vi.setSystemTime(t);
      for (const source of ['redis error', 'redis (queue) error', 'recompute worker error']) report(source, refused);
    }
    expect(lines).toHaveLength(9); // three sources × windows starting at 0, 10 s and 20 s
    const queueLines = lines.filter((l) => l.msg === 'redis (queue) error');
    expect(queueLines.map((l) => l.repeated)).toEqual([undefined, 199, 199]);
    expect(queueLines[0]).toMatchObject({ level: 40, err: { message: 'connect ECONNREFUSED 127.0.0.1:6379' } });
  });

  it('happy: a different error from the same source is logged at once', () => {
    const { logger, lines } = capture();
    const report = throttledErrors(logger);
    report('redis error', new Error('connect ECONNREFUSED 127.0.0.1:6379'));
    report('redis error', new Error('connect ECONNREFUSED 127.0.0.1:6379'));
    report('redis error', new Error('LOADING Redis is loading the dataset in memory'));
    expect(lines.map((l) => (l.err as { message: string }).message)).toEqual([
      'connect ECONNREFUSED 127.0.0.1:6379',
      'LOADING Redis is loading the dataset in memory',
    ]);
  });
});

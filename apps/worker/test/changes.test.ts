import type { SectionName } from '@snapboard/shared';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createDebouncer, SECTIONS_BY_TABLE } from '../src/changes.ts';

describe('change debouncing', () => {
  let flushed: SectionName[][];
  beforeEach(() => {
    vi.useFakeTimers();
    flushed = [];
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('happy: a burst of notifications becomes one request for the union of their sections', () => {
    const d = createDebouncer((s) => flushed.push(s), { waitMs: 20, maxWaitMs: 100 });
    d.add(['lite', 'overview']);
    vi.advanceTimersByTime(10);
    d.add(['lite', 'recent_trades']);
    vi.advanceTimersByTime(19);
    expect(flushed).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(flushed).toEqual([['lite', 'overview', 'recent_trades']]);
  });

  it('happy: a continuous stream still flushes within the maximum wait', () => {
    const d = createDebouncer((s) => flushed.push(s), { waitMs: 20, maxWaitMs: 100 });
    for (let t = 0; t < 250; t += 10) {
      d.add(['lite']);
      vi.advanceTimersByTime(10);
    }
    // Flushed at 100 and 200 ms despite never being quiet for 20 ms.
    expect(flushed).toEqual([['lite'], ['lite']]);
  });

  it("happy: without a wait, what was read together is one request on the loop's next turn", async () => {
    vi.useRealTimers();
    const d = createDebouncer((s) => flushed.push(s), { waitMs: 0, maxWaitMs: 0 });
    d.add(['lite']);
    d.add(['overview', 'lite']);
    expect(flushed).toEqual([]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(flushed).toEqual([['lite', 'overview']]);
    d.add(['recent_trades']);
    d.cancel();
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(flushed).toEqual([['lite', 'overview']]);
  });

  it('happy: the tables map to the sections the SPEC derives from them', () => {
    expect([...(SECTIONS_BY_TABLE.paper_trades ?? [])].sort()).toEqual(
      [
        'lite',
        'open_positions',
        'performance_metrics',
        'pnl_history',
        'recent_trades',
        'trading_stats',
        // SPEC §11: the bot's own API is over paper_trades too.
        'bot_open_positions',
        'bot_performance',
        'bot_summary',
        'bot_trades',
      ].sort(),
    );
    expect([...(SECTIONS_BY_TABLE.signals_paperaccount ?? [])].sort()).toEqual(['lite', 'overview', 'top_performers']);
  });
});

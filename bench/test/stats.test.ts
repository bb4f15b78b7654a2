import { describe, expect, it } from 'vitest';
import { figure, formatMarkdown, formatNotes, formatRatio, formatTable, formatValue, meets } from '../lib/report.ts';
import { mean, median, percentile, ratio, summarize } from '../lib/stats.ts';

describe('percentile (nearest rank)', () => {
  it('happy: picks the sample at the rank, whatever the input order', () => {
    const values = [5, 1, 4, 2, 3, 10, 9, 8, 7, 6];
    expect(percentile(values, 50)).toBe(5);
    expect(percentile(values, 90)).toBe(9);
    expect(percentile(values, 99)).toBe(10);
    expect(percentile(values, 100)).toBe(10);
    expect(percentile(values, 0)).toBe(1);
  });

  it('p99 of 1..1000 is 990, and of few samples is the maximum', () => {
    const thousand = Array.from({ length: 1000 }, (_, i) => i + 1);
    expect(percentile(thousand, 99)).toBe(990);
    expect(percentile([3, 1, 2], 99)).toBe(3);
  });

  it('error: no samples gives null, NaN samples are ignored, p outside 0..100 throws', () => {
    expect(percentile([], 50)).toBeNull();
    expect(percentile([Number.NaN, 2, Number.POSITIVE_INFINITY], 50)).toBe(2);
    expect(() => percentile([1], 101)).toThrow(RangeError);
    expect(() => percentile([1], Number.NaN)).toThrow(RangeError);
  });
});

describe('median and mean', () => {
  it('odd and even counts', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNull();
    expect(mean([1, 2, 3, 6])).toBe(3);
    expect(mean([])).toBeNull();
  });

  it('summarize reports count and the usual quantiles', () => {
    const s = summarize([10, 20, 30, 40]);
    expect(s).toEqual({ n: 4, min: 10, p50: 20, p90: 40, p99: 40, max: 40 });
  });
});

describe('ratio and targets', () => {
  it('ratio is value ÷ baseline, null when either is missing or the baseline is zero', () => {
    expect(ratio(90, 100)).toBeCloseTo(0.9);
    expect(ratio(1, 0)).toBeNull();
    expect(ratio(null, 3)).toBeNull();
    expect(ratio(3, undefined)).toBeNull();
  });

  it('a target judges the ratio or the value, in the stated direction', () => {
    expect(meets({ on: 'ratio', op: '>=', limit: 0.85 }, 1, 0.85)).toBe(true);
    expect(meets({ on: 'ratio', op: '>=', limit: 0.85 }, 1, 0.849)).toBe(false);
    expect(meets({ on: 'value', op: '<=', limit: 10 }, 10.01, 99)).toBe(false);
    expect(meets({ on: 'value', op: '<=', limit: 10 }, null, 1)).toBeNull();
  });

  it('figure() derives ratio and met from value, baseline and target', () => {
    const f = figure({
      id: 'http.v2.throughput',
      suite: 'http',
      label: 'v2 throughput',
      value: 8000,
      unit: 'req/s',
      baseline: { label: 'bare node:http', value: 10_000 },
      target: { on: 'ratio', op: '>=', limit: 0.85 },
    });
    expect(f.ratio).toBeCloseTo(0.8);
    expect(f.met).toBe(false);
    const untargeted = figure({ ...f, id: 'x', target: undefined });
    expect(untargeted.met).toBeNull();
  });
});

describe('formatting', () => {
  it('values keep three significant digits and group thousands', () => {
    expect(formatValue(12345.6, 'req/s')).toBe('12,346 req/s');
    expect(formatValue(3.14659, 'ms')).toBe('3.15 ms');
    expect(formatValue(0.01234, 'ms')).toBe('0.012 ms');
    expect(formatValue(null, 'ms')).toBe('—');
    expect(formatRatio(0.8512)).toBe('0.85×');
    expect(formatRatio(null)).toBe('—');
  });

  it('the table has one row per figure with the verdict, and markdown escapes pipes', () => {
    const figures = [
      figure({
        id: 'a',
        suite: 'http',
        label: 'v2 p99 latency',
        value: 12,
        unit: 'ms',
        baseline: { label: 'bare', value: 6 },
        target: { on: 'value', op: '<=', limit: 10 },
      }),
      figure({ id: 'b', suite: 'ws', label: 'a|b', value: 1, unit: '', baseline: { label: 'x', value: 1 } }),
    ];
    const table = formatTable(figures).split('\n');
    expect(table[0]).toMatch(/^figure\s+│ value\s+│ baseline\s+│ ratio\s+│ target\s+│ met\?$/);
    expect(table.find((l) => l.startsWith('v2 p99 latency'))).toMatch(/12 ms .*6 ms \(bare\) .*2\.00× .*≤ 10 ms .*NO/);
    expect(formatNotes(figures)).toBe('');
    expect(formatNotes([{ ...figures[0]!, note: 'bare was slow too' }])).toBe('  a: bare was slow too');
    const md = formatMarkdown(figures);
    expect(md).toContain('| a\\|b |');
    expect(md).toContain('**no**');
  });
});

import { describe, expect, it } from 'vitest';
import { escapeXml, fanoutSeries, gridLines, renderChart } from '../lib/chart.ts';
import { type Figure, figure } from '../lib/report.ts';

const FIGURES: Figure[] = [
  figure({
    id: 'http.v2.throughput_vs_bare',
    suite: 'http',
    label: 'v2 throughput vs bare <node:http>',
    value: 40_000,
    unit: 'req/s',
    baseline: { label: 'bare', value: 41_000 },
    target: { on: 'ratio', op: '>=', limit: 0.85 },
  }),
  figure({
    id: 'http.v2.p99',
    suite: 'http',
    label: 'v2 p99',
    value: 6,
    unit: 'ms',
    baseline: { label: 'bare', value: 5 },
    target: { on: 'value', op: '<=', limit: 10 },
  }),
  figure({
    id: 'db.readers_vs_idle',
    suite: 'db',
    label: 'DB transactions/min',
    value: 120,
    unit: 'tx/min',
    baseline: { label: 'idle', value: 120 },
    // Derived from a measured jitter allowance, so not a round number.
    target: { on: 'ratio', op: '<=', limit: 1.0987654321 },
  }),
  figure({
    id: 'ws.1000.last_p99',
    suite: 'ws',
    label: '1,000 subs p99',
    value: 105,
    unit: 'ms',
    baseline: { label: 'bare ws', value: 90 },
    target: { on: 'value', op: '<=', limit: 100 },
  }),
  figure({
    id: 'ws.10000.last_p99',
    suite: 'ws',
    label: '10,000 subs p99',
    value: 488,
    unit: 'ms',
    baseline: { label: 'bare ws', value: 1090 },
    target: { on: 'value', op: '<=', limit: 100 },
  }),
  figure({
    id: 'ws.10000.snapshots_only.last_p99',
    suite: 'ws',
    label: '10,000 subs, snapshots only',
    value: 859,
    unit: 'ms',
    baseline: { label: 'bare ws, snapshots only', value: 900 },
  }),
  figure({
    id: 'ws.10000.missed',
    suite: 'ws',
    label: 'versions missed',
    value: 0,
    unit: '',
    baseline: { label: 'bare ws', value: 0 },
    target: { on: 'value', op: '<=', limit: 0 },
  }),
  figure({
    id: 'worker.1m.total',
    suite: 'worker',
    label: 'worker total',
    value: null,
    unit: 'ms',
    baseline: { label: '10k', value: 13 },
    target: { on: 'value', op: '<=', limit: 500 },
  }),
  figure({
    id: 'fresh.p50',
    suite: 'fresh',
    label: 'no target',
    value: 40,
    unit: 'ms',
    baseline: { label: 'x', value: 1 },
  }),
];

/** Every number an SVG attribute holds must be finite, or the browser drops the element. */
function numericAttributes(svg: string): number[] {
  return [...svg.matchAll(/\s(?:x|y|x1|x2|y1|y2|cx|cy|r|width|height)="([^"%]*)"/g)].map((m) => Number(m[1]));
}

describe('bench chart', () => {
  const svg = renderChart({ figures: FIGURES, subtitle: 'a run on <this> machine' });

  it('happy: one scorecard row per figure with a target, coloured by its verdict', () => {
    // Eight figures have targets; the one without is not a row.
    for (const f of FIGURES.filter((x) => x.target)) expect(svg).toContain(escapeXml(f.label));
    expect(svg).not.toContain('>no target<');
    // Met: throughput, v2 p99, DB, versions missed (0 ≤ 0); missed: both fan-out p99s.
    expect(svg.match(/fill="#16a34a"><title>snapboard: /g)).toHaveLength(4);
    expect(svg.match(/fill="#dc2626"><title>snapboard: /g)).toHaveLength(2);
    expect(svg).toContain('not measured');
    expect(svg).toContain('0.98× baseline · target ≥ 0.85×');
    expect(svg).toContain('1.00× baseline · target ≤ 1.10×');
    expect(svg).not.toMatch(/\d{5,}×/);
  });

  it('happy: the fan-out lines follow subscribers, with the SPEC-only run apart and the target drawn', () => {
    const series = fanoutSeries(FIGURES);
    expect(series.map((s) => [s.name, s.points])).toEqual([
      [
        'snapboard',
        [
          { n: 1000, ms: 105 },
          { n: 10_000, ms: 488 },
        ],
      ],
      [
        'bare ws server, same frames',
        [
          { n: 1000, ms: 90 },
          { n: 10_000, ms: 1090 },
        ],
      ],
      ['snapboard, SPEC §7 snapshots only', [{ n: 10_000, ms: 859 }]],
    ]);
    expect(svg).toContain('target ≤ 100 ms');
  });

  it('happy: the picture says in words what it shows, for screen readers and broken images', () => {
    expect(svg).toMatch(
      /^<svg [^>]*role="img"[^>]*>\n<title>snapboard benchmark: 4 of 6 targets met; missed: 1,000 subs p99; 10,000 subs p99<\/title>/,
    );
  });

  it('edge: text is escaped, and every coordinate is a finite number', () => {
    expect(svg).toContain('a run on &#60;this&#62; machine');
    expect(svg).not.toMatch(/<node:http>/);
    const numbers = numericAttributes(svg);
    expect(numbers.length).toBeGreaterThan(50);
    expect(numbers.every(Number.isFinite)).toBe(true);
    expect(svg).not.toMatch(/NaN|Infinity/);
  });

  it('edge: a run without the ws suite draws no fan-out panel; an empty run is still a valid picture', () => {
    const httpOnly = renderChart({ figures: FIGURES.slice(0, 2), subtitle: '' });
    expect(httpOnly).not.toContain('WebSocket fan-out');
    const empty = renderChart({ figures: [], subtitle: '' });
    expect(empty).toMatch(/^<svg [^>]*>[\s\S]*<\/svg>\n$/);
    expect(numericAttributes(empty).every(Number.isFinite)).toBe(true);
  });

  it('grid lines are round values covering the range', () => {
    expect(gridLines(40, 1100)).toEqual([50, 100, 200, 500, 1000]);
    expect(gridLines(3, 9)).toEqual([2, 5, 10]);
  });
});

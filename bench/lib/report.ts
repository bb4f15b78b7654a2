import { ratio } from './stats.ts';

/**
 * A figure is one row of the bench table: a value, the baseline it was measured against in the same
 * run, their ratio, and the target it is judged by. Formatting lives here too, so the printed table,
 * latest.json and docs/benchmarks.md all say the same thing.
 */

/** A target is checked on the figure's value or on its ratio to the baseline. */
export interface Target {
  on: 'value' | 'ratio';
  op: '<=' | '>=';
  limit: number;
}

export function meets(target: Target, value: number | null, ratioValue: number | null): boolean | null {
  const x = target.on === 'value' ? value : ratioValue;
  if (x == null) return null;
  return target.op === '<=' ? x <= target.limit : x >= target.limit;
}

export function targetText(target: Target, unit: string): string {
  const limit = target.on === 'ratio' ? `${trimNumber(target.limit)}× baseline` : formatValue(target.limit, unit);
  return `${target.op === '<=' ? '≤' : '≥'} ${limit}`;
}

export interface Figure {
  /** Stable id for latest.json consumers, e.g. `http.v2.throughput`. */
  id: string;
  suite: string;
  label: string;
  value: number | null;
  unit: string;
  baseline: { label: string; value: number | null };
  /** value ÷ baseline. */
  ratio: number | null;
  target: Target | null;
  /** null when there is no target, or the figure could not be measured. */
  met: boolean | null;
  /** The raw per-round values the median was taken over, when there were rounds. */
  samples?: number[];
  note?: string;
}

/**
 * A figure as a suite states it; ratio and verdict are derived, unless the suite gives the ratio
 * itself (the median of per-pair ratios, which is not the ratio of the two medians).
 */
export type FigureInput = Omit<Figure, 'ratio' | 'target' | 'met'> & { target?: Target; ratio?: number | null };

export function figure(input: FigureInput): Figure {
  const r = input.ratio !== undefined ? input.ratio : ratio(input.value, input.baseline.value);
  const target = input.target ?? null;
  return {
    id: input.id,
    suite: input.suite,
    label: input.label,
    value: input.value,
    unit: input.unit,
    baseline: input.baseline,
    ratio: r,
    target,
    met: target ? meets(target, input.value, r) : null,
    ...(input.samples ? { samples: input.samples } : {}),
    ...(input.note ? { note: input.note } : {}),
  };
}

function trimNumber(x: number): string {
  return Number.isInteger(x) ? String(x) : String(Number(x.toPrecision(3)));
}

/** Human formatting: three significant digits, thousands grouped, the unit after. */
export function formatValue(value: number | null, unit: string): string {
  if (value == null) return '—';
  const abs = Math.abs(value);
  let text: string;
  if (abs >= 1000) text = Math.round(value).toLocaleString('en-US');
  else if (abs >= 100 || Number.isInteger(value)) text = String(Math.round(value));
  else if (abs >= 10) text = value.toFixed(1);
  else if (abs >= 1) text = value.toFixed(2);
  else if (abs === 0) text = '0';
  else text = value.toPrecision(2);
  return unit ? `${text} ${unit}` : text;
}

export function formatRatio(value: number | null): string {
  if (value == null) return '—';
  if (value >= 100) return `${Math.round(value)}×`;
  if (value >= 10) return `${value.toFixed(1)}×`;
  return `${value.toFixed(2)}×`;
}

/** The table `npm run bench` prints: figure, value, baseline, ratio, target, met?. */
export function formatTable(figures: readonly Figure[]): string {
  const header = ['figure', 'value', 'baseline', 'ratio', 'target', 'met?'];
  const rows = figures.map((f) => [
    f.label,
    formatValue(f.value, f.unit),
    `${formatValue(f.baseline.value, f.unit)} (${f.baseline.label})`,
    formatRatio(f.ratio),
    f.target ? targetText(f.target, f.unit) : '',
    f.met === null ? (f.target ? 'n/a' : '') : f.met ? 'yes' : 'NO',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join(' │ ')
      .trimEnd();
  const out: string[] = [line(header), widths.map((w) => '─'.repeat(w)).join('─┼─')];
  let suite = figures[0]?.suite;
  figures.forEach((f, i) => {
    if (f.suite !== suite) {
      out.push(widths.map((w) => '─'.repeat(w)).join('─┼─'));
      suite = f.suite;
    }
    out.push(line(rows[i]!));
  });
  return out.join('\n');
}

/** The notes that go with the table: what a figure's number alone does not say. */
export function formatNotes(figures: readonly Figure[]): string {
  return figures
    .filter((f) => f.note)
    .map((f) => `  ${f.id}: ${f.note}`)
    .join('\n');
}

/** The same figures as a GitHub-flavoured Markdown table, for docs/benchmarks.md. */
export function formatMarkdown(figures: readonly Figure[]): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  const out = ['| figure | value | baseline | ratio | target | met? |', '|---|---|---|---|---|---|'];
  for (const f of figures) {
    out.push(
      `| ${esc(f.label)} | ${formatValue(f.value, f.unit)} | ${esc(`${formatValue(f.baseline.value, f.unit)} (${f.baseline.label})`)} | ${formatRatio(f.ratio)} | ${f.target ? targetText(f.target, f.unit) : ''} | ${f.met === null ? (f.target ? 'n/a' : '') : f.met ? 'yes' : '**no**'} |`,
    );
  }
  return out.join('\n');
}

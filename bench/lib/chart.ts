import { type Figure, formatRatio, formatValue, targetText } from './report.ts';

/**
 * The bench's figures as a picture (bench/results/latest.svg): a table of forty numbers says whether
 * each target was met, a picture says by how much and how far the baseline is, at a glance.
 *
 * - Scorecard: one row per figure that has a target. Each row has its own log scale spanning the
 *   value, the baseline and the target, so a 16 KiB row and a 40,000 req/s row read alike: the
 *   dashed line is the target, the hollow ring the baseline, the dot snapboard (green met, red missed).
 * - Fan-out: announce → last subscriber p99 against subscribers, snapboard and the bare ws server
 *   (and SPEC-only frames where measured), with the 100 ms target, on a log time axis.
 *
 * Plain SVG with inline styles: it renders the same on GitHub, in a browser and in an image viewer.
 */

const GREEN = '#16a34a';
const RED = '#dc2626';
const GREY = '#6b7280';
const INK = '#111827';
const FONT = 'font-family="ui-sans-serif, system-ui, -apple-system, Segoe UI, sans-serif"';

const WIDTH = 1000;
const LABEL_W = 340;
const PLOT_X0 = LABEL_W + 20;
const PLOT_X1 = WIDTH - 200;
const ROW_H = 30;

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A value placeable on a log axis: a 0 (e.g. "0 versions missed") sits at the axis' low end. */
function placeable(x: number | null): x is number {
  return x != null && Number.isFinite(x) && x >= 0;
}

interface LogAxis {
  at(x: number): number;
}

function logAxis(values: number[], x0: number, x1: number): LogAxis {
  const pos = values.filter((v) => v > 0);
  if (!pos.length) return { at: () => (x0 + x1) / 2 };
  // A decade's margin at least, so that close values still show apart and none sits on an edge.
  let lo = Math.log10(Math.min(...pos));
  let hi = Math.log10(Math.max(...pos));
  const pad = Math.max(0.15, (hi - lo) * 0.12);
  lo -= pad;
  hi += pad;
  return {
    at(x: number) {
      if (x <= 0) return x0;
      return x0 + ((Math.log10(x) - lo) / (hi - lo)) * (x1 - x0);
    },
  };
}

export interface ChartInput {
  figures: readonly Figure[];
  /** Shown under the title: when and where it was measured. */
  subtitle: string;
}

function scorecard(figures: readonly Figure[], top: number): { svg: string; height: number } {
  const rows = figures.filter((f) => f.target);
  const parts: string[] = [];
  parts.push(
    `<text x="20" y="${top + 14}" font-size="15" font-weight="600" fill="${INK}">Targets</text>`,
    `<text x="${PLOT_X0}" y="${top + 14}" font-size="11" fill="${GREY}">each row on its own log scale:  ` +
      `<tspan fill="${GREEN}">●</tspan> met  <tspan fill="${RED}">●</tspan> missed  ○ baseline  ┊ target</text>`,
  );
  let y = top + 28;
  let suite: string | undefined;
  for (const f of rows) {
    if (f.suite !== suite) {
      suite = f.suite;
      parts.push(`<line x1="20" x2="${WIDTH - 20}" y1="${y + 2}" y2="${y + 2}" stroke="#e5e7eb"/>`);
    }
    const target = f.target!;
    const mid = y + ROW_H / 2 + 2;
    const known = [f.value, f.baseline.value, target.on === 'value' ? target.limit : null].filter(placeable);
    // A ratio target sits where the baseline times the limit is.
    const targetAt =
      target.on === 'value' ? target.limit : placeable(f.baseline.value) ? f.baseline.value * target.limit : null;
    if (targetAt != null) known.push(targetAt);
    const axis = logAxis(known, PLOT_X0, PLOT_X1);
    const colour = f.met === true ? GREEN : f.met === false ? RED : GREY;
    parts.push(
      `<text x="20" y="${mid + 4}" font-size="12" fill="${INK}">${escapeXml(f.label)}</text>`,
      `<line x1="${PLOT_X0}" x2="${PLOT_X1}" y1="${mid}" y2="${mid}" stroke="#d1d5db"/>`,
    );
    if (targetAt != null) {
      const x = axis.at(targetAt).toFixed(1);
      parts.push(
        `<line x1="${x}" x2="${x}" y1="${mid - 10}" y2="${mid + 10}" stroke="${INK}" stroke-dasharray="3 2"/>`,
      );
    }
    if (placeable(f.baseline.value)) {
      parts.push(
        `<circle cx="${axis.at(f.baseline.value).toFixed(1)}" cy="${mid}" r="5" fill="white" stroke="${GREY}" stroke-width="1.5"><title>${escapeXml(`${f.baseline.label}: ${formatValue(f.baseline.value, f.unit)}`)}</title></circle>`,
      );
    }
    if (placeable(f.value)) {
      parts.push(
        `<circle cx="${axis.at(f.value).toFixed(1)}" cy="${mid}" r="6" fill="${colour}"><title>${escapeXml(`snapboard: ${formatValue(f.value, f.unit)}`)}</title></circle>`,
      );
    }
    const verdict = f.value == null ? 'not measured' : formatValue(f.value, f.unit);
    // A ratio target is judged on the ratio: show it rather than make the reader divide.
    const detail =
      target.on === 'ratio'
        ? `${formatRatio(f.ratio)} baseline · target ${target.op === '<=' ? '≤' : '≥'} ${formatRatio(target.limit)}`
        : `target ${targetText(target, f.unit)}`;
    parts.push(
      `<text x="${PLOT_X1 + 12}" y="${mid}" font-size="12" font-weight="600" fill="${colour}">${escapeXml(verdict)}</text>`,
      `<text x="${PLOT_X1 + 12}" y="${mid + 12}" font-size="10" fill="${GREY}">${escapeXml(detail)}</text>`,
    );
    y += ROW_H;
  }
  return { svg: parts.join('\n'), height: y - top + 10 };
}

interface Series {
  name: string;
  colour: string;
  dash?: string;
  points: { n: number; ms: number }[];
}

/** ws.<n>.last_p99 and ws.<n>.snapshots_only.last_p99 → one line per server. */
export function fanoutSeries(figures: readonly Figure[]): Series[] {
  const snap: Series = { name: 'snapboard', colour: GREEN, points: [] };
  const bare: Series = { name: 'bare ws server, same frames', colour: GREY, points: [] };
  const full: Series = { name: 'snapboard, SPEC §7 snapshots only', colour: '#2563eb', dash: '5 3', points: [] };
  for (const f of figures) {
    const m = /^ws\.(\d+)\.(snapshots_only\.)?last_p99$/.exec(f.id);
    if (!m) continue;
    const n = Number(m[1]);
    if (m[2]) {
      if (placeable(f.value)) full.points.push({ n, ms: f.value });
      continue;
    }
    if (placeable(f.value)) snap.points.push({ n, ms: f.value });
    if (placeable(f.baseline.value)) bare.points.push({ n, ms: f.baseline.value });
  }
  return [snap, bare, full]
    .filter((s) => s.points.length)
    .map((s) => ({ ...s, points: s.points.sort((a, b) => a.n - b.n) }));
}

function fanout(figures: readonly Figure[], top: number): { svg: string; height: number } {
  const series = fanoutSeries(figures);
  if (!series.length) return { svg: '', height: 0 };
  const target = figures.find((f) => /^ws\.\d+\.last_p99$/.test(f.id))?.target?.limit ?? null;
  const x0 = 90;
  const x1 = WIDTH - 260;
  const y0 = top + 40;
  const y1 = top + 300;
  const ns = [...new Set(series.flatMap((s) => s.points.map((p) => p.n)))].sort((a, b) => a - b);
  const all = series.flatMap((s) => s.points.map((p) => p.ms));
  if (target != null) all.push(target);
  const yAxis = logAxis(all, 0, 1);
  const py = (ms: number) => y1 - yAxis.at(ms) * (y1 - y0);
  const xAxis = logAxis(ns, 0, 1);
  const px = (n: number) => x0 + (ns.length > 1 ? xAxis.at(n) : 0.5) * (x1 - x0);
  const parts: string[] = [
    `<text x="20" y="${top + 14}" font-size="15" font-weight="600" fill="${INK}">WebSocket fan-out: announce → last subscriber, p99</text>`,
    `<rect x="${x0}" y="${y0}" width="${x1 - x0}" height="${y1 - y0}" fill="none" stroke="#e5e7eb"/>`,
  ];
  for (const ms of gridLines(Math.min(...all), Math.max(...all))) {
    const y = py(ms).toFixed(1);
    parts.push(
      `<line x1="${x0}" x2="${x1}" y1="${y}" y2="${y}" stroke="#f3f4f6"/>`,
      `<text x="${x0 - 8}" y="${Number(y) + 4}" font-size="11" text-anchor="end" fill="${GREY}">${ms} ms</text>`,
    );
  }
  for (const n of ns) {
    parts.push(
      `<text x="${px(n).toFixed(1)}" y="${y1 + 18}" font-size="11" text-anchor="middle" fill="${GREY}">${n.toLocaleString('en-US')}</text>`,
    );
  }
  parts.push(
    `<text x="${(x0 + x1) / 2}" y="${y1 + 36}" font-size="11" text-anchor="middle" fill="${GREY}">subscribers on one API process</text>`,
  );
  if (target != null) {
    const y = py(target).toFixed(1);
    parts.push(
      `<line x1="${x0}" x2="${x1}" y1="${y}" y2="${y}" stroke="${RED}" stroke-dasharray="6 4"/>`,
      `<text x="${x1 - 4}" y="${Number(y) - 6}" font-size="11" text-anchor="end" fill="${RED}">target ≤ ${target} ms</text>`,
    );
  }
  series.forEach((s, i) => {
    const path = s.points.map((p, j) => `${j ? 'L' : 'M'}${px(p.n).toFixed(1)},${py(p.ms).toFixed(1)}`).join(' ');
    parts.push(
      `<path d="${path}" fill="none" stroke="${s.colour}" stroke-width="2.5"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/>`,
    );
    for (const p of s.points) {
      parts.push(
        `<circle cx="${px(p.n).toFixed(1)}" cy="${py(p.ms).toFixed(1)}" r="4" fill="${s.colour}"><title>${escapeXml(`${s.name}, ${p.n.toLocaleString('en-US')} subscribers: ${formatValue(p.ms, 'ms')}`)}</title></circle>`,
      );
    }
    const ly = y0 + 10 + i * 22;
    parts.push(
      `<line x1="${x1 + 20}" x2="${x1 + 44}" y1="${ly}" y2="${ly}" stroke="${s.colour}" stroke-width="2.5"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/>`,
      `<text x="${x1 + 50}" y="${ly + 4}" font-size="11" fill="${INK}">${escapeXml(s.name)}</text>`,
    );
  });
  return { svg: parts.join('\n'), height: y1 - top + 50 };
}

/** Round values (1, 2, 5 × 10^k) between lo and hi, for a log axis' grid. */
export function gridLines(lo: number, hi: number): number[] {
  const out: number[] = [];
  const from = Math.floor(Math.log10(Math.max(lo, 1e-3)));
  const to = Math.ceil(Math.log10(Math.max(hi, 1e-3)));
  for (let k = from; k <= to; k++) {
    for (const m of [1, 2, 5]) {
      const v = Number((m * 10 ** k).toPrecision(1));
      if (v >= lo / 1.5 && v <= hi * 1.5) out.push(v);
    }
  }
  return out;
}

export function renderChart(input: ChartInput): string {
  const title = `<text x="20" y="30" font-size="18" font-weight="700" fill="${INK}">snapboard — npm run bench</text>
<text x="20" y="50" font-size="12" fill="${GREY}">${escapeXml(input.subtitle)}</text>`;
  const card = scorecard(input.figures, 70);
  const fan = fanout(input.figures, 70 + card.height + 20);
  const height = 70 + card.height + 20 + fan.height + 10;
  const judged = input.figures.filter((f) => f.met !== null);
  const missed = judged.filter((f) => f.met === false);
  // What a screen reader (or a broken image) says instead of the picture.
  const summary = `snapboard benchmark: ${judged.length - missed.length} of ${judged.length} targets met${
    missed.length ? `; missed: ${missed.map((f) => f.label).join('; ')}` : ''
  }`;
  return `<svg xmlns="http://www.w3.org/2000/svg" role="img" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" ${FONT}>
<title>${escapeXml(summary)}</title>
<rect width="100%" height="100%" fill="white"/>
${title}
${card.svg}
${fan.svg}
</svg>
`;
}

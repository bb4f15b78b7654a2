/**
 * `npx tsx bench/page.ts [--rounds N]`: what the page's first paint (decision 0017) costs the API.
 * Bundles the page as the API does, then prepares it carrying a snapshot of every page section (the
 * API tests' fixtures: 30-item lists cut to 20, 720 pnl_history points) N times, and prints the sizes
 * served and the CPU per preparation (process.cpuUsage, so other load on the host counts less than
 * in wall time). A page is prepared at most once per change set and limit, only when requested.
 */
import { parseArgs } from 'node:util';
import { PAGE_SECTIONS, SECTIONS } from '@snapboard/shared';
import { bundlePage, type FirstPaint, type FirstPaintSnapshot } from '@snapboard/web';
import { makeSnapshot } from '../apps/api/test/support/fixtures.ts';
import { median, percentile } from './lib/stats.ts';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '300' } } });
const rounds = Number(values.rounds);
if (!Number.isInteger(rounds) || rounds < 1) {
  console.error(`--rounds must be a whole number of at least 1, not ${values.rounds}`);
  process.exit(2);
}

const limit = 20;
const firstPaint: FirstPaint = {
  limit,
  snapshots: PAGE_SECTIONS.map((section) => {
    const { epoch, version, computed_at, ttl, data } = makeSnapshot(section, { epoch: 'bench', version: 1 });
    const shown = SECTIONS[section].limited && Array.isArray(data) ? data.slice(0, limit) : data;
    return { section, epoch, version, computed_at, ttl, data: shown } as FirstPaintSnapshot;
  }),
};

const bundle = await bundlePage();
let page = bundle.prepare(firstPaint);
const cpuMs: number[] = [];
for (let i = 0; i < rounds; i++) {
  const before = process.cpuUsage();
  page = bundle.prepare(firstPaint);
  const used = process.cpuUsage(before);
  cpuMs.push((used.user + used.system) / 1000);
}

const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;
const rows: Array<[string, string]> = [
  ['script (gzip)', `${kb(bundle.js.body.length)} (${kb(bundle.js.gzip.length)})`],
  ['stylesheet (gzip)', `${kb(bundle.css.body.length)} (${kb(bundle.css.gzip.length)})`],
  ['HTML without snapshots (gzip)', `${kb(bundle.shell.html.length)} (${kb(bundle.shell.gzip.length)})`],
  ['HTML with snapshots (gzip)', `${kb(page.html.length)} (${kb(page.gzip.length)})`],
  [
    `prepare, CPU ms (median / p95 of ${rounds})`,
    `${median(cpuMs)?.toFixed(3)} / ${percentile(cpuMs, 95)?.toFixed(3)}`,
  ],
];
const width = Math.max(...rows.map(([label]) => label.length));
for (const [label, value] of rows) console.log(`${label.padEnd(width)}  ${value}`);

import { SECTION_NAMES, type SectionName } from '@snapboard/shared';
import pg from 'pg';
import type { BenchContext } from '../lib/context.ts';
import { ensureSeeded } from '../lib/env.ts';
import { type Figure, figure } from '../lib/report.ts';
import { median } from '../lib/stats.ts';

/**
 * 4. Worker cost as data grows: each section's compute (the worker's own `timeSections`, SQL only,
 * no Redis) on databases of 10,000, 100,000 and 1,000,000 trades seeded by `db:seed`. Rounds are
 * repeated and medians taken; the first round also folds any pending rollup markers and is dropped.
 * Baselines: a `SELECT 1` round trip on the same connection, and the same section at 10,000 trades.
 */

const SIZES = [
  { label: '10k', trades: 10_000, database: 'snapboard_bench_10k' },
  { label: '100k', trades: 100_000, database: 'snapboard_bench_100k' },
  { label: '1M', trades: 1_000_000, database: 'snapboard_seed1m' },
] as const;

interface SizeResult {
  trades: number;
  selectOneMs: number;
  firstRefreshMs: number;
  sections: Record<SectionName, number>;
  totalMs: number;
  rounds: number[];
}

export async function workerSuite(ctx: BenchContext): Promise<Figure[]> {
  // Loaded here, not at the top: the other suites run without the worker package's internals.
  const { timeSections } = await import('@snapboard/worker');
  const rounds = ctx.quick ? 3 : 7;
  const results: Record<string, SizeResult> = {};

  for (const size of SIZES) {
    const db = await ensureSeeded(ctx.postgresUrl, size.database, size.trades, ctx.log);
    if (db.seeded) ctx.log(`worker: seeded ${size.database} in ${(db.seedMs / 1000).toFixed(0)} s`);
    const pool = new pg.Pool({ connectionString: db.url, max: 1, application_name: 'snapboard-bench-timings' });
    try {
      const pings: number[] = [];
      for (let i = 0; i < 30; i++) {
        const t = performance.now();
        await pool.query('SELECT 1');
        pings.push(performance.now() - t);
      }
      const first = await timeSections(pool);
      const perSection = new Map<SectionName, number[]>();
      const totals: number[] = [];
      for (let r = 0; r < rounds; r++) {
        const timings = await timeSections(pool);
        totals.push(timings.totalMs);
        for (const s of timings.sections) perSection.set(s.section, [...(perSection.get(s.section) ?? []), s.ms]);
      }
      results[size.label] = {
        trades: db.trades,
        selectOneMs: median(pings)!,
        firstRefreshMs: first.refreshMs,
        sections: Object.fromEntries(
          SECTION_NAMES.map((s) => [s, median(perSection.get(s) ?? []) ?? Number.NaN]),
        ) as Record<SectionName, number>,
        totalMs: median(totals)!,
        rounds: totals,
      };
      ctx.log(
        `worker: ${size.label} (${db.trades.toLocaleString('en')} trades) total ${results[size.label]!.totalMs.toFixed(1)} ms | ` +
          SECTION_NAMES.map((s) => `${s} ${results[size.label]!.sections[s].toFixed(1)}`).join(' | '),
      );
    } finally {
      await pool.end();
    }
  }
  ctx.facts.worker = results;

  const small = results['10k']!;
  const figures: Figure[] = [];
  for (const size of SIZES) {
    const r = results[size.label]!;
    const isSmall = size.label === '10k';
    figures.push(
      figure({
        id: `worker.${size.label}.total`,
        suite: 'worker',
        label: `worker total, all sections @${size.label}`,
        value: r.totalMs,
        unit: 'ms',
        baseline: isSmall
          ? { label: 'SELECT 1 round trip', value: r.selectOneMs }
          : { label: 'same @10k', value: small.totalMs },
        ...(size.label === '1M' ? { target: { on: 'value' as const, op: '<=' as const, limit: 500 } } : {}),
        samples: r.rounds,
        note: `${r.trades.toLocaleString('en')} trades; SELECT 1 ${r.selectOneMs.toFixed(2)} ms`,
      }),
    );
  }
  for (const size of SIZES) {
    const r = results[size.label]!;
    for (const section of SECTION_NAMES) {
      figures.push(
        figure({
          id: `worker.${size.label}.${section}`,
          suite: 'worker',
          label: `  ${section} @${size.label}`,
          value: r.sections[section],
          unit: 'ms',
          baseline:
            size.label === '10k'
              ? { label: 'SELECT 1 round trip', value: r.selectOneMs }
              : { label: 'same @10k', value: small.sections[section] },
        }),
      );
    }
  }
  return figures;
}

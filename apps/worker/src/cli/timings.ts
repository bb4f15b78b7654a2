import { loadConfigOrExit, median, redactUrl } from '@snapboard/shared';
import pg from 'pg';
import { timeSections } from '../timings.ts';
import { parseSections, UsageError } from './args.ts';

/**
 * `tsx apps/worker/src/cli/timings.ts [--rounds N] [section ...]`: how long each section's compute
 * takes against DATABASE_URL. Read-only apart from folding pending rollup markers.
 */
const args = process.argv.slice(2);
let rounds = 3;
const roundsAt = args.indexOf('--rounds');
if (roundsAt >= 0) {
  rounds = Number(args[roundsAt + 1]);
  args.splice(roundsAt, 2);
}
let sections: ReturnType<typeof parseSections>;
try {
  if (!Number.isInteger(rounds) || rounds < 1) throw new UsageError('--rounds must be a whole number ≥ 1');
  sections = parseSections(args);
} catch (error) {
  if (!(error instanceof UsageError)) throw error;
  process.stderr.write(`${error.message}\n`);
  process.exit(2);
}

const config = loadConfigOrExit();
const pool = new pg.Pool({ connectionString: config.databaseUrl, max: 1 });
try {
  const { rows } = await pool.query<{ n: string }>('SELECT count(*) AS n FROM paper_trades');
  console.log(`${redactUrl(config.databaseUrl)}: ${rows[0]?.n ?? '?'} trades`);
  const samples = new Map<string, number[]>();
  const record = (name: string, ms: number) => samples.set(name, [...(samples.get(name) ?? []), ms]);
  for (let round = 1; round <= rounds; round++) {
    const timings = await timeSections(pool, { sections });
    const cells = timings.sections.map((s) => `${s.section} ${s.ms.toFixed(1)}`).join(' | ');
    console.log(
      `round ${round}: refresh ${timings.refreshMs.toFixed(1)} ms | ${cells} | total ${timings.totalMs.toFixed(1)} ms`,
    );
    for (const s of timings.sections) record(s.section, s.ms);
    record('total', timings.totalMs);
  }
  // On a shared machine the minimum is the best estimate of a section's own cost.
  console.log(`over ${rounds} rounds (ms):`);
  for (const [name, values] of samples) {
    const middle = median(values) ?? 0;
    console.log(
      `  ${name.padEnd(20)} min ${Math.min(...values)
        .toFixed(1)
        .padStart(7)}  median ${middle.toFixed(1).padStart(7)}`,
    );
  }
} finally {
  await pool.end();
}

import { parseArgs } from 'node:util';
import { loadConfigOrExit, median, redactUrl } from '@snapboard/shared';
import pg from 'pg';
import { timeSections } from '../timings.ts';
import { parseSections, UsageError } from './args.ts';

/**
 * `tsx apps/worker/src/cli/timings.ts [--rounds N] [section ...]`: how long each section's compute
 * takes against DATABASE_URL. Read-only apart from folding pending rollup markers.
 */
const USAGE = 'usage: tsx apps/worker/src/cli/timings.ts [--rounds N] [section ...]';

function commandLine(argv: string[]): { rounds: number; sections: ReturnType<typeof parseSections> } {
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: true,
      options: { rounds: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    });
    if (values.help) {
      console.log(USAGE);
      process.exit(0);
    }
    const rounds = values.rounds === undefined ? 3 : Number(values.rounds);
    if (!Number.isInteger(rounds) || rounds < 1) throw new UsageError('--rounds must be a whole number ≥ 1');
    return { rounds, sections: parseSections(positionals) };
  } catch (error) {
    const message = error instanceof UsageError ? error.message : `${(error as Error).message}\n${USAGE}`;
    process.stderr.write(`${message}\n`);
    process.exit(2);
  }
}

const { rounds, sections } = commandLine(process.argv.slice(2));

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

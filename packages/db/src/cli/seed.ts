import { loadConfigOrExit, redactUrl } from '@snapboard/shared';
import { SeedRefusedError, seed } from '../seed.ts';
import { parseSeedArgs, SEED_USAGE } from '../seed-args.ts';
import { createProgressReporter } from '../seed-progress.ts';

const args = parseSeedArgs(process.argv.slice(2));
if (args.kind === 'help') {
  console.log(SEED_USAGE);
  process.exit(0);
}
if (args.kind === 'error') {
  console.error(`db:seed: ${args.message}\n${SEED_USAGE}`);
  process.exit(2);
}

const config = loadConfigOrExit();
try {
  const result = await seed({
    databaseUrl: config.databaseUrl,
    trades: args.trades,
    append: args.append,
    seed: args.seed,
    now: args.now,
    onProgress: createProgressReporter(process.stderr),
  });
  const statuses = Object.entries(result.byStatus)
    .map(([status, count]) => `${status} ${count.toLocaleString('en')}`)
    .join(', ');
  console.log(
    `seeded ${result.trades.toLocaleString('en')} trades (${statuses}), ${result.users} users, ` +
      `${result.signals.toLocaleString('en')} signals into ${redactUrl(config.databaseUrl)} ` +
      `in ${(result.durationMs / 1000).toFixed(1)} s (--seed ${result.seed} --now ${new Date(result.now).toISOString()})`,
  );
} catch (error) {
  const message = error instanceof SeedRefusedError ? error.message : `failed: ${(error as Error).message}`;
  console.error(`db:seed: ${message}`);
  process.exit(1);
}

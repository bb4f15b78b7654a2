import { parseArgs } from 'node:util';
import { MAX_SEED_TRADES, MIN_SEED_TRADES } from './seed-plan.ts';

export const DEFAULT_SEED_TRADES = 10_000;

export const SEED_USAGE = `usage: npm run db:seed -- [--trades N] [--append] [--seed S] [--now TIME]
  --trades N   paper trades to create, ${MIN_SEED_TRADES.toLocaleString('en')} to ${MAX_SEED_TRADES.toLocaleString('en')} (default ${DEFAULT_SEED_TRADES.toLocaleString('en')}); 1_000_000 and 1,000,000 work too
  --append     add to a database that already has trades (otherwise only an empty one is filled)
  --seed S     repeat an earlier run's data (a whole number; together with the same --now)
  --now TIME   end the history at TIME (ISO 8601) instead of the current time
Connects to DATABASE_URL (default postgres://postgres@127.0.0.1:5432/snapboard).`;

export type SeedArgs =
  | { kind: 'help' }
  | { kind: 'error'; message: string }
  | { kind: 'run'; trades: number; append: boolean; seed: number | undefined; now: number | undefined };

const WHOLE = /^\d+$/;

/** The db:seed command line; never throws, so every mistake becomes a message and exit code 2. */
export function parseSeedArgs(argv: readonly string[]): SeedArgs {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    return { kind: 'error', message: (error as Error).message };
  }
  const { values, positionals } = parsed;
  if (values.help) return { kind: 'help' };
  if (positionals.length) return { kind: 'error', message: `unexpected argument "${positionals[0]}"` };

  let trades = DEFAULT_SEED_TRADES;
  if (values.trades !== undefined) {
    const digits = values.trades.trim().replace(/(?<=\d)[_,](?=\d{3})/g, '');
    if (!WHOLE.test(digits))
      return { kind: 'error', message: `--trades must be a whole number, got "${values.trades}"` };
    trades = Number(digits);
    if (trades < MIN_SEED_TRADES || trades > MAX_SEED_TRADES) {
      return {
        kind: 'error',
        message: `--trades must be from ${MIN_SEED_TRADES.toLocaleString('en')} to ${MAX_SEED_TRADES.toLocaleString('en')}, got ${values.trades}`,
      };
    }
  }

  let seed: number | undefined;
  if (values.seed !== undefined) {
    if (!WHOLE.test(values.seed) || Number(values.seed) > 2 ** 32 - 1) {
      return { kind: 'error', message: `--seed must be a whole number below 2^32, got "${values.seed}"` };
    }
    seed = Number(values.seed);
  }

  let now: number | undefined;
  if (values.now !== undefined) {
    now = Date.parse(values.now);
    if (!/^\d{4}-\d{2}-\d{2}/.test(values.now) || Number.isNaN(now)) {
      return {
        kind: 'error',
        message: `--now must be an ISO 8601 time such as 2025-01-31T12:00:00Z, got "${values.now}"`,
      };
    }
  }
  return { kind: 'run', trades, append: values.append ?? false, seed, now };
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: true,
    options: {
      trades: { type: 'string', short: 'n' },
      append: { type: 'boolean' },
      seed: { type: 'string' },
      now: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

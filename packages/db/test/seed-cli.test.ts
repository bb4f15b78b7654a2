import { useTestEnv } from '@snapboard/devenv/testing';
import { describe, expect, it } from 'vitest';
import { parseSeedArgs } from '../src/seed-args.ts';
import { createProgressReporter } from '../src/seed-progress.ts';
import { CHILD_TIMEOUT_MS, runCli } from './run-cli.ts';
import { query } from './seed-invariants.ts';

/**
 * A test that spawns two children waits as long as both may take: with vitest's 30 s default a busy
 * machine (CI once: the happy path timed out at 30 s; it takes ~1.3 s alone) failed a correct seed
 * without a word from the children.
 */
const TWO_CHILDREN_MS = 2 * CHILD_TIMEOUT_MS + 10_000;

const runSeed = (args: string[], env: Record<string, string>) => runCli('seed', args, env);

describe('db:seed arguments', () => {
  it('happy: whole numbers in range, with separators, and the flags', () => {
    expect(parseSeedArgs(['--trades', '1000'])).toMatchObject({ kind: 'run', trades: 1000, append: false });
    expect(parseSeedArgs(['--trades=1_000_000', '--append'])).toMatchObject({ trades: 1_000_000, append: true });
    expect(parseSeedArgs(['--trades', '250,000', '--seed', '7', '--now', '2025-01-31T12:00:00Z'])).toEqual({
      kind: 'run',
      trades: 250_000,
      append: false,
      seed: 7,
      now: Date.parse('2025-01-31T12:00:00Z'),
    });
    expect(parseSeedArgs([])).toMatchObject({ kind: 'run', trades: 10_000 });
    expect(parseSeedArgs(['--help'])).toEqual({ kind: 'help' });
  });

  it('error: anything else is a message, never an exception', () => {
    const cases: [string[], RegExp][] = [
      [['--trades', 'abc'], /whole number/],
      [['--trades', '0'], /from 1,000 to 1,000,000/],
      [['--trades', '5000000'], /from 1,000 to 1,000,000/],
      [['--trades=-5'], /whole number/],
      [['--trades', '1e6'], /whole number/],
      [['--trades', '12.5'], /whole number/],
      [['--trades'], /argument missing/],
      [['--tardes', '1000'], /Unknown option/],
      [['1000'], /unexpected argument/],
      [['--seed', 'x'], /--seed/],
      [['--now', 'yesterday'], /--now/],
    ];
    for (const [argv, message] of cases) {
      const parsed = parseSeedArgs(argv);
      expect(parsed.kind, argv.join(' ')).toBe('error');
      if (parsed.kind === 'error') expect(parsed.message, argv.join(' ')).toMatch(message);
    }
  });
});

describe('db:seed command', () => {
  const env = useTestEnv();

  it('error: a bad --trades exits 2 with the reason and the usage, before touching the database', {
    timeout: CHILD_TIMEOUT_MS + 10_000,
  }, async () => {
    const run = await runSeed(['--trades', 'abc'], { DATABASE_URL: 'postgres://nobody@127.0.0.1:1/nowhere' });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--trades must be a whole number, got "abc"/);
    expect(run.stderr).toMatch(/usage: npm run db:seed/);
  });

  it('happy: seeds an empty database with progress lines on a non-terminal stderr, then refuses to seed it again', {
    timeout: TWO_CHILDREN_MS,
  }, async () => {
    const first = await runSeed(['--trades', '1000', '--seed', '9'], { DATABASE_URL: env.databaseUrl });
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/seeded 1,000 trades \(PENDING \d+, OPEN \d+/);
    expect(first.stdout).toMatch(/--seed 9 --now \d{4}-/);
    expect(first.stderr).toMatch(/writing trades: 100% 1,000\/1,000 trades/);
    expect(first.stderr).not.toMatch(/\r/);

    const again = await runSeed(['--trades', '1000'], { DATABASE_URL: env.databaseUrl });
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already has rows.*--append/);
    const [row] = await query<{ n: number }>(env.databaseUrl, 'SELECT count(*)::int AS n FROM paper_trades');
    expect(row?.n).toBe(1000);
  });
});

describe('seed progress', () => {
  const capture = (isTTY: boolean) => {
    const chunks: string[] = [];
    let now = 0;
    const report = createProgressReporter({ isTTY, write: (text: string) => chunks.push(text) }, () => now);
    return { chunks, report, tick: (ms: number) => (now += ms) };
  };

  it('happy: a terminal gets one bar redrawn in place with rate and ETA', () => {
    const { chunks, report, tick } = capture(true);
    report({ phase: 'prepare', done: 0, total: 1_000_000 });
    report({ phase: 'trades', done: 0, total: 1_000_000 });
    for (let done = 50_000; done <= 1_000_000; done += 50_000) {
      tick(1000);
      report({ phase: 'trades', done, total: 1_000_000 });
    }
    report({ phase: 'accounts', done: 1_000_000, total: 1_000_000 });
    const bars = chunks.filter((c) => c.startsWith('\r'));
    expect(bars).toHaveLength(21);
    expect(bars[10]).toMatch(/50% +500,000\/1,000,000 trades +50,000\/s +ETA 10s/);
    expect(bars.at(-1)).toMatch(/100% .*ETA 0s/);
    expect(chunks.join('')).toMatch(/computing account figures…\n$/);
  });

  it('happy: a log gets a line at each tenth and no carriage returns', () => {
    const { chunks, report, tick } = capture(false);
    report({ phase: 'trades', done: 0, total: 100_000 });
    for (let done = 1000; done <= 100_000; done += 1000) {
      tick(10);
      report({ phase: 'trades', done, total: 100_000 });
    }
    expect(chunks).toHaveLength(10);
    expect(chunks.join('')).not.toMatch(/\r/);
    expect(chunks[0]).toMatch(/^writing trades: 10% 10,000\/100,000 trades 100,000\/s ETA 1s\n$/);
  });
});

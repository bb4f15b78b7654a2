export { workerGrants } from './grants.ts';
export * from './migrate.ts';
export { type ClosablePool, createClosablePool } from './pool.ts';
export {
  type SeedOptions,
  type SeedProgress,
  SeedRefusedError,
  type SeedResult,
  seed,
  validateTradeCount,
} from './seed.ts';
export { MAX_SEED_TRADES, MIN_SEED_TRADES, seedShape } from './seed-plan.ts';
export { createProgressReporter } from './seed-progress.ts';
export {
  createSimulator,
  type Simulator,
  type SimulatorLogger,
  type SimulatorOptions,
  type StepResult,
} from './simulator.ts';

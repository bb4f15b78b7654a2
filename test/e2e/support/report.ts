import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { REPO_ROOT } from './processes.ts';

/**
 * What a scenario observed (counts, durations, what clients saw), written to
 * test-artifacts/reliability/<name>.json (git-ignored) and echoed to stderr, so that
 * docs/reliability.md is filled from real runs rather than from expectations.
 */
export async function recordObservation(name: string, observed: Record<string, unknown>): Promise<void> {
  const dir = join(REPO_ROOT, 'test-artifacts', 'reliability');
  await mkdir(dir, { recursive: true });
  const entry = { scenario: name, at: new Date().toISOString(), ...observed };
  await writeFile(join(dir, `${name}.json`), `${JSON.stringify(entry, null, 2)}\n`);
  process.stderr.write(`[reliability] ${name}: ${JSON.stringify(observed)}\n`);
}

import { execFile } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..', '..', '..');
/** Each child gets this long before it is killed (and the test shows its output). */
export const CHILD_TIMEOUT_MS = 60_000;

/** One of this package's command-line scripts (`packages/db/src/cli/<name>.ts`), run to its end. */
export function runCli(
  name: string,
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', `packages/db/src/cli/${name}.ts`, ...args],
      { cwd: ROOT, env: { ...process.env, ...env }, timeout: CHILD_TIMEOUT_MS },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

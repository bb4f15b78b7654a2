/** Polling and sleeping for tests that watch real processes; every wait has a deadline and says what it waited for. */

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export interface WaitOptions {
  timeoutMs?: number;
  intervalMs?: number;
}

/** Thrown from a `waitUntil` check to stop waiting at once (e.g. the process being waited on died). */
export class GiveUp extends Error {
  override name = 'GiveUp';
}

/**
 * Resolve with the first truthy value `check` returns; reject after `timeoutMs` naming `what` and the
 * last error or value seen, so a failing scenario says what never happened.
 */
export async function waitUntil<T>(
  what: string,
  check: () => T | Promise<T>,
  { timeoutMs = 15_000, intervalMs = 50 }: WaitOptions = {},
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value as NonNullable<T>;
      last = value;
    } catch (error) {
      if (error instanceof GiveUp) throw error;
      last = error instanceof Error ? error.message : error;
    }
    if (Date.now() >= deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${describe(last)})`);
    }
    await sleep(intervalMs);
  }
}

function describe(value: unknown): string {
  try {
    const text = typeof value === 'string' ? value : JSON.stringify(value);
    return text === undefined ? String(value) : text.slice(0, 300);
  } catch {
    return String(value);
  }
}

/**
 * While Redis is away every connection (commands, queue, the workers' blocking connections) reports
 * each reconnect attempt as an error: one line each was ~16 lines a second. This logs the first of a
 * kind at once and then at most one per window and source, saying how many were held back, so the
 * log shows the outage and its end without drowning in it.
 */
export type ErrorReporter = (source: string, error: unknown) => void;

/** What the throttle logs to (a pino logger, or a child of one). */
export interface ErrorLog {
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

const MAX_KINDS = 200;

export function throttledErrors(logger: ErrorLog, level: 'warn' | 'error' = 'warn', windowMs = 10_000): ErrorReporter {
  const seen = new Map<string, { at: number; held: number }>();
  return (source, error) => {
    const kind = `${source}|${error instanceof Error ? error.message : String(error)}`;
    const now = Date.now();
    const last = seen.get(kind);
    if (last && now - last.at < windowMs) {
      last.held++;
      return;
    }
    // Messages that vary without end (an id in the text) must not grow the map without end.
    if (seen.size >= MAX_KINDS) seen.clear();
    seen.set(kind, { at: now, held: 0 });
    logger[level]({ err: error, ...(last?.held ? { repeated: last.held, window_ms: windowMs } : {}) }, source);
  };
}

import { SECTION_NAMES, type SectionName, ttlEnvName } from '@snapboard/shared';

/** `TTL_<NAME>` for every section set to `seconds`, with per-section overrides. */
export function ttlEnv(seconds: number, overrides: Partial<Record<SectionName, number>> = {}): Record<string, string> {
  return Object.fromEntries(SECTION_NAMES.map((s) => [ttlEnvName(s), String(overrides[s] ?? seconds)]));
}

export interface SectionState {
  epoch: string;
  version: number;
  computed_at: string;
  stale: boolean;
}

/** Counts of log lines by message (and outcome, for job lines), for reports. */
export function tally(lines: { json: Record<string, unknown> | undefined }[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const { json } of lines) {
    if (!json) continue;
    const key = `${json.msg}${json.outcome ? `/${json.outcome}` : ''}`;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

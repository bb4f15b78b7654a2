import { afterEach, describe, expect, it, vi } from 'vitest';
import { wallMs } from '../lib/procs.ts';

describe('wallMs', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('happy: follows the wall clock to within its millisecond, with sub-millisecond steps', () => {
    const a = wallMs();
    const b = wallMs();
    expect(b).toBeGreaterThanOrEqual(a);
    expect(Math.abs(wallMs() - Date.now())).toBeLessThan(2);
  });

  it('edge: a step of the system clock while a process runs moves its times with it', () => {
    const before = wallMs();
    const real = Date.now.bind(Date);
    // The clock stepped 2 s ahead (NTP), as in the run of 3 Dec whose every delivery was ~2 s late.
    vi.spyOn(Date, 'now').mockImplementation(() => real() + 2000);
    const after = wallMs();
    expect(after - before).toBeGreaterThan(1990);
    expect(Math.abs(after - Date.now())).toBeLessThan(2);
  });
});

import { describe, expect, it } from 'vitest';
import { compare, selfPerRequest } from '../tools/profile-diff.ts';

const frame = (id: number, functionName: string, url: string) => ({ id, callFrame: { functionName, url } });

describe('profile-diff', () => {
  it('happy: self time per request inside the window, app frames by file, idle left out of busy', () => {
    const profile = {
      nodes: [
        frame(1, '(idle)', ''),
        frame(2, 'writev', ''),
        frame(3, 'handle', 'file:///repo/apps/api/src/fast-path.ts'),
      ],
      startTime: 0,
      endTime: 10_000,
      // 10 samples 1 ms apart; the window is the last 4 ms: samples at 7, 8, 9, 10 ms.
      samples: [3, 3, 3, 3, 3, 3, 2, 2, 3, 1],
      timeDeltas: Array(10).fill(1000),
    };
    const per = selfPerRequest(profile, 4000, 2);
    expect(Object.fromEntries(per)).toEqual({ writev: 1000, '[app] src/fast-path.ts handle': 500, '(idle)': 500 });
    const { busyA, busyB, rows } = compare(new Map([['writev', 900]]), per);
    expect(busyA).toBe(900);
    expect(busyB).toBe(1500);
    expect(rows[0]).toEqual({ frame: '[app] src/fast-path.ts handle', a: 0, b: 500 });
  });
});

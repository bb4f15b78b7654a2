import { describe, expect, it } from 'vitest';
import { within } from '../src/within.ts';

describe('within', () => {
  it('is true when the promise settles in time, either way', async () => {
    expect(await within(Promise.resolve(1), 1000)).toBe(true);
    expect(await within(Promise.reject(new Error('no')), 1000)).toBe(true);
  });

  it('is false when the promise is still pending at the deadline', async () => {
    const started = Date.now();
    expect(await within(new Promise(() => {}), 30)).toBe(false);
    expect(Date.now() - started).toBeGreaterThanOrEqual(25);
  });
});

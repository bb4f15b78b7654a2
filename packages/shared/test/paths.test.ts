import { describe, expect, it } from 'vitest';
import { PATHS, sectionPath, served } from '../src/paths.ts';

describe('public paths', () => {
  it('fills parameters and adds the trailing slash SPEC §6 spells', () => {
    expect(served(PATHS.v2)).toBe('/api/public/dashboard/v2/');
    expect(sectionPath('open_positions')).toBe('/api/public/dashboard/sections/open_positions/');
    expect(served(PATHS.botClose, { id: 7 })).toBe('/api/public/paper-trading/7/close/');
  });

  it('encodes a parameter rather than let it leave its segment', () => {
    expect(sectionPath('../v2')).toBe('/api/public/dashboard/sections/..%2Fv2/');
  });

  it('refuses a pattern whose parameter is missing', () => {
    expect(() => served(PATHS.botClose)).toThrow(/missing path parameter id/);
  });
});

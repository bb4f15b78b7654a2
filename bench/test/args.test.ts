import { describe, expect, it } from 'vitest';
import { parseArgs } from '../lib/args.ts';

const KNOWN = ['worker', 'http', 'db', 'ws', 'fresh'];

describe('bench arguments', () => {
  it('happy: everything by default, --only keeps the run order, --quick', () => {
    expect(parseArgs([], KNOWN)).toEqual({ only: KNOWN, quick: false });
    expect(parseArgs(['--only', 'ws,http'], KNOWN)).toEqual({ only: ['http', 'ws'], quick: false });
    expect(parseArgs(['--only=db', '--quick'], KNOWN)).toEqual({ only: ['db'], quick: true });
  });

  it('error: unknown suites and arguments are refused with a message; --help asks for usage', () => {
    expect(parseArgs(['--only', 'http,nope'], KNOWN)).toMatch(/unknown suite\(s\): nope/);
    expect(parseArgs(['--only'], KNOWN)).toMatch(/needs a comma-separated list/);
    expect(parseArgs(['--fast'], KNOWN)).toBe('unknown argument --fast');
    expect(parseArgs(['--help'], KNOWN)).toBe('');
  });
});

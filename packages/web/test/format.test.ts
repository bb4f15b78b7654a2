import { describe, expect, it } from 'vitest';
import { duration, money, percent, price, signOf } from '../src/app/format.ts';

/** What a trader reads: signs, decimals and zero, formatted the same everywhere on the page. */

describe('format', () => {
  it('signs P&L with a true minus, a plus when asked, and none on zero', () => {
    expect(money(-1234.5)).toBe('\u2212$1,234.50');
    expect(money(1234.5, { signed: true })).toBe('+$1,234.50');
    expect(money(1234.5)).toBe('$1,234.50');
    expect(money(-0.001, { signed: true })).toBe('$0.00');
    expect(percent(-0.004, { signed: true })).toBe('0.00%');
    expect(percent(-1.236, { signed: true })).toBe('\u22121.24%');
    expect(money(null)).toBe('—');
  });

  it('colours by the sign a reader sees', () => {
    expect(signOf(12)).toBe('up');
    expect(signOf(-0.01)).toBe('down');
    expect(signOf(-0.001)).toBe('flat');
    expect(signOf(null)).toBe('flat');
  });

  it('gives prices about six significant digits, from BTC to TRX', () => {
    expect(price(64123.456)).toBe('64,123.46');
    expect(price(142.1234)).toBe('142.123');
    expect(price(1.23456)).toBe('1.2346');
    expect(price(0.1234567)).toBe('0.123457');
  });

  it('writes ages and holding times compactly', () => {
    expect(duration(4_200)).toBe('4s');
    expect(duration(125_000)).toBe('2m 05s');
    expect(duration(3 * 3_600_000 + 12 * 60_000)).toBe('3h 12m');
    expect(duration(50 * 3_600_000)).toBe('2d 2h');
    expect(duration(-5)).toBe('0s');
  });
});

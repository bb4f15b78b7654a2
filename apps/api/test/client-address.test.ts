import { describe, expect, it } from 'vitest';
import { clientAddress } from '../src/client-address.ts';

describe('client address for per-address limits', () => {
  it('security: without trusted proxies X-Forwarded-For is ignored, whatever it says', () => {
    expect(clientAddress('10.0.0.5', '203.0.113.7', 0)).toBe('10.0.0.5');
    expect(clientAddress('10.0.0.5', undefined, 0)).toBe('10.0.0.5');
    expect(clientAddress(undefined, undefined, 0)).toBe('unknown');
  });

  it('happy: behind one proxy the client is the address that proxy appended, last in the list', () => {
    expect(clientAddress('10.0.0.5', '203.0.113.7', 1)).toBe('203.0.113.7');
    // Whatever the client put in front is its own claim, not believed.
    expect(clientAddress('10.0.0.5', '1.1.1.1, 203.0.113.7', 1)).toBe('203.0.113.7');
    expect(clientAddress('10.0.0.5', ['1.1.1.1', '2001:db8::1'], 1)).toBe('2001:db8::1');
  });

  it('happy: behind two proxies the client is second from the right', () => {
    expect(clientAddress('10.0.0.5', '6.6.6.6, 203.0.113.7, 10.0.0.9', 2)).toBe('203.0.113.7');
  });

  it('security: a missing, short or malformed header falls back to the socket address', () => {
    expect(clientAddress('10.0.0.5', undefined, 1)).toBe('10.0.0.5');
    expect(clientAddress('10.0.0.5', '203.0.113.7', 2)).toBe('10.0.0.5');
    expect(clientAddress('10.0.0.5', 'not-an-ip', 1)).toBe('10.0.0.5');
    expect(clientAddress('10.0.0.5', '203.0.113.7, ', 1)).toBe('10.0.0.5');
    expect(clientAddress('10.0.0.5', '', 1)).toBe('10.0.0.5');
  });
});

import { isIP } from 'node:net';

/**
 * The address a connection counts against for per-address limits.
 *
 * Behind reverse proxies the socket's peer is the last proxy, so every client would share one
 * address. Each proxy appends the address it saw to X-Forwarded-For; with `hops` trusted proxies in
 * front of us, the client is therefore the `hops`-th entry from the right. Entries further left are
 * whatever the client chose to send and are never believed. Without trusted proxies (the default), or
 * when the header does not hold a valid address where one must be, the socket's own address is used.
 */
export function clientAddress(
  remoteAddress: string | undefined,
  forwardedFor: string | string[] | undefined,
  hops: number,
): string {
  const own = remoteAddress ?? 'unknown';
  if (hops <= 0 || forwardedFor === undefined) return own;
  const entries = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor)
    .split(',')
    .map((entry) => entry.trim());
  const candidate = entries[entries.length - hops];
  return candidate !== undefined && isIP(candidate) ? candidate : own;
}

import type { PriceSource } from './index.ts';

/**
 * PRICE_SOURCE=binance (SPEC §3): one batched ticker request; when Binance rejects the batch (400:
 * one invalid symbol spoils it) ask per symbol, a few at a time. Every request has a short timeout;
 * a symbol that could not be priced is left out and counted, never an error. After a 429 or 418
 * Binance asks clients to back off (Retry-After), and ignoring that gets the IP banned, so no
 * request is made until then.
 */

export const PER_SYMBOL_CONCURRENCY = 5;
// Binance's own symbol syntax: anything else would only spoil the batch.
const SYMBOL = /^[A-Z0-9\-_.]{1,20}$/;
const DEFAULT_BACKOFF_MS = 60_000;
const MAX_BACKOFF_MS = 10 * 60_000;

export interface BinanceOptions {
  baseUrl: string;
  timeoutMs: number;
  onFailures?: (count: number) => void;
  fetch?: typeof globalThis.fetch;
  now?: () => number;
}

type Answer =
  | { kind: 'ok'; body: unknown }
  | { kind: 'rejected' }
  | { kind: 'backoff'; ms: number }
  | { kind: 'error' };

function priceOf(value: unknown): number | undefined {
  if (typeof value !== 'string' && typeof value !== 'number') return undefined;
  const n = Number(value);
  return Number.isFinite(n) && n > 0 ? n : undefined;
}

export function createBinancePrices(options: BinanceOptions): PriceSource {
  const fetchImpl = options.fetch ?? globalThis.fetch;
  const now = options.now ?? Date.now;
  const endpoint = `${options.baseUrl.replace(/\/+$/, '')}/api/v3/ticker/price`;
  let backoffUntil = 0;

  async function ask(query: string, signal: AbortSignal): Promise<Answer> {
    try {
      const response = await fetchImpl(`${endpoint}?${query}`, { signal, headers: { accept: 'application/json' } });
      if (response.status === 429 || response.status === 418) {
        await response.body?.cancel();
        const seconds = Number(response.headers.get('retry-after'));
        const ms = Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : DEFAULT_BACKOFF_MS;
        return { kind: 'backoff', ms: Math.min(ms, MAX_BACKOFF_MS) };
      }
      if (response.status === 400) {
        await response.body?.cancel();
        return { kind: 'rejected' };
      }
      if (!response.ok) {
        await response.body?.cancel();
        return { kind: 'error' };
      }
      return { kind: 'ok', body: await response.json() };
    } catch {
      // Timeout, connection refused or reset, malformed JSON: all mean "no price this time".
      return { kind: 'error' };
    }
  }

  function noteBackoff(answer: Answer): void {
    if (answer.kind === 'backoff') backoffUntil = Math.max(backoffUntil, now() + answer.ms);
  }

  // The whole fallback shares one deadline, so a slow Binance costs at most two timeouts per compute.
  async function perSymbol(symbols: readonly string[], prices: Map<string, number>): Promise<void> {
    const pending = [...symbols];
    const deadline = AbortSignal.timeout(options.timeoutMs);
    const lane = async () => {
      for (let symbol = pending.shift(); symbol !== undefined; symbol = pending.shift()) {
        if (deadline.aborted || now() < backoffUntil) return;
        const answer = await ask(new URLSearchParams({ symbol }).toString(), deadline);
        noteBackoff(answer);
        if (answer.kind !== 'ok') continue;
        const body = answer.body as { symbol?: unknown; price?: unknown } | null;
        const price = priceOf(body?.price);
        if (price !== undefined && (body?.symbol === undefined || body.symbol === symbol)) prices.set(symbol, price);
      }
    };
    await Promise.all(Array.from({ length: Math.min(PER_SYMBOL_CONCURRENCY, symbols.length) }, lane));
  }

  return {
    name: 'binance',
    async getPrices(symbols) {
      const wanted = [...new Set(symbols)];
      const valid = wanted.filter((symbol) => SYMBOL.test(symbol));
      const prices = new Map<string, number>();
      if (valid.length && now() >= backoffUntil) {
        const batch = await ask(
          new URLSearchParams({ symbols: JSON.stringify(valid) }).toString(),
          AbortSignal.timeout(options.timeoutMs),
        );
        noteBackoff(batch);
        if (batch.kind === 'ok' && Array.isArray(batch.body)) {
          for (const item of batch.body as { symbol?: unknown; price?: unknown }[]) {
            const price = priceOf(item?.price);
            if (typeof item?.symbol === 'string' && valid.includes(item.symbol) && price !== undefined) {
              prices.set(item.symbol, price);
            }
          }
        } else if (batch.kind === 'rejected') {
          await perSymbol(valid, prices);
        }
      }
      const failed = wanted.length - prices.size;
      if (failed > 0) options.onFailures?.(failed);
      return prices;
    },
  };
}

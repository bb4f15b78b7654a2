import type { Config, PriceSource as PriceSourceName } from '@snapboard/shared';
import { createBinancePrices } from './binance.ts';
import { createNoPrices } from './none.ts';
import { createSimulatedPrices } from './simulated.ts';

/**
 * Where open_positions gets current prices. A source never throws: a symbol it could not price is
 * simply absent from the map (and counted through `onFailures`).
 */
export interface PriceSource {
  readonly name: PriceSourceName;
  getPrices(symbols: readonly string[]): Promise<Map<string, number>>;
}

export interface PriceSourceOptions {
  /** Called with the number of symbols a fetch could not price because of an error. */
  onFailures?: (count: number) => void;
  fetch?: typeof globalThis.fetch;
  now?: () => number;
}

export function createPriceSource(
  config: Pick<Config, 'priceSource' | 'binanceBaseUrl' | 'priceTimeoutMs'>,
  options: PriceSourceOptions = {},
): PriceSource {
  switch (config.priceSource) {
    case 'binance':
      return createBinancePrices({
        baseUrl: config.binanceBaseUrl,
        timeoutMs: config.priceTimeoutMs,
        onFailures: options.onFailures,
        fetch: options.fetch,
        now: options.now,
      });
    case 'simulated':
      return createSimulatedPrices(options.now);
    case 'none':
      return createNoPrices();
  }
}

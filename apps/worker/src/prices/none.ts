import type { PriceSource } from './index.ts';

/** PRICE_SOURCE=none: every open position is shown without a current price. */
export function createNoPrices(): PriceSource {
  return { name: 'none', getPrices: async () => new Map() };
}

import { simulatedPrice } from '@snapboard/shared';
import type { PriceSource } from './index.ts';

/** PRICE_SOURCE=simulated: the demo market the trade simulator trades in (shared `simulatedPrice`). */
export function createSimulatedPrices(now: () => number = Date.now): PriceSource {
  return {
    name: 'simulated',
    async getPrices(symbols) {
      const at = now();
      return new Map(symbols.map((symbol) => [symbol, simulatedPrice(symbol, at)]));
    },
  };
}

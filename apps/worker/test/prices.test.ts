import { simulatedPrice } from '@snapboard/shared';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createPriceSource } from '../src/prices/index.ts';
import { type FakeBinance, startFakeBinance } from './support/fake-binance.ts';

describe('PRICE_SOURCE=binance against a fake Binance', () => {
  let fake: FakeBinance;
  let failures: number[];
  let clock: number;

  beforeAll(async () => {
    fake = await startFakeBinance({
      BTCUSDT: '64123.45000000',
      ETHUSDT: '3201.10000000',
      SOLUSDT: '150.25000000',
      BNBUSDT: '580.00000000',
      XRPUSDT: '0.52140000',
      ADAUSDT: '0.45000000',
      DOGEUSDT: '0.15000000',
      SLOWUSDT: '1.00000000',
    });
  });
  afterAll(() => fake.close());
  beforeEach(() => {
    fake.requests = [];
    fake.slow.clear();
    fake.rateLimitSeconds = undefined;
    fake.maxInFlight = 0;
    failures = [];
    clock = Date.now();
  });

  const source = (timeoutMs = 5000) =>
    createPriceSource(
      { priceSource: 'binance', binanceBaseUrl: fake.baseUrl, priceTimeoutMs: timeoutMs },
      { onFailures: (n) => failures.push(n), now: () => clock },
    );

  it('happy: one batched request with the symbols as a URL-encoded JSON array', async () => {
    const prices = await source().getPrices(['BTCUSDT', 'ETHUSDT', 'BTCUSDT']);
    expect(Object.fromEntries(prices)).toEqual({ BTCUSDT: 64123.45, ETHUSDT: 3201.1 });
    expect(fake.requests).toHaveLength(1);
    const url = fake.requests[0] as URL;
    expect(url.search).toBe(`?symbols=${encodeURIComponent('["BTCUSDT","ETHUSDT"]')}`);
    expect(failures).toEqual([]);
  });

  it('error: an invalid symbol spoils the batch (400): per symbol, at most 5 at once, the rest priced', async () => {
    const wanted = ['BTCUSDT', 'ETHUSDT', 'NOPEUSDT', 'SOLUSDT', 'BNBUSDT', 'XRPUSDT', 'ADAUSDT', 'DOGEUSDT'];
    fake.slowMs = 50;
    for (const s of wanted) fake.slow.add(s);
    const prices = await source(2000).getPrices(wanted);
    expect(prices.has('NOPEUSDT')).toBe(false);
    expect(prices.get('XRPUSDT')).toBe(0.5214);
    expect(prices.size).toBe(7);
    const single = fake.requests.filter((u) => u.searchParams.has('symbol')).map((u) => u.searchParams.get('symbol'));
    expect(single.sort()).toEqual([...wanted].sort());
    expect(fake.requests.filter((u) => u.searchParams.has('symbols'))).toHaveLength(1);
    expect(fake.maxInFlight).toBeLessThanOrEqual(5);
    expect(fake.maxInFlight).toBeGreaterThan(1);
    expect(failures).toEqual([1]);
  });

  it('error: a symbol Binance would never accept is not sent, and only counted', async () => {
    const prices = await source().getPrices(['btc usdt', 'BTCUSDT']);
    expect(Object.fromEntries(prices)).toEqual({ BTCUSDT: 64123.45 });
    expect(fake.requests).toHaveLength(1);
    expect(failures).toEqual([1]);
  });

  it('error: a slow answer times out: no prices, counted, never thrown', async () => {
    fake.slow.add('SLOWUSDT');
    fake.slowMs = 4000;
    const started = Date.now();
    const prices = await source(150).getPrices(['SLOWUSDT', 'BTCUSDT']);
    expect(prices.size).toBe(0);
    // It gave up instead of waiting for the answer.
    expect(Date.now() - started).toBeLessThan(3000);
    expect(failures).toEqual([2]);
  });

  it('error: in the per-symbol fallback a slow symbol is skipped, the others are priced', async () => {
    fake.slow.add('SLOWUSDT');
    fake.slowMs = 4000;
    const prices = await source(1000).getPrices(['SLOWUSDT', 'NOPEUSDT', 'BTCUSDT']);
    expect(Object.fromEntries(prices)).toEqual({ BTCUSDT: 64123.45 });
    expect(failures).toEqual([2]);
  });

  it('error: 429 means no prices, and no request at all until Retry-After has passed', async () => {
    fake.rateLimitSeconds = 30;
    const prices = source();
    expect((await prices.getPrices(['BTCUSDT'])).size).toBe(0);
    expect(fake.requests).toHaveLength(1);
    fake.rateLimitSeconds = undefined;
    clock += 29_000;
    expect((await prices.getPrices(['BTCUSDT', 'ETHUSDT'])).size).toBe(0);
    expect(fake.requests).toHaveLength(1);
    clock += 2_000;
    expect((await prices.getPrices(['BTCUSDT'])).get('BTCUSDT')).toBe(64123.45);
    expect(fake.requests).toHaveLength(2);
    expect(failures).toEqual([1, 2]);
  });

  it('error: an unreachable Binance is a failure to price, not an error', async () => {
    const closed = await startFakeBinance({});
    await closed.close();
    const prices = await createPriceSource(
      { priceSource: 'binance', binanceBaseUrl: closed.baseUrl, priceTimeoutMs: 500 },
      { onFailures: (n) => failures.push(n) },
    ).getPrices(['BTCUSDT']);
    expect(prices.size).toBe(0);
    expect(failures).toEqual([1]);
  });
});

describe('other price sources', () => {
  const config = { binanceBaseUrl: 'http://127.0.0.1:9', priceTimeoutMs: 100 };

  it('happy: simulated reports the demo market at the current time', async () => {
    const now = Date.UTC(2026, 0, 15, 12);
    const prices = await createPriceSource({ ...config, priceSource: 'simulated' }, { now: () => now }).getPrices([
      'BTCUSDT',
      'ODDCOIN',
    ]);
    expect(prices.get('BTCUSDT')).toBe(simulatedPrice('BTCUSDT', now));
    expect(prices.get('ODDCOIN')).toBe(simulatedPrice('ODDCOIN', now));
  });

  it('happy: none reports no prices', async () => {
    expect((await createPriceSource({ ...config, priceSource: 'none' }).getPrices(['BTCUSDT'])).size).toBe(0);
  });
});

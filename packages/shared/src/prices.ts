/**
 * The demo's market: a deterministic random walk per symbol, a pure function of (symbol, time).
 * The trade simulator opens and closes trades at these prices and PRICE_SOURCE=simulated reports
 * the same ones, with no channel between them to keep in sync. The seed uses it for history too.
 *
 * It is value noise summed over octaves whose amplitude grows with the square root of the period,
 * which is how a random walk's spread grows with time.
 */

const BASE_PRICES: Record<string, number> = {
  BTCUSDT: 64_000,
  ETHUSDT: 3_200,
  BNBUSDT: 580,
  SOLUSDT: 150,
  XRPUSDT: 0.52,
  ADAUSDT: 0.45,
  DOGEUSDT: 0.15,
  AVAXUSDT: 35,
  DOTUSDT: 7.2,
  LINKUSDT: 14.5,
  MATICUSDT: 0.7,
  LTCUSDT: 82,
  TRXUSDT: 0.12,
  ATOMUSDT: 8.5,
  NEARUSDT: 5.8,
  APTUSDT: 9.1,
  ARBUSDT: 1.1,
  OPUSDT: 2.3,
  SUIUSDT: 1.6,
  INJUSDT: 24,
};

export const DEMO_SYMBOLS: readonly string[] = Object.keys(BASE_PRICES);

const PERIODS_S = [4, 16, 64, 256, 1024, 4096, 16_384, 65_536, 262_144];
const AMPLITUDE_PER_SQRT_S = 0.00035;

function hashString(value: string): number {
  let h = 2166136261;
  for (let i = 0; i < value.length; i++) {
    h ^= value.charCodeAt(i);
    h = Math.imul(h, 16777619);
  }
  return h >>> 0;
}

/** A well-mixed 32-bit hash of three integers, mapped to [-1, 1]. */
function noise(seed: number, octave: number, cell: number): number {
  let h =
    seed ^
    Math.imul(octave + 1, 0x9e3779b1) ^
    Math.imul(cell | 0, 0x85ebca6b) ^
    Math.imul(Math.floor(cell / 2 ** 32), 0xc2b2ae35);
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b);
  h ^= h >>> 16;
  return ((h >>> 0) / 0xffffffff) * 2 - 1;
}

export function basePrice(symbol: string): number {
  const known = BASE_PRICES[symbol];
  if (known !== undefined) return known;
  // Unknown symbols still get a stable, plausible price between 0.1 and 1000.
  return 10 ** ((hashString(symbol) % 4000) / 1000 - 1);
}

/** Price of `symbol` at `atMs`, rounded to 8 decimal places like the bot's numeric(20,8). */
export function simulatedPrice(symbol: string, atMs: number): number {
  const seed = hashString(symbol);
  const t = atMs / 1000;
  let walk = 0;
  for (let k = 0; k < PERIODS_S.length; k++) {
    const period = PERIODS_S[k] as number;
    const x = t / period;
    const cell = Math.floor(x);
    const f = x - cell;
    const smooth = f * f * (3 - 2 * f);
    const v = noise(seed, k, cell) * (1 - smooth) + noise(seed, k, cell + 1) * smooth;
    walk += v * AMPLITUDE_PER_SQRT_S * Math.sqrt(period);
  }
  const price = basePrice(symbol) * Math.exp(walk);
  return Math.round(price * 1e8) / 1e8;
}

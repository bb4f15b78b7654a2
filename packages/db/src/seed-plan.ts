import { basePrice, DEMO_SYMBOLS } from '@snapboard/shared';
import { createRng, type Rng } from './seed-random.ts';
import {
  DEMO_FUTURES,
  type Direction,
  exitFor,
  LEVERAGES,
  levelsFor,
  type MarketType,
  priceUnits,
  quantityFor,
  type TradeStatus,
  tradePnl,
} from './simulator-rules.ts';

/**
 * The demo data, planned without a database: users, signals and trades as the bot would have left them
 * after ~60 days. Each signal's trades (its followers and, often, the bot's own system trade) share
 * the signal's stop-loss and take-profit and are checked at the same instants, so one walk along the
 * simulated market per signal decides how all of them closed. Everything derives from `seed`.
 */

export const MIN_SEED_TRADES = 1_000;
export const MAX_SEED_TRADES = 1_000_000;

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

const HISTORY_MS = 60 * DAY;
/** Activity decays with age (e-folding 30 days): the recent windows hold proportionally more trades. */
const DECAY_MS = 30 * DAY;
/** The bot checked prices every 30 s in the past (the live simulator checks every second). */
export const CHECK_INTERVAL_MS = 30 * SECOND;
/** Positions nothing has closed after a day are closed by hand. */
const MAX_HOLD_MS = DAY;
const LIVE_WINDOW_MS = 40 * MINUTE;
/** Only symbols this cheap move slowly enough, at 8 dp, for a later price to equal the entry exactly. */
const BREAK_EVEN_MAX_PRICE = 0.5;

const SYMBOL_WEIGHTS: Record<string, number> = { BTCUSDT: 5, ETHUSDT: 4, SOLUSDT: 3, BNBUSDT: 2 };
const TIMEFRAMES = ['5m', '15m', '15m', '1h', '1h', '4h'] as const;
const TIMEFRAME_MS: Record<string, number> = { '5m': 5 * MINUTE, '15m': 15 * MINUTE, '1h': HOUR, '4h': 4 * HOUR };
const SIZE_FACTORS = [0.5, 1, 1, 1, 1.5, 2];
const BALANCES = [1000, 2500, 5000, 10_000, 10_000, 25_000, 50_000];

export interface SeedShape {
  users: number;
  followersPerSignal: number;
  openTrades: number;
  pendingTrades: number;
}

/** How big each part gets for `trades` trades: users 20–500, a few hundred OPEN at most. */
export function seedShape(trades: number): SeedShape {
  const clamp = (value: number, min: number, max: number) => Math.min(max, Math.max(min, Math.round(value)));
  const users = clamp(Math.sqrt(trades) / 2, 20, 500);
  return {
    users,
    followersPerSignal: clamp(users / 12, 1, 40),
    openTrades: clamp(Math.sqrt(trades) / 4, 20, 250),
    pendingTrades: clamp(Math.sqrt(trades) / 25, 3, 40),
  };
}

export interface PlannedUser {
  username: string;
  email: string | null;
  createdAt: number;
  initialBalance: number;
  autoTrading: boolean;
  /** Relative chance of following a signal; 0 for newcomers who have not traded yet. */
  weight: number;
  baseSize: number;
}

export interface PlannedSignal {
  /** Position in `signals` (its id is the reserved first id + index); -1 for a trade opened by hand. */
  index: number;
  time: number;
  symbol: string;
  marketType: MarketType;
  direction: Direction;
  leverage: number | null;
  timeframe: string;
  confidence: number;
  entry: bigint;
  stopLoss: bigint;
  takeProfit: bigint;
  status: 'ACTIVE' | 'EXPIRED' | 'EXECUTED' | 'CANCELLED';
  createdBy: number | null;
  updatedAt: number;
}

interface Outcome {
  status: 'CLOSED_SL' | 'CLOSED_TP' | 'CLOSED_MANUAL';
  at: number;
  price: bigint;
}

interface TradeGroup {
  signal: PlannedSignal;
  followers: number;
  system: boolean;
  live: boolean;
  /** Live groups only: how many of its trades still wait for their entry. */
  pending: number;
  /** null: still open now. */
  outcome: Outcome | null;
}

export interface SeedPlan {
  seed: number;
  now: number;
  trades: number;
  users: PlannedUser[];
  signals: PlannedSignal[];
  groups: TradeGroup[];
}

export interface TradeRow {
  signalIndex: number | null;
  userIndex: number | null;
  symbol: string;
  direction: Direction;
  marketType: MarketType;
  entryPrice: bigint;
  entryTime: number | null;
  positionSize: bigint;
  quantity: bigint;
  stopLoss: bigint;
  takeProfit: bigint;
  exitPrice: bigint | null;
  exitTime: number | null;
  profitLoss: bigint;
  percentage: bigint;
  leverage: number | null;
  status: TradeStatus;
  createdAt: number;
  updatedAt: number;
}

const FIRST_NAMES = [
  'alice',
  'bob',
  'carla',
  'dmitri',
  'emma',
  'farid',
  'grace',
  'hiro',
  'ines',
  'jonas',
  'kemi',
  'liam',
  'maya',
  'noah',
  'olga',
  'pablo',
  'quinn',
  'rosa',
  'sven',
  'tara',
  'umar',
  'vera',
  'wei',
  'ximena',
  'yusuf',
  'zoe',
  'anders',
  'bianca',
  'chen',
  'dalia',
  'eitan',
  'fatima',
  'gus',
  'hana',
  'ivan',
  'jade',
];
const LAST_NAMES = [
  'adler',
  'brooks',
  'costa',
  'dubois',
  'eriksen',
  'fischer',
  'garcia',
  'haddad',
  'ito',
  'jensen',
  'kowalski',
  'lopez',
  'moreau',
  'nakamura',
  'okafor',
  'petrov',
  'quinlan',
  'rossi',
  'schmidt',
  'tanaka',
  'usman',
  'varga',
  'weber',
  'xu',
  'yilmaz',
  'zhang',
];
const HANDLES = [
  'wolf',
  'hodler',
  'scalper',
  'whale',
  'degen',
  'bull',
  'bear',
  'pips',
  'moon',
  'satoshi',
  'quant',
  'trend',
];

function usernameCandidate(rng: Rng): string {
  const first = rng.pick(FIRST_NAMES);
  switch (rng.int(0, 3)) {
    case 0:
      return `${first}.${rng.pick(LAST_NAMES)}`;
    case 1:
      return `${first}_${rng.pick(LAST_NAMES)}${rng.int(1, 99)}`;
    case 2:
      return `${rng.pick(HANDLES)}_${first}${rng.int(1, 999)}`;
    default:
      return `${first}${rng.int(70, 99)}`;
  }
}

/**
 * Position sizes shrink as each user's trade count grows: a user with thousands of trades at 5 % of the
 * balance would drift (a random walk of P&L) far past zero, which no one would keep trading.
 */
function riskScale(trades: number, users: number): number {
  return Math.min(1, Math.sqrt(100 / (trades / users)));
}

function planUsers(rng: Rng, count: number, now: number, taken: ReadonlySet<string>, scale: number): PlannedUser[] {
  const used = new Set(taken);
  const users: PlannedUser[] = [];
  for (let i = 0; i < count + 2; i++) {
    let username = usernameCandidate(rng);
    for (let n = 2; used.has(username); n++) username = `${username.replace(/~\d+$/, '')}~${n}`;
    used.add(username);
    const newcomer = i >= count;
    const autoTrading = newcomer ? i === count : rng.chance(0.7);
    const initialBalance = rng.pick(BALANCES);
    const fraction = rng.pick([0.01, 0.02, 0.05]) * scale;
    const baseSize = Math.min(5000, Math.max(10, Math.round((initialBalance * fraction) / 5) * 5));
    users.push({
      username,
      email: rng.chance(0.85) ? `${username.replace(/~/g, '.')}@example.com` : null,
      createdAt: newcomer ? now - rng.between(2 * HOUR, 3 * DAY) : now - HISTORY_MS - rng.between(HOUR, 60 * DAY),
      initialBalance,
      autoTrading,
      weight: newcomer ? 0 : autoTrading ? rng.between(0.5, 1.5) : rng.between(0.05, 0.3),
      baseSize,
    });
  }
  return users;
}

function pickSymbol(rng: Rng, symbols: readonly string[], totalWeight: number): string {
  let r = rng() * totalWeight;
  for (const symbol of symbols) {
    r -= SYMBOL_WEIGHTS[symbol] ?? 1;
    if (r < 0) return symbol;
  }
  return symbols[symbols.length - 1] as string;
}

/** The first check at or after `fromMs` that hits the stop-loss or take-profit, up to `untilMs`. */
function firstHit(
  symbol: string,
  levels: { direction: Direction; stopLoss: bigint; takeProfit: bigint },
  fromMs: number,
  untilMs: number,
): Outcome | null {
  for (let at = Math.ceil(fromMs / CHECK_INTERVAL_MS) * CHECK_INTERVAL_MS; at <= untilMs; at += CHECK_INTERVAL_MS) {
    const price = priceUnits(symbol, at);
    const status = exitFor(levels, price);
    if (status) return { status, at, price };
  }
  return null;
}

/** A moment between checks, so every trade of the signal enters before the first check after it. */
function betweenChecks(rng: Rng, at: number): number {
  return Math.floor(at / CHECK_INTERVAL_MS) * CHECK_INTERVAL_MS + SECOND + Math.floor(rng() * 23 * SECOND);
}

/** The last entry of a group is at most this long after its signal. */
const ENTRY_SPREAD_MS = 3500;

export function planSeed(options: {
  trades: number;
  seed: number;
  now: number;
  takenUsernames?: ReadonlySet<string>;
}): SeedPlan {
  const { trades, seed, now } = options;
  const rng = createRng(seed);
  const shape = seedShape(trades);
  const users = planUsers(rng, shape.users, now, options.takenUsernames ?? new Set(), riskScale(trades, shape.users));
  const symbols = DEMO_SYMBOLS;
  const symbolWeight = symbols.reduce((sum, s) => sum + (SYMBOL_WEIGHTS[s] ?? 1), 0);
  const traders = users.filter((u) => u.weight > 0).length;

  const newSignal = (time: number, status: PlannedSignal['status']): PlannedSignal => {
    const symbol = pickSymbol(rng, symbols, symbolWeight);
    const marketType: MarketType = DEMO_FUTURES.has(symbol) ? 'FUTURES' : 'SPOT';
    const direction: Direction = rng.chance(marketType === 'FUTURES' ? 0.45 : 0.3) ? 'SHORT' : 'LONG';
    return {
      index: -1,
      time,
      symbol,
      marketType,
      direction,
      leverage: marketType === 'FUTURES' ? rng.pick(LEVERAGES) : null,
      timeframe: rng.pick(TIMEFRAMES),
      confidence: Math.round(rng.between(0.55, 0.95) * 1000) / 1000,
      entry: priceUnits(symbol, time),
      stopLoss: 0n,
      takeProfit: 0n,
      status,
      createdBy: rng.chance(0.1) ? rng.int(0, shape.users - 1) : null,
      updatedAt: time,
    };
  };
  const setLevels = (signal: PlannedSignal, stopDistance: number) => {
    const levels = levelsFor(signal.direction, signal.entry, stopDistance, stopDistance * rng.between(0.7, 2.2));
    signal.stopLoss = levels.stopLoss;
    signal.takeProfit = levels.takeProfit;
  };

  // Sizes first (how many trades each signal gets), then times, then what the market did to them.
  const sizeGroups = (total: number, live: boolean): { followers: number; system: boolean; manual: boolean }[] => {
    const sizes = [];
    for (let left = total; left > 0; ) {
      const manual = !live && rng.chance(0.05);
      let followers = manual ? 1 : Math.min(traders, 1 + rng.int(0, 2 * shape.followersPerSignal - 2));
      let system = !manual && rng.chance(0.3);
      if (followers + (system ? 1 : 0) > left) {
        followers = left;
        system = false;
      }
      sizes.push({ followers, system, manual });
      left -= followers + (system ? 1 : 0);
    }
    return sizes;
  };
  const liveTrades = shape.openTrades + shape.pendingTrades;
  const historySizes = sizeGroups(trades - liveTrades, false);
  const liveSizes = sizeGroups(liveTrades, true);

  const span = 1 - Math.exp(-HISTORY_MS / DECAY_MS);
  const historyTimes = historySizes
    .map(() => now - Math.max(2 * MINUTE, -DECAY_MS * Math.log(1 - rng() * span)))
    .sort((a, b) => a - b);
  const liveTimes = liveSizes.map(() => now - LIVE_WINDOW_MS + rng() * (LIVE_WINDOW_MS - MINUTE)).sort((a, b) => a - b);

  const groups: TradeGroup[] = [];
  historySizes.forEach((size, i) => {
    const signal = newSignal(betweenChecks(rng, historyTimes[i] as number), 'EXECUTED');
    if (size.manual) signal.createdBy = null;
    signal.updatedAt = signal.time + 5 * SECOND;
    const from = signal.time + ENTRY_SPREAD_MS;
    let outcome: Outcome | null = null;
    let distance = rng.logBetween(0.004, 0.025);
    for (let attempt = 0; attempt < 4 && !outcome; attempt++, distance = Math.max(0.0015, distance / 2)) {
      setLevels(signal, distance);
      outcome = firstHit(signal.symbol, signal, from, Math.min(signal.time + MAX_HOLD_MS, now));
      if (!outcome && signal.time + MAX_HOLD_MS <= now) {
        const at = signal.time + MAX_HOLD_MS;
        outcome = { status: 'CLOSED_MANUAL', at, price: priceUnits(signal.symbol, at) };
      }
    }
    if (!outcome) {
      // Too close to now for the market to have decided: its followers closed it by hand.
      const at = Math.round(rng.between(from + 5 * SECOND, now - SECOND));
      outcome = { status: 'CLOSED_MANUAL', at, price: priceUnits(signal.symbol, at) };
    }
    groups.push({ signal, followers: size.followers, system: size.system, live: false, pending: 0, outcome });
    if (size.manual) signal.index = -2; // not a signal row
  });

  let pendingLeft = shape.pendingTrades;
  const live: TradeGroup[] = [];
  liveSizes.forEach((size, i) => {
    const signal = newSignal(betweenChecks(rng, liveTimes[i] as number), 'ACTIVE');
    let distance = rng.logBetween(0.008, 0.03);
    let outcome: Outcome | null = null;
    for (let attempt = 0; attempt < 8; attempt++, distance *= 1.6) {
      setLevels(signal, distance);
      outcome = firstHit(signal.symbol, signal, signal.time + ENTRY_SPREAD_MS, now);
      if (!outcome) break;
    }
    live.push({ signal, followers: size.followers, system: size.system, live: true, pending: 0, outcome });
  });
  // The newest signals are the ones whose limit orders have not filled yet.
  for (let i = live.length - 1; i >= 0 && pendingLeft > 0; i--) {
    const group = live[i] as TradeGroup;
    group.pending = Math.min(pendingLeft, group.followers + (group.system ? 1 : 0));
    pendingLeft -= group.pending;
  }
  groups.push(...live);
  groups.sort((a, b) => a.signal.time - b.signal.time);

  // Signals that no trade followed: expired unread, or withdrawn.
  const quiet: PlannedSignal[] = [];
  const quietCount = Math.round(groups.length * 0.08);
  for (let i = 0; i < quietCount; i++) {
    const time = betweenChecks(rng, now - Math.max(MINUTE, -DECAY_MS * Math.log(1 - rng() * span)));
    const signal = newSignal(time, 'EXPIRED');
    setLevels(signal, rng.logBetween(0.004, 0.025));
    const lifetime = TIMEFRAME_MS[signal.timeframe] ?? HOUR;
    if (time + lifetime > now) signal.status = 'ACTIVE';
    else if (rng.chance(0.25)) signal.status = 'CANCELLED';
    signal.updatedAt = signal.status === 'ACTIVE' ? time : Math.min(now, time + lifetime);
    quiet.push(signal);
  }
  const signals = [...groups.map((g) => g.signal).filter((s) => s.index !== -2), ...quiet].sort(
    (a, b) => a.time - b.time,
  );
  signals.forEach((signal, index) => {
    signal.index = index;
  });
  for (const group of groups) if (group.signal.index === -2) group.signal.index = -1;

  return { seed, now, trades, users, signals, groups };
}

/** A later moment at which the price is exactly the entry price again, or the entry moment itself. */
function breakEvenTime(symbol: string, entryTime: number, entryPrice: bigint, before: number): number {
  const limit = Math.min(before - SECOND, entryTime + 15 * MINUTE);
  let crossings = 0;
  let previous = priceUnits(symbol, entryTime + 5 * SECOND) > entryPrice;
  for (let at = entryTime + 6 * SECOND; at <= limit && crossings < 3; at += SECOND) {
    const price = priceUnits(symbol, at);
    if (price === entryPrice) return at;
    if (price > entryPrice === previous) continue;
    previous = !previous;
    crossings++;
    for (let ms = at - SECOND + 1; ms < at; ms++) if (priceUnits(symbol, ms) === entryPrice) return ms;
  }
  return entryTime;
}

/**
 * Every trade of the plan, oldest first, with prices from the simulated market and P&L by the bot's
 * formulas. Deterministic: the same plan yields the same rows.
 */
export function* planTrades(plan: SeedPlan): Generator<TradeRow> {
  const rng = createRng(plan.seed ^ 0x5eed5eed);
  const { users, now } = plan;
  const cumulative: number[] = [];
  let totalWeight = 0;
  for (const user of users) {
    totalWeight += user.weight;
    cumulative.push(totalWeight);
  }
  const drawUser = (): number => {
    const r = rng() * totalWeight;
    let lo = 0;
    let hi = cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((cumulative[mid] as number) > r) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  };
  const breakEvenEvery = Math.max(300, Math.floor(plan.trades / 500));
  const nullLeverageEvery = 300;
  let index = 0;
  let breakEvens = 0;
  let futures = 0;
  let nullLeverage = 0;

  for (const group of plan.groups) {
    const { signal, outcome } = group;
    const chosen = new Set<number>();
    while (chosen.size < group.followers) chosen.add(drawUser());
    const owners: (number | null)[] = group.system ? [null, ...chosen] : [...chosen];
    const step = Math.min(25, Math.floor(3000 / owners.length));
    const cheap = basePrice(signal.symbol) < BREAK_EVEN_MAX_PRICE;
    let pendingLeft = group.pending;

    for (let i = 0; i < owners.length; i++, index++) {
      const userIndex = owners[i] as number | null;
      const user = userIndex === null ? null : (users[userIndex] as PlannedUser);
      const createdAt = signal.time + 100 + i * step + Math.floor(rng() * step);
      const positionSize =
        BigInt(user ? Math.max(10, Math.round(user.baseSize * rng.pick(SIZE_FACTORS))) : 100) * 100_000_000n;
      let leverage = signal.leverage;
      if (signal.marketType === 'FUTURES') {
        futures++;
        if (rng.chance(0.03) || nullLeverage < Math.floor(futures / nullLeverageEvery) + 1) leverage = null;
        if (leverage === null) nullLeverage++;
      }
      const row: TradeRow = {
        signalIndex: signal.index >= 0 ? signal.index : null,
        userIndex,
        symbol: signal.symbol,
        direction: signal.direction,
        marketType: signal.marketType,
        entryPrice: signal.entry,
        entryTime: null,
        positionSize,
        quantity: 0n,
        stopLoss: signal.stopLoss,
        takeProfit: signal.takeProfit,
        exitPrice: null,
        exitTime: null,
        profitLoss: 0n,
        percentage: 0n,
        leverage,
        status: 'OPEN',
        createdAt,
        updatedAt: createdAt,
      };

      const waiting = group.live && pendingLeft > 0;
      if (waiting || (!group.live && rng.chance(0.04))) {
        // Never filled: the order keeps the signal's entry; cancelled ones were withdrawn later.
        if (waiting) pendingLeft--;
        row.quantity = quantityFor(positionSize, signal.entry);
        row.status = waiting ? 'PENDING' : 'CANCELLED';
        if (!waiting) row.updatedAt = Math.min(now, createdAt + rng.int(1, 30) * MINUTE);
        yield row;
        continue;
      }

      const entryTime = createdAt;
      const entryPrice = priceUnits(signal.symbol, entryTime);
      const quantity = quantityFor(positionSize, entryPrice);
      row.entryTime = entryTime;
      row.entryPrice = entryPrice;
      row.quantity = quantity;
      if (!outcome) {
        yield row;
        continue;
      }

      let close: Outcome = outcome;
      if (cheap && !group.live && breakEvens < Math.floor(index / breakEvenEvery) + 1) {
        const at = breakEvenTime(signal.symbol, entryTime, entryPrice, outcome.at);
        if (at === entryTime || priceUnits(signal.symbol, at) === entryPrice) {
          close = { status: 'CLOSED_MANUAL', at, price: entryPrice };
          breakEvens++;
        }
      } else if (rng.chance(0.06) && outcome.at - entryTime > 30 * SECOND) {
        const at = Math.round(rng.between(entryTime + 10 * SECOND, outcome.at - SECOND));
        close = { status: 'CLOSED_MANUAL', at, price: priceUnits(signal.symbol, at) };
      }
      const pnl = tradePnl(
        { direction: signal.direction, marketType: signal.marketType, leverage, entryPrice, quantity, positionSize },
        close.price,
      );
      row.exitPrice = close.price;
      row.exitTime = close.at;
      row.profitLoss = pnl.profitLoss;
      row.percentage = pnl.percentage;
      row.status = close.status;
      row.updatedAt = close.at;
      yield row;
    }
  }
}

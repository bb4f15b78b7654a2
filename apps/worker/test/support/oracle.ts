import type { SectionData } from '@snapboard/shared';
import { type Fixture, HOUR, type TradeRow } from './fixtures.ts';

/**
 * SPEC §3 and §8 written out the plainest way, over the fixture rows in memory: what each section
 * must contain. It shares no code with the worker.
 */

const DAY = 24 * HOUR;

function fixed(value: number, dp: number): number {
  const r = Number(value.toFixed(dp));
  return r === 0 ? 0 : r;
}

const ms = (iso: string | null): number | null => (iso === null ? null : Date.parse(iso));
const isClosed = (t: TradeRow) => t.status.startsWith('CLOSED');
const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);

/** Newest first by `key`, missing last, ties by higher id. */
function newestBy(trades: TradeRow[], key: (t: TradeRow) => string | null): TradeRow[] {
  return [...trades].sort((a, b) => {
    const ka = ms(key(a));
    const kb = ms(key(b));
    if (ka !== kb) {
      if (ka === null) return 1;
      if (kb === null) return -1;
      return kb - ka;
    }
    return b.id - a.id;
  });
}

export function expectedOverview(f: Fixture): SectionData['overview'] {
  const a = f.accounts;
  const rates = a.map((x) => x.win_rate).filter((x): x is number => x !== null);
  const avg = rates.length ? sum(rates) / rates.length : 0;
  return {
    total_accounts: a.length,
    active_accounts: a.filter((x) => x.auto_trading_enabled === true).length,
    total_balance: sum(a.map((x) => x.balance ?? 0)),
    total_equity: sum(a.map((x) => x.equity ?? 0)),
    total_pnl: sum(a.map((x) => x.total_pnl ?? 0)),
    total_trades: sum(a.map((x) => x.total_trades ?? 0)),
    avg_win_rate: avg,
    win_rate: avg,
  };
}

/** The bot's P&L of an open trade at a price (SPEC §2/§3); without a price p > 0, nothing is priced. */
function pnlAt(t: TradeRow, prices: Record<string, number>) {
  const quoted = prices[t.symbol];
  const p = quoted ?? 0;
  const priced = quoted !== undefined && quoted > 0;
  let upnl = 0;
  let upnlPct = 0;
  let change: number | null = null;
  let changePct: number | null = null;
  if (priced && t.entry_price !== null) {
    const side = t.direction === 'LONG' ? 1 : t.direction === 'SHORT' ? -1 : 0;
    const lev = t.market_type === 'FUTURES' && t.leverage !== null && t.leverage > 0 ? t.leverage : 1;
    upnl = fixed((p - t.entry_price) * (t.quantity ?? 0) * side * lev, 8);
    upnlPct = t.position_size ? fixed((upnl / t.position_size) * 100, 4) : 0;
    change = fixed(p - t.entry_price, 8);
    changePct = t.entry_price !== 0 ? fixed((change / t.entry_price) * 100, 2) : null;
  }
  return { p, priced, upnl, upnlPct, change, changePct };
}

export function expectedOpenPositions(f: Fixture, prices: Record<string, number>): SectionData['open_positions'] {
  const names = new Map(f.users.map((u) => [u.id, u.username]));
  return newestBy(
    f.trades.filter((t) => t.status === 'OPEN'),
    (t) => t.created_at,
  )
    .slice(0, 100)
    .map((t) => {
      const { p, priced, upnl, upnlPct, change, changePct } = pnlAt(t, prices);
      return {
        trade_id: t.id,
        user_id: t.user_id,
        username: t.user_id === null ? null : (names.get(t.user_id) ?? null),
        symbol: t.symbol,
        direction: t.direction,
        market_type: t.market_type,
        entry_price: t.entry_price,
        entry_time: t.entry_time === null ? null : new Date(t.entry_time).toISOString(),
        position_size: t.position_size,
        quantity: t.quantity,
        stop_loss: t.stop_loss,
        take_profit: t.take_profit,
        leverage: t.leverage,
        current_price: priced ? p : null,
        unrealized_pnl: upnl,
        unrealized_pnl_pct: upnlPct,
        price_change: change,
        price_change_pct: changePct,
        has_real_time_price: priced,
      };
    });
}

/** Closed trades in exit order: exit_time ascending, missing last, then id. */
function byExit(trades: TradeRow[]): TradeRow[] {
  return trades.filter(isClosed).sort((a, b) => {
    const ea = ms(a.exit_time);
    const eb = ms(b.exit_time);
    if (ea !== eb) {
      if (ea === null) return 1;
      if (eb === null) return -1;
      return ea - eb;
    }
    return a.id - b.id;
  });
}

export function expectedRecentTrades(f: Fixture): SectionData['recent_trades'] {
  const ordered = byExit(f.trades);
  const withExit = ordered.filter((t) => t.exit_time !== null).reverse();
  const withoutExit = ordered.filter((t) => t.exit_time === null).sort((a, b) => b.id - a.id);
  return [...withExit, ...withoutExit].slice(0, 100).map((t) => ({
    trade_id: t.id,
    user_id: t.user_id,
    symbol: t.symbol,
    direction: t.direction,
    market_type: t.market_type,
    entry_price: t.entry_price,
    exit_price: t.exit_price,
    profit_loss: t.profit_loss,
    profit_loss_percentage: t.profit_loss_percentage,
    status: t.status,
    entry_time: t.entry_time === null ? null : new Date(t.entry_time).toISOString(),
    exit_time: t.exit_time === null ? null : new Date(t.exit_time).toISOString(),
  }));
}

export function expectedPerformance(f: Fixture): SectionData['performance_metrics'] {
  const closed = byExit(f.trades);
  const pls = closed.map((t) => t.profit_loss).filter((x): x is number => x !== null);
  const wins = pls.filter((x) => x > 0);
  const losses = pls.filter((x) => x < 0);
  const totalProfit = sum(wins);
  const totalLoss = sum(losses);
  const durations = closed
    .filter((t) => t.entry_time !== null && t.exit_time !== null)
    .map((t) => (Date.parse(t.exit_time as string) - Date.parse(t.entry_time as string)) / HOUR);
  let cumulative = 0;
  let peak = 0;
  let drawdown = 0;
  for (const t of closed) {
    cumulative += t.profit_loss ?? 0;
    peak = Math.max(peak, cumulative);
    drawdown = Math.max(drawdown, peak - cumulative);
  }
  return {
    total_closed_trades: closed.length,
    profitable_trades: wins.length,
    losing_trades: losses.length,
    total_profit: totalProfit,
    total_loss: totalLoss,
    avg_profit: wins.length ? totalProfit / wins.length : 0,
    avg_loss: losses.length ? totalLoss / losses.length : 0,
    win_rate: closed.length ? (wins.length / closed.length) * 100 : 0,
    best_trade: pls.length ? Math.max(...pls) : null,
    worst_trade: pls.length ? Math.min(...pls) : null,
    avg_duration_hours: durations.length ? fixed(sum(durations) / durations.length, 2) : null,
    profit_factor: totalLoss !== 0 ? totalProfit / Math.abs(totalLoss) : null,
    max_drawdown: drawdown,
  };
}

export function expectedTopPerformers(f: Fixture): SectionData['top_performers'] {
  const names = new Map(f.users.map((u) => [u.id, u.username]));
  return [...f.accounts]
    .sort((a, b) => {
      if (a.total_pnl !== b.total_pnl) {
        if (a.total_pnl === null) return 1;
        if (b.total_pnl === null) return -1;
        return b.total_pnl - a.total_pnl;
      }
      return a.user_id - b.user_id;
    })
    .slice(0, 5)
    .map((a) => ({
      user_id: a.user_id,
      username: names.get(a.user_id) ?? '',
      balance: a.balance ?? 0,
      equity: a.equity ?? 0,
      total_pnl: a.total_pnl ?? 0,
      win_rate: a.win_rate ?? 0,
      total_trades: a.total_trades ?? 0,
    }));
}

export function expectedTradingStats(f: Fixture, now: Date): SectionData['trading_stats'] {
  const window = (from: number | null) => {
    const inside = f.trades.filter((t) => from === null || (t.created_at !== null && Date.parse(t.created_at) >= from));
    return {
      total_trades: inside.length,
      open_trades: inside.filter((t) => t.status === 'OPEN').length,
      closed_trades: inside.filter(isClosed).length,
    };
  };
  return {
    today: window(now.getTime() - DAY),
    this_week: window(now.getTime() - 7 * DAY),
    all_time: window(null),
  };
}

export function expectedLite(f: Fixture, now: Date): SectionData['lite'] {
  const overview = expectedOverview(f);
  const since = now.getTime() - DAY;
  return {
    total_pnl: overview.total_pnl,
    win_rate: overview.avg_win_rate,
    active_trades: f.trades.filter((t) => t.status === 'OPEN').length,
    daily_pnl: sum(
      f.trades
        .filter((t) => isClosed(t) && t.exit_time !== null && Date.parse(t.exit_time) >= since)
        .map((t) => t.profit_loss ?? 0),
    ),
  };
}

export function expectedPnlHistory(f: Fixture, now: Date): SectionData['pnl_history'] {
  const currentHour = Math.floor(now.getTime() / HOUR) * HOUR;
  const closes = f.trades.filter((t) => isClosed(t) && t.exit_time !== null);
  return Array.from({ length: 720 }, (_, i) => {
    const t = currentHour - (719 - i) * HOUR;
    return {
      t: new Date(t).toISOString(),
      pnl: sum(closes.filter((c) => Date.parse(c.exit_time as string) < t + HOUR).map((c) => c.profit_loss ?? 0)),
    };
  });
}

// ---- SPEC §11: the bot's own API, over system trades only ----------------------------------------

const money = (value: number | null, dp: number, plus = false): string | null =>
  value === null
    ? null
    : `${value < 0 ? '-' : plus ? '+' : ''}$${Math.abs(value).toLocaleString('en-US', {
        minimumFractionDigits: dp,
        maximumFractionDigits: dp,
      })}`;
const text = (value: number | null, dp: number): string | null => (value === null ? null : value.toFixed(dp));
const plain = (iso: string | null): string | null =>
  iso === null ? null : new Date(iso).toISOString().replace('T', ' ').slice(0, 19);
const isoOf = (iso: string | null): string | null => (iso === null ? null : new Date(iso).toISOString());

function ratio(t: TradeRow): number {
  if (t.entry_price === null || t.stop_loss === null || t.take_profit === null) return 0;
  const [reward, risk] =
    t.direction === 'LONG'
      ? [t.take_profit - t.entry_price, t.entry_price - t.stop_loss]
      : t.direction === 'SHORT'
        ? [t.entry_price - t.take_profit, t.stop_loss - t.entry_price]
        : [0, 0];
  return risk > 0 ? fixed(reward / risk, 2) : 0;
}

export function expectedBotTrade(t: TradeRow): SectionData['bot_trades'][number] {
  const pl = text(t.profit_loss, 8);
  const pct = text(t.profit_loss_percentage, 4);
  return {
    id: t.id,
    signal_id: null,
    signal_direction: null,
    signal_timeframe: null,
    signal_confidence: null,
    symbol: t.symbol,
    direction: t.direction,
    market_type: t.market_type,
    entry_price: text(t.entry_price, 8),
    entry_price_formatted: money(t.entry_price, 4),
    entry_time: isoOf(t.entry_time),
    position_size: text(t.position_size, 8),
    quantity: text(t.quantity, 8),
    stop_loss: text(t.stop_loss, 8),
    take_profit: text(t.take_profit, 8),
    exit_price: text(t.exit_price, 8),
    exit_price_formatted: money(t.exit_price, 4),
    exit_time: isoOf(t.exit_time),
    profit_loss: pl,
    profit_loss_formatted: money(t.profit_loss, 2, true),
    profit_loss_percentage: pct,
    leverage: t.leverage,
    status: t.status,
    created_at: plain(t.created_at),
    updated_at: plain(t.updated_at ?? null),
    duration_hours:
      t.entry_time !== null && t.exit_time !== null
        ? (Date.parse(t.exit_time) - Date.parse(t.entry_time)) / HOUR
        : null,
    risk_reward_ratio: ratio(t),
    is_open: t.status === 'OPEN' || t.status === 'PENDING',
    is_closed: isClosed(t),
    is_profitable: (t.profit_loss ?? 0) > 0,
    realized_pnl: pl,
    profit_loss_pct: pct,
  };
}

const system = (f: Fixture) => f.trades.filter((t) => t.user_id === null);

export function expectedBotOpenPositions(
  f: Fixture,
  prices: Record<string, number>,
): SectionData['bot_open_positions'] {
  const open = newestBy(
    system(f).filter((t) => t.status === 'OPEN'),
    (t) => t.created_at,
  );
  const positions = open.map((t) => {
    const { p, priced, upnl, upnlPct, change: priceChange, changePct: priceChangePct } = pnlAt(t, prices);
    // §11 shows zeros where §3 shows null.
    const change = priceChange ?? 0;
    const changePct = priceChangePct ?? 0;
    return {
      trade_id: t.id,
      user: 'System',
      symbol: t.symbol,
      direction: t.direction,
      market_type: t.market_type,
      entry_price: t.entry_price,
      entry_time: isoOf(t.entry_time),
      position_size: t.position_size,
      stop_loss: t.stop_loss,
      take_profit: t.take_profit,
      leverage: t.leverage,
      risk_reward_ratio: ratio(t),
      current_price: priced ? p : null,
      current_value:
        t.position_size === null ? null : priced ? fixed(t.position_size * (1 + upnlPct / 100), 2) : t.position_size,
      unrealized_pnl: upnl,
      unrealized_pnl_pct: upnlPct,
      price_change: change,
      price_change_pct: changePct,
      has_real_time_price: priced,
    };
  });
  const investment = sum(positions.map((p) => p.position_size ?? 0));
  const unrealized = sum(positions.map((p) => p.unrealized_pnl));
  return {
    total_investment: investment,
    total_current_value: sum(positions.map((p) => p.current_value ?? 0)),
    total_unrealized_pnl: unrealized,
    total_unrealized_pnl_pct: investment ? (unrealized / investment) * 100 : 0,
    total_open_trades: positions.length,
    positions,
  };
}

/** The performance object over system trades created at or after `from` (all when null). */
export function expectedBotPerformanceObject(
  f: Fixture,
  prices: Record<string, number>,
  from: number | null,
): SectionData['bot_summary']['performance'] {
  const inside = system(f).filter((t) => from === null || (t.created_at !== null && Date.parse(t.created_at) >= from));
  const closed = inside.filter(isClosed);
  const pls = closed.map((t) => t.profit_loss).filter((x): x is number => x !== null);
  const won = pls.filter((x) => x > 0).length;
  const total = sum(pls);
  const durations = closed
    .filter((t) => t.entry_time !== null && t.exit_time !== null)
    .map((t) => (Date.parse(t.exit_time as string) - Date.parse(t.entry_time as string)) / HOUR);
  const unrealized = expectedBotOpenPositions(f, prices).total_unrealized_pnl;
  return {
    total_trades: inside.length,
    open_trades: inside.filter((t) => t.status === 'OPEN').length,
    win_rate: closed.length ? (won / closed.length) * 100 : 0,
    total_profit_loss: total,
    avg_profit_loss: closed.length ? total / closed.length : 0,
    best_trade: pls.length ? Math.max(...pls) : 0,
    worst_trade: pls.length ? Math.min(...pls) : 0,
    avg_duration_hours: durations.length ? sum(durations) / durations.length : 0,
    profitable_trades: won,
    losing_trades: pls.filter((x) => x < 0).length,
    unrealized_pnl: unrealized,
    total_pnl: total + unrealized,
  };
}

/** The hourly figures: per created hour of the last 365 days, only hours that have system trades. */
export function expectedBotHours(f: Fixture, now: Date): SectionData['bot_performance']['hours'] {
  const from = Math.floor((now.getTime() - 365 * DAY) / HOUR) * HOUR;
  const byHour = new Map<number, TradeRow[]>();
  for (const t of system(f)) {
    if (t.created_at === null) continue;
    const hour = Math.floor(Date.parse(t.created_at) / HOUR) * HOUR;
    if (hour < from) continue;
    byHour.set(hour, [...(byHour.get(hour) ?? []), t]);
  }
  return [...byHour.entries()]
    .sort(([a], [b]) => a - b)
    .map(([hour, trades]) => {
      const closed = trades.filter(isClosed);
      const pls = closed.map((t) => t.profit_loss).filter((x): x is number => x !== null);
      const timed = closed.filter((t) => t.entry_time !== null && t.exit_time !== null);
      return {
        t: new Date(hour).toISOString(),
        trades: trades.length,
        open: trades.filter((t) => t.status === 'OPEN').length,
        closed: closed.length,
        won: pls.filter((x) => x > 0).length,
        lost: pls.filter((x) => x < 0).length,
        pnl: sum(pls),
        best: pls.length ? Math.max(...pls) : null,
        worst: pls.length ? Math.min(...pls) : null,
        duration_seconds: sum(
          timed.map((t) => (Date.parse(t.exit_time as string) - Date.parse(t.entry_time as string)) / 1000),
        ),
        duration_trades: timed.length,
      };
    });
}

export function expectedBotSummary(f: Fixture, prices: Record<string, number>): SectionData['bot_summary'] {
  const performance = expectedBotPerformanceObject(f, prices, null);
  return {
    performance,
    open_trades_count: system(f).filter((t) => t.status === 'OPEN').length,
    recent_closed_trades: newestBy(system(f).filter(isClosed), (t) => t.exit_time)
      .slice(0, 10)
      .map(expectedBotTrade),
    bot_total_pnl: performance.total_pnl,
    bot_win_rate: performance.win_rate,
    bot_total_trades: performance.total_trades,
    bot_realized_pnl: performance.total_profit_loss,
    bot_unrealized_pnl: performance.unrealized_pnl,
  };
}

export function expectedAll(f: Fixture, now: Date, prices: Record<string, number>): SectionData {
  return {
    bot_trades: newestBy(system(f), (t) => t.created_at)
      .slice(0, 500)
      .map(expectedBotTrade),
    bot_performance: { ...expectedBotPerformanceObject(f, prices, null), hours: expectedBotHours(f, now) },
    bot_open_positions: expectedBotOpenPositions(f, prices),
    bot_summary: expectedBotSummary(f, prices),
    overview: expectedOverview(f),
    open_positions: expectedOpenPositions(f, prices),
    recent_trades: expectedRecentTrades(f),
    performance_metrics: expectedPerformance(f),
    top_performers: expectedTopPerformers(f),
    trading_stats: expectedTradingStats(f, now),
    lite: expectedLite(f, now),
    pnl_history: expectedPnlHistory(f, now),
  };
}

/**
 * Deep equality where numbers may differ by float rounding only (the worker sums exact decimals in
 * PostgreSQL, the oracle sums doubles); key sets must match exactly.
 */
export function differences(actual: unknown, expected: unknown, path = '$'): string[] {
  if (typeof expected === 'number' && typeof actual === 'number') {
    const tolerance = 1e-9 * Math.max(1, Math.abs(expected));
    return Math.abs(actual - expected) <= tolerance ? [] : [`${path}: ${actual} ≠ ${expected}`];
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) return [`${path}: not an array`];
    if (actual.length !== expected.length) return [`${path}: length ${actual.length} ≠ ${expected.length}`];
    return expected.flatMap((item, i) => differences(actual[i], item, `${path}[${i}]`));
  }
  if (expected !== null && typeof expected === 'object') {
    if (actual === null || typeof actual !== 'object' || Array.isArray(actual)) return [`${path}: not an object`];
    const a = Object.keys(actual).sort().join();
    const e = Object.keys(expected).sort().join();
    if (a !== e) return [`${path}: keys ${a} ≠ ${e}`];
    return Object.entries(expected).flatMap(([key, value]) =>
      differences((actual as Record<string, unknown>)[key], value, `${path}.${key}`),
    );
  }
  return Object.is(actual, expected) ? [] : [`${path}: ${JSON.stringify(actual)} ≠ ${JSON.stringify(expected)}`];
}

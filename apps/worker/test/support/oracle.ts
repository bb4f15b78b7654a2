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

export function expectedOpenPositions(f: Fixture, prices: Record<string, number>): SectionData['open_positions'] {
  const names = new Map(f.users.map((u) => [u.id, u.username]));
  return f.trades
    .filter((t) => t.status === 'OPEN')
    .sort((a, b) => {
      const ca = ms(a.created_at);
      const cb = ms(b.created_at);
      if (ca !== cb) {
        if (ca === null) return 1;
        if (cb === null) return -1;
        return cb - ca;
      }
      return b.id - a.id;
    })
    .slice(0, 100)
    .map((t) => {
      const p = prices[t.symbol];
      const priced = p !== undefined && p > 0;
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

export function expectedAll(f: Fixture, now: Date, prices: Record<string, number>): SectionData {
  return {
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

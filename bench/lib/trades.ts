import pg from 'pg';
import { wallMs } from './procs.ts';

/**
 * The bench plays the trading bot: it closes OPEN trades the way the bot does (the trade, then the
 * user's account figures, in one transaction) so that the worker sees real change notifications.
 * Plain SQL here keeps the bench independent of the simulator's internals.
 */

/** Make sure at least `want` trades are OPEN, opening copies of recent trades as the bot would. */
export async function topUpOpenTrades(databaseUrl: string, want: number): Promise<{ before: number; opened: number }> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: string }>("SELECT count(*) AS n FROM paper_trades WHERE status = 'OPEN'");
    const before = Number(rows[0]?.n ?? 0);
    if (before >= want) return { before, opened: 0 };
    const result = await client.query(
      `INSERT INTO paper_trades (signal_id, user_id, symbol, direction, market_type, entry_price, entry_time,
                                 position_size, quantity, stop_loss, take_profit, leverage, status, created_at, updated_at)
       SELECT signal_id, user_id, symbol, direction, market_type, entry_price, now() - (n * interval '1 second'),
              position_size, quantity, stop_loss, take_profit, leverage, 'OPEN',
              now() - (n * interval '1 second'), now() - (n * interval '1 second')
         FROM (SELECT *, row_number() OVER (ORDER BY id DESC) AS n FROM paper_trades
                WHERE entry_price > 0 AND quantity > 0 ORDER BY id DESC LIMIT $1) recent`,
      [want - before],
    );
    return { before, opened: result.rowCount ?? 0 };
  } finally {
    await client.end();
  }
}

export interface Close {
  tradeId: number;
  userId: number | null;
  /** Taken just before COMMIT is sent: the change can be seen by nobody earlier. */
  commitAt: number;
  /** When COMMIT returned. */
  committedAt: number;
}

export interface Closer {
  openCount(): Promise<number>;
  closeOne(): Promise<Close | undefined>;
  end(): Promise<void>;
}

const CLOSE_SQL = `
WITH t AS (
  SELECT id, user_id, direction, market_type, entry_price, quantity, leverage, position_size,
         round(entry_price * $1::numeric, 8) AS exit_price
    FROM paper_trades
   WHERE status = 'OPEN'
   ORDER BY created_at, id
   LIMIT 1
   FOR UPDATE SKIP LOCKED
), pnl AS (
  SELECT t.*, round((t.exit_price - t.entry_price) * (CASE WHEN t.direction = 'SHORT' THEN -1 ELSE 1 END)
                    * t.quantity
                    * (CASE WHEN t.market_type = 'FUTURES' AND t.leverage IS NOT NULL THEN t.leverage ELSE 1 END), 8)
           AS profit_loss
    FROM t
)
UPDATE paper_trades p
   SET status = 'CLOSED_MANUAL', exit_price = pnl.exit_price, exit_time = now(), updated_at = now(),
       profit_loss = pnl.profit_loss,
       profit_loss_percentage = CASE WHEN pnl.position_size > 0
                                     THEN round(pnl.profit_loss / pnl.position_size * 100, 4) ELSE 0 END
  FROM pnl
 WHERE p.id = pnl.id
RETURNING p.id, p.user_id`;

// The bot's update_metrics over the user's closed trades (SPEC §2).
const METRICS_SQL = `
UPDATE signals_paperaccount a
   SET total_trades = s.n, winning_trades = s.w, losing_trades = s.l,
       win_rate = CASE WHEN s.n = 0 THEN 0 ELSE round(s.w * 100.0 / s.n, 2) END,
       realized_pnl = s.pnl, balance = a.initial_balance + s.pnl,
       total_pnl = s.pnl + a.unrealized_pnl, equity = a.initial_balance + s.pnl + a.unrealized_pnl,
       updated_at = now()
  FROM (SELECT count(*) AS n, count(*) FILTER (WHERE profit_loss > 0) AS w,
               count(*) FILTER (WHERE profit_loss < 0) AS l, coalesce(sum(profit_loss), 0) AS pnl
          FROM paper_trades WHERE user_id = $1 AND status LIKE 'CLOSED%') s
 WHERE a.user_id = $1`;

export async function createCloser(databaseUrl: string): Promise<Closer> {
  const client = new pg.Client({ connectionString: databaseUrl, application_name: 'snapboard-bench-bot' });
  await client.connect();
  return {
    async openCount() {
      const { rows } = await client.query<{ n: string }>(
        "SELECT count(*) AS n FROM paper_trades WHERE status = 'OPEN'",
      );
      return Number(rows[0]?.n ?? 0);
    },
    async closeOne() {
      await client.query('BEGIN');
      try {
        // A move of up to ±3 %: closes win and lose, so every P&L figure moves.
        const factor = (1 + (Math.random() - 0.5) * 0.06).toFixed(6);
        const { rows } = await client.query<{ id: string; user_id: string | null }>(CLOSE_SQL, [factor]);
        const row = rows[0];
        if (!row) {
          await client.query('ROLLBACK');
          return undefined;
        }
        if (row.user_id !== null) await client.query(METRICS_SQL, [row.user_id]);
        const commitAt = wallMs();
        await client.query('COMMIT');
        return {
          tradeId: Number(row.id),
          userId: row.user_id === null ? null : Number(row.user_id),
          commitAt,
          committedAt: wallMs(),
        };
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {});
        throw error;
      }
    },
    end: () => client.end(),
  };
}

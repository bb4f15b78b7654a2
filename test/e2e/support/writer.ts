/**
 * The consistency writer's one change (the e2e test and the bench's consistency row): one transaction
 * that opens a trade, or closes one and books its P&L on the owner's account, so every commit moves
 * counts and sums that several sections report (support/invariants.ts).
 */

interface Queryable {
  query<R extends object = Record<string, unknown>>(text: string, values?: unknown[]): Promise<{ rows: R[] }>;
}

export interface WriterState {
  /** Commits made so far; the next change is number n + 1. */
  n: number;
  /** Ids of the open trades the writer may close. */
  open: number[];
}

/** Opens below `minOpen`, alternates between `minOpen` and `maxOpen`, closes at `maxOpen`. */
export async function commitChange(
  db: Queryable,
  state: WriterState,
  user: number | null,
  bounds: { minOpen: number; maxOpen: number },
): Promise<void> {
  const n = ++state.n;
  const { open } = state;
  await db.query('BEGIN');
  if (open.length < bounds.minOpen || (open.length < bounds.maxOpen && n % 2 === 0)) {
    const { rows } = await db.query<{ id: string }>(
      `INSERT INTO paper_trades (user_id, symbol, direction, market_type, entry_price, entry_time,
                                 position_size, quantity, status, created_at)
       VALUES ($1, 'ETHUSDT', 'LONG', 'SPOT', 3000, now(), 100, 100 / 3000.0, 'OPEN', now()) RETURNING id`,
      [user],
    );
    open.push(Number(rows[0]?.id));
  } else {
    const id = open.splice(n % open.length, 1)[0];
    const pnl = ((n * 37) % 21) - 10 + 0.125;
    await db.query(
      `UPDATE paper_trades SET status = 'CLOSED_MANUAL', exit_price = coalesce(entry_price, 3000),
              exit_time = now(), profit_loss = $2, profit_loss_percentage = $2 WHERE id = $1`,
      [id, pnl],
    );
    await db.query(
      `UPDATE signals_paperaccount SET total_trades = total_trades + 1, realized_pnl = realized_pnl + $2,
              total_pnl = total_pnl + $2, balance = balance + $2, equity = equity + $2 WHERE user_id = $1`,
      [user, pnl],
    );
  }
  await db.query('COMMIT');
}

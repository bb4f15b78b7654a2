import { DEMO_SYMBOLS, simulatedPrice } from '@snapboard/shared';
import pg from 'pg';

/**
 * The bot's rules (SPEC §2) written out once more, in SQL, straight from the contract: the seed and the
 * simulator must leave data these queries find nothing wrong with.
 */

export async function query<T extends pg.QueryResultRow = pg.QueryResultRow>(
  url: string,
  sql: string,
  params: unknown[] = [],
): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

const LEVERAGE = `CASE WHEN market_type = 'FUTURES' AND leverage IS NOT NULL THEN leverage ELSE 1 END`;

/** Closed trades whose P&L, percentage or quantity disagree with the formulas (exact, numeric). */
export async function formulaViolations(url: string): Promise<{ id: string; problem: string }[]> {
  return query(
    url,
    `SELECT id::text, problem FROM (
       SELECT id, CASE
         WHEN quantity <> round(position_size::numeric(40, 20) / entry_price, 8) THEN 'quantity'
         WHEN status LIKE 'CLOSED%' AND profit_loss <> round(
           (CASE WHEN direction = 'LONG' THEN exit_price - entry_price ELSE entry_price - exit_price END)
           * quantity * ${LEVERAGE}, 8) THEN 'profit_loss'
         WHEN profit_loss_percentage <> round(profit_loss::numeric(40, 20) / position_size * 100, 4) THEN 'percentage'
         WHEN status NOT LIKE 'CLOSED%' AND (profit_loss <> 0 OR exit_price IS NOT NULL OR exit_time IS NOT NULL)
           THEN 'not closed but has an exit'
         WHEN status LIKE 'CLOSED%' AND (exit_price IS NULL OR exit_time IS NULL OR exit_time < entry_time)
           THEN 'closed without a proper exit'
         WHEN status IN ('PENDING', 'CANCELLED') AND entry_time IS NOT NULL THEN 'never filled but has entry_time'
         WHEN (status = 'OPEN' OR status LIKE 'CLOSED%') AND entry_time IS NULL THEN 'filled without entry_time'
         WHEN market_type = 'SPOT' AND leverage IS NOT NULL THEN 'leverage on SPOT'
         WHEN status = 'CLOSED_SL' AND (CASE WHEN direction = 'LONG' THEN exit_price > stop_loss
                                             ELSE exit_price < stop_loss END) THEN 'CLOSED_SL above its stop'
         WHEN status = 'CLOSED_TP' AND (CASE WHEN direction = 'LONG' THEN exit_price < take_profit OR exit_price <= stop_loss
                                             ELSE exit_price > take_profit OR exit_price >= stop_loss END)
           THEN 'CLOSED_TP short of its target or past its stop'
         END AS problem
       FROM paper_trades) t
     WHERE problem IS NOT NULL ORDER BY id LIMIT 20`,
  );
}

export function pricesAt(atMs: number, symbols: readonly string[] = DEMO_SYMBOLS): [string[], string[]] {
  return [[...symbols], symbols.map((s) => simulatedPrice(s, atMs).toFixed(8))];
}

/**
 * Accounts whose stored figures are not what update_metrics computes from their trades, with the
 * OPEN trades valued at the demo market's price at `atMs`. `closedOnly` skips the unrealized part.
 */
export async function accountMismatches(
  url: string,
  atMs: number,
  options: { closedOnly?: boolean; users?: string[] } = {},
): Promise<Record<string, unknown>[]> {
  const [symbols, prices] = pricesAt(atMs);
  const unrealizedChecks = options.closedOnly
    ? `a.total_pnl <> a.realized_pnl + a.unrealized_pnl OR a.equity <> a.balance + a.unrealized_pnl`
    : `a.unrealized_pnl <> round(coalesce(o.u, 0), 2)
       OR a.total_pnl <> round(coalesce(c.s, 0), 2) + round(coalesce(o.u, 0), 2)
       OR a.equity <> a.initial_balance + round(coalesce(c.s, 0), 2) + round(coalesce(o.u, 0), 2)`;
  return query(
    url,
    `WITH p AS (SELECT * FROM unnest($1::text[], $2::numeric[]) AS p (symbol, price)),
     c AS (SELECT user_id, count(*) AS n, count(*) FILTER (WHERE profit_loss > 0) AS w,
                  count(*) FILTER (WHERE profit_loss < 0) AS l, sum(profit_loss) AS s
           FROM paper_trades WHERE status LIKE 'CLOSED%' AND user_id IS NOT NULL GROUP BY user_id),
     o AS (SELECT user_id, sum(round((CASE WHEN direction = 'LONG' THEN p.price - entry_price
                                          ELSE entry_price - p.price END) * quantity * ${LEVERAGE}, 8)) AS u
           FROM paper_trades JOIN p USING (symbol) WHERE status = 'OPEN' AND user_id IS NOT NULL GROUP BY user_id)
     SELECT a.user_id::text, a.total_trades, c.n, a.winning_trades, c.w, a.losing_trades, c.l, a.win_rate,
            a.realized_pnl, c.s, a.unrealized_pnl, o.u, a.balance, a.equity, a.total_pnl, a.initial_balance
     FROM signals_paperaccount a LEFT JOIN c USING (user_id) LEFT JOIN o USING (user_id)
     WHERE ($3::bigint[] IS NULL OR a.user_id = ANY($3))
       AND (a.total_trades <> coalesce(c.n, 0)
         OR a.winning_trades <> coalesce(c.w, 0)
         OR a.losing_trades <> coalesce(c.l, 0)
         OR a.win_rate <> CASE WHEN coalesce(c.n, 0) = 0 THEN 0 ELSE round(c.w::numeric / c.n * 100, 2) END
         OR a.realized_pnl <> round(coalesce(c.s, 0), 2)
         OR a.balance <> a.initial_balance + round(coalesce(c.s, 0), 2)
         OR ${unrealizedChecks})
     ORDER BY a.user_id LIMIT 20`,
    [symbols, prices, options.users ?? null],
  );
}

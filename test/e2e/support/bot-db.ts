import pg from 'pg';

/**
 * Writes to the trading bot's tables (SPEC §2) the way the bot does, for scenarios that need trades
 * to change under the worker. Plain SQL on purpose: this is the bot's side of the contract.
 */
export class BotDb {
  readonly pool: pg.Pool;

  constructor(url: string) {
    this.pool = new pg.Pool({ connectionString: url, max: 4 });
    this.pool.on('error', () => {});
  }

  query<R extends pg.QueryResultRow = Record<string, unknown>>(sql: string, params: unknown[] = []) {
    return this.pool.query<R>(sql, params);
  }

  async addUser(username: string, account: { balance?: number; totalPnl?: number; winRate?: number } = {}) {
    const { rows } = await this.query<{ id: string }>('INSERT INTO users (username) VALUES ($1) RETURNING id', [
      username,
    ]);
    const id = Number(rows[0]!.id);
    const balance = account.balance ?? 1000;
    await this.query(
      `INSERT INTO signals_paperaccount (user_id, initial_balance, balance, equity, total_pnl, win_rate, auto_trading_enabled)
       VALUES ($1, 1000, $2, $2, $3, $4, true)`,
      [id, balance, account.totalPnl ?? 0, account.winRate ?? 0],
    );
    return id;
  }

  /** Open a trade at `price` as the bot does: quantity = size ÷ price. */
  async openTrade(userId: number | null, symbol = 'BTCUSDT', price = 64_000, size = 100): Promise<number> {
    const { rows } = await this.query<{ id: string }>(
      `INSERT INTO paper_trades (user_id, symbol, direction, market_type, entry_price, entry_time, position_size,
                                 quantity, stop_loss, take_profit, status)
       VALUES ($1, $2, 'LONG', 'SPOT', $3, now(), $4, $4::numeric / $3::numeric, $3 * 0.9, $3 * 1.1, 'OPEN')
       RETURNING id`,
      [userId, symbol, price, size],
    );
    return Number(rows[0]!.id);
  }

  async closeTrade(id: number, exitPrice: number): Promise<void> {
    await this.query(
      `UPDATE paper_trades
          SET exit_price = $2, exit_time = now(), status = 'CLOSED_MANUAL',
              profit_loss = round(($2 - entry_price) * quantity, 8),
              profit_loss_percentage = round(($2 - entry_price) * quantity / position_size * 100, 4),
              updated_at = now()
        WHERE id = $1`,
      [id, exitPrice],
    );
  }

  close(): Promise<void> {
    return this.pool.end();
  }
}

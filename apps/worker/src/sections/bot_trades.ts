import { BOT_TRADES_WINDOW } from '@snapboard/shared';
import { type BotTradeRow, buildTrade, createRowReader, TRADE_COLUMNS } from './bot.ts';
import type { SectionComputer } from './types.ts';

// The newest system trades by created_at (partial index snapboard_pt_system_created, migration 0006);
// the list endpoint's filters apply within them (docs/decisions/0010).
export const SQL = `
  SELECT ${TRADE_COLUMNS}
  WHERE t.user_id IS NULL
  ORDER BY t.created_at DESC NULLS LAST, t.id DESC
  LIMIT ${BOT_TRADES_WINDOW}`;

// A close changes one of the window's rows: the others' items are reused (bot.ts).
const readTrades = createRowReader(SQL, (row) => buildTrade(row as unknown as BotTradeRow));

export const botTrades: SectionComputer<'bot_trades'> = {
  systemTradesOnly: true,
  compute({ db }) {
    return readTrades(db);
  },
};

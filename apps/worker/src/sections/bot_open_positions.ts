import { amount8, type BotOpenPositions, type BotPosition } from '@snapboard/shared';
import { openSystemPositions, unrealizedOf } from './bot.ts';
import type { SectionComputer } from './types.ts';

/** The section from the bot's open positions (bot_read.ts reads them once for several sections). */
export function openPositionsData(positions: BotPosition[]): BotOpenPositions {
  const investment = amount8(positions.reduce((total, p) => total + (p.position_size ?? 0), 0));
  const unrealized = unrealizedOf(positions);
  return {
    total_investment: investment,
    total_current_value: amount8(positions.reduce((total, p) => total + (p.current_value ?? 0), 0)),
    total_unrealized_pnl: unrealized,
    total_unrealized_pnl_pct: investment ? (unrealized / investment) * 100 : 0,
    total_open_trades: positions.length,
    positions,
  };
}

export const botOpenPositions: SectionComputer<'bot_open_positions'> = {
  systemTradesOnly: true,
  async compute(ctx) {
    return openPositionsData(await openSystemPositions(ctx));
  },
};

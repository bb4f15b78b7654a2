import { amount8 } from '@snapboard/shared';
import { openSystemPositions, unrealizedOf } from './bot.ts';
import type { SectionComputer } from './types.ts';

export const botOpenPositions: SectionComputer<'bot_open_positions'> = {
  systemTradesOnly: true,
  async compute(ctx) {
    const positions = await openSystemPositions(ctx);
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
  },
};

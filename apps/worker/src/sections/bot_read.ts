import type { BotTotals, BotTrade, SectionName } from '@snapboard/shared';
import { ALL_TIME_SQL, openSystemPositions, type TotalsRow, totalsOf } from './bot.ts';
import { openPositionsData } from './bot_open_positions.ts';
import { allTimeTotals, hourItems, performanceData } from './bot_performance.ts';
import { recentClosed, summaryData } from './bot_summary.ts';
import type { SharedRead } from './types.ts';

const READ: ReadonlySet<SectionName> = new Set(['bot_performance', 'bot_summary', 'bot_open_positions']);

/**
 * bot_performance, bot_summary and bot_open_positions read together (decision 0018's shared read): a
 * close of the bot's own trade brings all three into one set, where each alone would price the bot's
 * open positions and aggregate its trades again. Together: the positions once (one price lookup, so the
 * three also agree on prices), and the hours' all-time row stands for bot_summary's own aggregate — the
 * same exact numeric sums (bot_performance.ts). Each section's data is what its own compute gives.
 */
export const botRead: SharedRead = {
  async read(ctx, sections) {
    const unknown = sections.filter((section) => !READ.has(section));
    if (unknown.length) throw new TypeError(`not read with the bot's sections: ${unknown.join(', ')}`);
    const want = new Set(sections);
    // One after the other on the lane's one connection, as each section's own compute does.
    const hours = want.has('bot_performance') ? await hourItems(ctx.db) : undefined;
    let totals: BotTotals | undefined;
    let recent: BotTrade[] = [];
    if (want.has('bot_summary')) {
      totals = hours ? allTimeTotals(hours) : totalsOf((await ctx.db.query<TotalsRow>(ALL_TIME_SQL)).rows[0]);
      recent = await recentClosed(ctx.db);
    }
    const positions = await openSystemPositions(ctx);
    const data = new Map<SectionName, unknown>();
    if (hours) data.set('bot_performance', performanceData(hours, positions, ctx.now));
    if (totals) data.set('bot_summary', summaryData(totals, recent, positions));
    if (want.has('bot_open_positions')) data.set('bot_open_positions', openPositionsData(positions));
    return data;
  },
};

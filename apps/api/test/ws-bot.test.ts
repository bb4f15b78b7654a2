import { useTestEnv } from '@snapboard/devenv/testing';
import type { SnapshotMessage } from '@snapboard/shared';
import { describe, expect, it } from 'vitest';
import { snapshot, useWsServer } from './ws-harness.ts';

// SPEC §11 over the socket: bot_trades is cut to the subscriber's limit, and bot_performance goes out
// as the all-time object, without the hourly figures that serve HTTP `days` windows.

const env = useTestEnv({ database: false });
const api = useWsServer(env);

describe('the bot sections over the socket', () => {
  it('happy: bot_trades cut to the limit, bot_performance without its hours', async () => {
    const trades = snapshot('bot_trades', 60);
    const performance = snapshot('bot_performance', 3);
    for (const s of [trades, performance]) {
      await api.publisher.publish(s);
      await api.waitForVersion(s.section, s.version);
    }
    const client = await api.ready();
    client.send({ type: 'subscribe', sections: ['bot_trades', 'bot_performance'], limit: 7 });
    const got = (await client.drain()).filter((m): m is SnapshotMessage => m.type === 'snapshot');
    const bySection = Object.fromEntries(got.map((m) => [m.section, m.data]));
    expect(bySection.bot_trades).toEqual(trades.data.slice(0, 7));
    const { hours, ...allTime } = performance.data;
    expect(hours.length).toBeGreaterThan(0);
    expect(bySection.bot_performance).toEqual(allTime);
  });
});

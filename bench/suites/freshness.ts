import pg from 'pg';
import { WebSocket } from 'ws';
import { listenToAnnouncements } from '../lib/announcements.ts';
import type { BenchContext } from '../lib/context.ts';
import { sleep, wallMs } from '../lib/procs.ts';
import { type Figure, figure } from '../lib/report.ts';
import { percentile } from '../lib/stats.ts';
import { createCloser } from '../lib/trades.ts';

/**
 * 3. Freshness: from the commit of a trade close to a subscribed client holding both the
 * recent_trades that lists it and the lite whose active_trades counts it closed, with the default
 * TTLs. The baseline is the earliest anyone could know: a plain LISTEN on the trigger's channel,
 * timed for the same closes. The time to the worker's announcement of recent_trades is kept too, to
 * tell the worker's share from the fan-out's.
 */

interface Sample {
  total: number;
  notify: number | null;
  announce: number | null;
}

interface LiteData {
  active_trades: number;
}

interface TradeItem {
  trade_id: number;
}

export async function freshnessSuite(ctx: BenchContext): Promise<Figure[]> {
  const { api } = await ctx.stack();
  const count = ctx.quick ? 20 : 60;
  const closer = await createCloser(ctx.databaseUrl);
  const announcements = await listenToAnnouncements(ctx.redisUrl, ctx.keyPrefix);
  const listener = new pg.Client({ connectionString: ctx.databaseUrl, application_name: 'snapboard-bench-listen' });
  await listener.connect();
  const notifications: number[] = [];
  listener.on('notification', (n) => {
    if (n.payload === 'paper_trades') notifications.push(wallMs());
  });
  await listener.query('LISTEN snapboard_changes');

  // One subscriber holding the newest recent_trades and lite it has been sent.
  let recent: TradeItem[] = [];
  let lite: LiteData | undefined;
  let onFrame: (() => void) | undefined;
  const socket = new WebSocket(api.wsUrl, { perMessageDeflate: false });
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  socket.on('message', (raw: Buffer) => {
    const message = JSON.parse(raw.toString()) as { type: string; section?: string; data?: unknown };
    if (message.type !== 'snapshot') return;
    if (message.section === 'recent_trades') recent = message.data as TradeItem[];
    if (message.section === 'lite') lite = message.data as LiteData;
    onFrame?.();
  });
  socket.send(JSON.stringify({ type: 'subscribe', sections: ['recent_trades', 'lite'], limit: 20 }));

  const samples: Sample[] = [];
  let timeouts = 0;
  try {
    let open = await closer.openCount();
    const settle = Date.now() + 10_000;
    // The subscriber must first hold the current state: active_trades as the database has it.
    while (lite?.active_trades !== open && Date.now() < settle) await sleep(50);
    for (let i = 0; i < count; i++) {
      notifications.length = 0;
      announcements.start();
      const close = await closer.closeOne();
      if (!close) {
        ctx.log('freshness: no OPEN trade left to close');
        break;
      }
      open--;
      const holds = () => lite?.active_trades === open && recent.some((t) => t.trade_id === close.tradeId);
      const seen = await new Promise<number | undefined>((resolve) => {
        const timer = setTimeout(() => {
          onFrame = undefined;
          resolve(undefined);
        }, 10_000);
        onFrame = () => {
          if (!holds()) return;
          clearTimeout(timer);
          onFrame = undefined;
          resolve(wallMs());
        };
        onFrame();
      });
      if (seen === undefined) {
        timeouts++;
        // Re-read where the client stands so one lost close does not spoil the rest.
        open = await closer.openCount();
        continue;
      }
      const announced = announcements.entries.find(
        (e) =>
          e.changed &&
          e.section === 'recent_trades' &&
          (e.data as TradeItem[]).some((t) => t.trade_id === close.tradeId),
      );
      samples.push({
        total: seen - close.commitAt,
        notify: notifications[0] === undefined ? null : notifications[0] - close.commitAt,
        announce: announced ? announced.at - close.commitAt : null,
      });
      // Like a bot that closes a trade now and then, not a burst that the worker would fold together.
      await sleep(150 + Math.random() * 250);
    }
  } finally {
    socket.terminate();
    await listener.end().catch(() => {});
    await announcements.close();
    await closer.end();
  }

  // A close never seen counts as the 10 s we waited for it: a lower bound, never a gap in the data.
  const totals = [...samples.map((s) => s.total), ...Array<number>(timeouts).fill(10_000)];
  const notifies = samples.map((s) => s.notify).filter((v): v is number => v != null);
  const announces = samples.map((s) => s.announce).filter((v): v is number => v != null);
  ctx.facts.freshness = {
    closes: samples.length,
    timeouts,
    totalMs: totals,
    notifyMs: notifies,
    announceRecentTradesMs: announces,
  };
  const note = `${samples.length + timeouts} closes${timeouts ? `, ${timeouts} not seen within 10 s (counted as 10 s)` : ''}`;
  return [
    figure({
      id: 'fresh.p50',
      suite: 'fresh',
      label: 'commit → client holds recent_trades+lite, p50',
      value: percentile(totals, 50),
      unit: 'ms',
      baseline: { label: 'LISTEN/NOTIFY', value: percentile(notifies, 50) },
      note,
    }),
    figure({
      id: 'fresh.p99',
      suite: 'fresh',
      label: 'commit → client holds recent_trades+lite, p99',
      value: percentile(totals, 99),
      unit: 'ms',
      baseline: { label: 'LISTEN/NOTIFY', value: percentile(notifies, 99) },
      target: { on: 'value', op: '<=', limit: 300 },
      note,
    }),
    figure({
      id: 'fresh.announce_p50',
      suite: 'fresh',
      label: 'commit → worker announces recent_trades, p50',
      value: percentile(announces, 50),
      unit: 'ms',
      baseline: { label: 'LISTEN/NOTIFY', value: percentile(notifies, 50) },
    }),
  ];
}

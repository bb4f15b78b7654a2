import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PAGE_SECTIONS } from '@snapboard/shared';
import { listenToAnnouncements } from '../lib/announcements.ts';
import type { BenchContext } from '../lib/context.ts';
import { sleep } from '../lib/procs.ts';
import { type Figure, figure } from '../lib/report.ts';
import { percentile } from '../lib/stats.ts';
import { createCloser } from '../lib/trades.ts';
import { type Measured, measureFanout } from './ws.ts';

/**
 * Change sets against the floor (issue 11): from the commit of a trade close to every subscriber
 * holding it, at 1,000 / 5,000 / 10,000 subscribers of every section (limit 20, patches, field
 * updates and batch frames, as the SDK asks). snapboard: the commit's lite version, which comes in the close's change
 * set. The floor (bench/children/floor-ws.ts): a process that LISTENs for the same commit and writes
 * one prepared frame of the bytes snapboard sent per close to every socket. Per size, snapboard runs
 * first (its bytes size the floor's frame), then the floor, on fresh processes. Also: fan-out rounds
 * per close, and CPU per close of the API and of the worker.
 */

/**
 * Closes made on each fresh process before the measured ones, and reported in a row of their own: the
 * first close after an API process starts runs its fan-out code cold (3 Dec: 118 ms to the first of
 * 1,000 subscribers, against 24–30 ms for the closes after it), which in a long-running deployment
 * happens once per process start, not per close.
 */
const COLD_CLOSES = 1;

/**
 * Closes made once, before the first size, and measured by nobody: the worker starts with the suite and
 * its first sets run cold (3 Dec 12:03–12:10: the sets of the 1,000 window published a median ~27 ms
 * after they started, falling close by close, those of the 5,000 and 10,000 windows ~17 ms; JIT, and
 * each lane's connection planning its statements once). Without them the 1,000 row measured the worker's
 * start; a long-running worker pays it once, as the API pays its first close (COLD_CLOSES).
 */
const WORKER_WARMUP_CLOSES = 12;

export async function floorSuite(ctx: BenchContext): Promise<Figure[]> {
  const stack = await ctx.stack();
  const sizes = ctx.quick ? [1000, 5000] : [1000, 5000, 10_000];
  const closes = ctx.quick ? 4 : 6;
  const announcements = await listenToAnnouncements(ctx.redisUrl, ctx.keyPrefix);
  const closer = await createCloser(ctx.databaseUrl);
  const figures: Figure[] = [];
  const detail: Record<string, unknown> = {};
  const ms = (v: number | null | undefined) => (v == null ? '?' : v.toFixed(1));
  try {
    for (let i = 0; i < WORKER_WARMUP_CLOSES; i++) {
      await closer.closeOne();
      await sleep(400);
    }
    ctx.log(`floor: the worker warmed up with ${WORKER_WARMUP_CLOSES} closes, not measured`);
    for (const n of sizes) {
      const s: Measured = await measureFanout(ctx, { announcements, closer }, 'snapboard', n, true, {
        closes,
        coldCloses: COLD_CLOSES,
        timeBase: 'commit',
        fields: true,
        batches: true,
        workerPid: stack.worker.pid,
      });
      // The floor writes what snapboard's subscribers were sent for a close, so the load generator
      // reads the same bytes from both (the padded frame of the same size only if none was captured).
      const frameFile = s.sampleFrame ? join(tmpdir(), `snapboard-floor-frame-${process.pid}-${n}.json`) : undefined;
      if (frameFile && s.sampleFrame) writeFileSync(frameFile, Buffer.from(s.sampleFrame, 'base64'));
      const f: Measured = await measureFanout(ctx, { announcements, closer }, 'floor', n, true, {
        closes,
        coldCloses: COLD_CLOSES,
        timeBase: 'commit',
        frameBytes: s.bytesPerClose,
        frameFile,
      }).finally(() => frameFile && rmSync(frameFile, { force: true }));
      const label = n.toLocaleString('en');
      const frameBytes = s.sampleFrame ? Buffer.from(s.sampleFrame, 'base64').length : null;
      detail[n] = {
        snapboard: { ...s, deliveries: undefined, sampleFrame: undefined },
        floor: { ...f, deliveries: undefined },
        floorFrameBytes: frameBytes,
      };
      ctx.log(
        `floor: n=${n} commit→last p99 snapboard ${ms(percentile(s.lastMs, 99))} ms vs floor ${ms(percentile(f.lastMs, 99))} ms; ` +
          `commit→first p50 ${ms(percentile(s.firstMs, 50))} vs ${ms(percentile(f.firstMs, 50))} ms; ` +
          `rounds/close ${ms(s.roundsPerClose)}; CPU/close API ${s.cpuPerClose.server?.toFixed(3)} s, worker ${s.cpuPerClose.worker?.toFixed(3)} s; ` +
          `commit→last per close (* the bot's own trade; in brackets commit→announced) ` +
          `${s.lastMs.map((v, i) => `${ms(v)}${s.lastBot[i] ? '*' : ''} (${ms(s.lastAnnouncedMs[i])})`).join(', ')}, floor ${f.lastMs.map(ms).join(', ')}`,
      );
      const floorP99 = percentile(f.lastMs, 99);
      figures.push(
        figure({
          id: `floor.${n}.last_p99`,
          suite: 'floor',
          label: `${label} subs: commit → last subscriber, p99`,
          value: percentile(s.lastMs, 99),
          unit: 'ms',
          baseline: { label: 'floor (LISTEN + one frame)', value: floorP99 },
          target:
            n >= 5000 || floorP99 == null
              ? { on: 'ratio', op: '<=', limit: 1.2 }
              : { on: 'value', op: '<=', limit: floorP99 + 30 },
          note: `${s.lastMs.length} of ${closes} closes measured (after ${COLD_CLOSES} measured apart); ${s.missing} versions missed; the floor replays snapboard's batch frame of a close${frameBytes ? ` (${frameBytes} bytes)` : ' (none captured: a padded frame)'}`,
        }),
        figure({
          id: `floor.${n}.first_p50`,
          suite: 'floor',
          label: `${label} subs: commit → first subscriber, p50`,
          value: percentile(s.firstMs, 50),
          unit: 'ms',
          baseline: { label: 'floor (LISTEN + one frame)', value: percentile(f.firstMs, 50) },
          ...(n === 1000 && percentile(f.firstMs, 50) != null
            ? { target: { on: 'value' as const, op: '<=' as const, limit: (percentile(f.firstMs, 50) as number) + 25 } }
            : {}),
        }),
        figure({
          id: `floor.${n}.cold_last`,
          suite: 'floor',
          label: `${label} subs: first close after start, commit → last subscriber`,
          value: s.coldLastMs[0] ?? null,
          unit: 'ms',
          baseline: { label: 'floor, its first close', value: f.coldLastMs[0] ?? null },
          note: `commit → first subscriber ${ms(s.coldFirstMs[0])} ms (floor ${ms(f.coldFirstMs[0])} ms); not in the rows above`,
        }),
        figure({
          id: `floor.${n}.rounds_per_close`,
          suite: 'floor',
          label: `${label} subs: fan-out rounds per close`,
          value: s.roundsPerClose,
          unit: '',
          baseline: { label: 'one set per close', value: 1 },
          note: 'open_positions price ticks in the window are sets of their own',
        }),
        figure({
          id: `floor.${n}.cpu_per_close`,
          suite: 'floor',
          label: `${label} subs: API CPU per close`,
          value: s.cpuPerClose.server == null ? null : s.cpuPerClose.server * 1000,
          unit: 'ms',
          baseline: {
            label: 'floor process',
            value: f.cpuPerClose.server == null ? null : f.cpuPerClose.server * 1000,
          },
        }),
        figure({
          id: `floor.${n}.worker_cpu_per_close`,
          suite: 'floor',
          label: `${label} subs: worker CPU per close`,
          value: s.cpuPerClose.worker == null ? null : s.cpuPerClose.worker * 1000,
          unit: 'ms',
          baseline: { label: 'floor (no worker)', value: 0 },
        }),
      );
    }
  } finally {
    ctx.facts.floor = { sections: PAGE_SECTIONS, ...detail };
    await announcements.close();
    await closer.end();
  }
  return figures;
}

import { SECTION_NAMES } from '@snapboard/shared';
import WebSocket from 'ws';
import type { BenchContext } from '../lib/context.ts';
import { databaseCounters } from '../lib/env.ts';
import { sleep } from '../lib/procs.ts';
import { type Figure, figure } from '../lib/report.ts';
import { percentile } from '../lib/stats.ts';

/**
 * 6. Hostile readers (SPEC §13), on the shared stack at its default limits:
 * - 50 clients looping on `refresh=true`: PostgreSQL's committed transactions per second in the bench
 *   database against an idle window of the same length (worker on, no readers). Target ≤ 2×.
 * - one socket looping `subscribe` for every section at limit 100 for 5 s: the bytes the API wrote in
 *   answer to its commands (its own counter, pushes excluded) against what the socket asked for (frames
 *   sent × one full answer). Target ≤ 2.25 MiB: the 1 MiB burst plus 5 s at 256 KiB/s.
 * Beside each, a well-behaved client's v2 and ping→pong latency, against the same in the idle window.
 */

const REFRESH_CLIENTS = 50;
const ABUSE_SECONDS = 5;
const MiB = 2 ** 20;

/** A well-behaved reader: one plain v2 GET every 100 ms, latencies in ms. */
async function pollV2(baseUrl: string, stop: () => boolean): Promise<number[]> {
  const samples: number[] = [];
  while (!stop()) {
    const t = performance.now();
    const response = await fetch(`${baseUrl}/api/public/dashboard/v2/`);
    await response.arrayBuffer();
    samples.push(performance.now() - t);
    await sleep(100);
  }
  return samples;
}

async function open(url: string): Promise<WebSocket> {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return ws;
}

/** A well-behaved socket: one ping every 100 ms, ping→pong in ms. */
async function pingLoop(ws: WebSocket, stop: () => boolean): Promise<number[]> {
  const samples: number[] = [];
  for (let id = 0; !stop(); id++) {
    const t = performance.now();
    await new Promise<void>((resolve) => {
      const onMessage = (data: WebSocket.RawData) => {
        const message = JSON.parse(data.toString()) as { type: string; id?: number };
        if (message.type === 'pong' && message.id === id) {
          ws.off('message', onMessage);
          resolve();
        }
      };
      ws.on('message', onMessage);
      ws.send(JSON.stringify({ type: 'ping', id }));
    });
    samples.push(performance.now() - t);
    await sleep(100);
  }
  return samples;
}

/** Bytes of the answer to one `frame` on a fresh socket: everything before the pong of a ping sent after it. */
async function answerSize(url: string, frame: string): Promise<number> {
  const ws = await open(url);
  let bytes = 0;
  let counting = false;
  await new Promise<void>((resolve) => {
    ws.on('message', (data: Buffer) => {
      const type = (JSON.parse(data.toString()) as { type: string }).type;
      if (type === 'pong') resolve();
      else if (counting) bytes += data.length;
    });
    counting = true;
    ws.send(frame);
    ws.send(JSON.stringify({ type: 'ping' }));
  });
  ws.close();
  return bytes;
}

async function answerBytesCounter(baseUrl: string): Promise<number> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('snapboard_ws_answer_bytes_total '));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
}

const until = (ms: number) => {
  const end = Date.now() + ms;
  return () => Date.now() >= end;
};
const p50 = (samples: number[]) => percentile(samples, 50);

export async function abuseSuite(ctx: BenchContext): Promise<Figure[]> {
  const stack = await ctx.stack();
  const { baseUrl, wsUrl } = stack.api;
  const windowSec = ctx.quick ? 10 : 30;
  const tps = async (seconds: number, during: (stop: () => boolean) => Promise<unknown>) => {
    const before = await databaseCounters(ctx.postgresUrl, ctx.databaseName);
    const load = during(until(seconds * 1000));
    await sleep(seconds * 1000);
    await load;
    // Busy backends report their counters about once a second: let the last report land.
    await sleep(1500);
    const after = await databaseCounters(ctx.postgresUrl, ctx.databaseName);
    return (after.xactCommit + after.xactRollback - before.xactCommit - before.xactRollback) / seconds;
  };

  ctx.log(`abuse: idle window, ${windowSec} s (worker running, one well-behaved poller)`);
  let idleV2: number[] = [];
  const idle = await tps(windowSec, async (stop) => {
    idleV2 = await pollV2(baseUrl, stop);
  });

  /** 50 clients asking `query` again as soon as answered, beside one well-behaved poller. */
  const loop = async (query: string) => {
    let answers = 0;
    let fresh = 0;
    let polled: number[] = [];
    const txPerSec = await tps(windowSec, (stop) =>
      Promise.all([
        pollV2(baseUrl, stop).then((samples) => {
          polled = samples;
        }),
        ...Array.from({ length: REFRESH_CLIENTS }, async () => {
          while (!stop()) {
            const response = await fetch(`${baseUrl}/api/public/dashboard/v2/${query}`);
            const body = (await response.json()) as { cached?: boolean };
            answers++;
            if (body.cached === false) fresh++;
          }
        }),
      ]),
    );
    return { txPerSec, answers, fresh, polled };
  };
  ctx.log(`abuse: ${REFRESH_CLIENTS} clients looping on a plain v2 GET, ${windowSec} s`);
  const plain = await loop('');
  ctx.log(`abuse: ${REFRESH_CLIENTS} clients looping on refresh=true, ${windowSec} s`);
  const refreshLoop = await loop('?refresh=true');
  const { txPerSec: looped, answers: refreshes, fresh, polled: loadedV2 } = refreshLoop;

  ctx.log(`abuse: one socket looping subscribe-all at limit 100 for ${ABUSE_SECONDS} s`);
  const bystander = await open(wsUrl);
  const quietPings = await pingLoop(bystander, until(ABUSE_SECONDS * 1000));
  const frame = JSON.stringify({ type: 'subscribe', sections: SECTION_NAMES, limit: 100 });
  const oneAnswer = await answerSize(wsUrl, frame);
  const abuser = await open(wsUrl);
  let received = 0;
  let closeCode: number | undefined;
  abuser.on('message', (data: Buffer) => {
    received += data.length;
  });
  abuser.on('close', (code) => {
    closeCode = code;
  });
  const countedBefore = await answerBytesCounter(baseUrl);
  const stop = until(ABUSE_SECONDS * 1000);
  let sent = 0;
  const [loudPings] = await Promise.all([
    pingLoop(bystander, stop),
    (async () => {
      while (!stop() && abuser.readyState === WebSocket.OPEN) {
        for (let i = 0; i < 20; i++, sent++) abuser.send(frame);
        await sleep(2);
      }
    })(),
  ]);
  await sleep(500);
  const answered = (await answerBytesCounter(baseUrl)) - countedBefore;
  abuser.terminate();
  bystander.close();

  const asked = sent * oneAnswer;
  ctx.facts.abuse = {
    idleTxPerSec: idle,
    refreshLoopTxPerSec: looped,
    refreshAnswers: refreshes,
    refreshAnswersFresh: fresh,
    plainLoopAnswers: plain.answers,
    plainLoopTxPerSec: plain.txPerSec,
    abusiveFramesSent: sent,
    abusiveBytesReceived: received,
    abusiveAnswerBytes: answered,
    oneFullAnswerBytes: oneAnswer,
    abusiveCloseCode: closeCode ?? null,
  };
  return [
    figure({
      id: 'abuse.refresh_loop_vs_idle',
      suite: 'abuse',
      label: `DB transactions/s with ${REFRESH_CLIENTS} clients looping on refresh=true ÷ idle`,
      value: looped,
      unit: 'tx/s',
      baseline: { label: 'idle, worker on', value: idle },
      target: { on: 'ratio', op: '<=', limit: 2 },
      note:
        `${refreshes} refresh answers in ${windowSec} s (${fresh} after a finished forced recompute); ` +
        `${plain.answers} plain answers in the same loop without refresh, ${plain.txPerSec.toFixed(2)} tx/s; ` +
        `the well-behaved poller's p50 was ${p50(idleV2)?.toFixed(2)} ms in the idle window`,
    }),
    figure({
      id: 'abuse.refresh_loop_v2_p50',
      suite: 'abuse',
      label: 'a well-behaved client’s v2 p50 during the refresh loop',
      value: p50(loadedV2),
      unit: 'ms',
      baseline: { label: `same, ${REFRESH_CLIENTS} clients looping on plain v2`, value: p50(plain.polled) },
      samples: loadedV2.map((x) => Number(x.toFixed(2))),
    }),
    figure({
      id: 'abuse.ws_answer_bytes_5s',
      suite: 'abuse',
      label: `bytes written in answer to one abusive socket's commands in ${ABUSE_SECONDS} s`,
      value: answered / MiB,
      unit: 'MiB',
      baseline: { label: `asked for (${sent} subscribes × one full answer)`, value: asked / MiB },
      target: { on: 'value', op: '<=', limit: 2.25 },
      note: `${(received / MiB).toFixed(2)} MiB received in all (pushes included); closed with ${closeCode ?? 'nothing yet'} (1008 comes after 10 s)`,
    }),
    figure({
      id: 'abuse.ws_bystander_ping_p50',
      suite: 'abuse',
      label: 'a well-behaved socket’s ping→pong p50 beside the abusive one',
      value: p50(loudPings),
      unit: 'ms',
      baseline: { label: 'same socket, alone', value: p50(quietPings) },
      samples: loudPings.map((x) => Number(x.toFixed(2))),
    }),
  ];
}

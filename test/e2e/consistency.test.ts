import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { everySectionPublished, useE2E } from './support/fixture.ts';
import { http } from './support/http.ts';
import { mixed, type State, WATCHED } from './support/invariants.ts';
import { recordObservation } from './support/report.ts';
import { sleep, waitUntil } from './support/wait.ts';
import { commitChange, type WriterState } from './support/writer.ts';
import type { Message, WsClient } from './support/ws-client.ts';

/**
 * Change sets (SPEC §10), end to end: a writer commits well over 20 changes a second (opens, and
 * closes with the account update in the same transaction) while readers poll v2 and hold sockets.
 * No answer and no socket state may mix sets (support/invariants.ts; open trades are kept under
 * open_positions' cap so the list is exact).
 */

/** Long enough for hundreds of sets; the bench's consistency row runs the same check for 60 s. */
const RUN_MS = 12_000;
const MAX_OPEN = 60;
const COMMITS_PER_S = 30;

/** A socket's view, applied the way the SDK applies it: a batch whole, then checked. */
function watch(client: WsClient, failures: string[]): { states: number; batches: string[] } {
  const state: State = {};
  const seen = { states: 0, batches: [] as string[] };
  const apply = (frame: Message) => {
    if (frame.type === 'snapshot') state[frame.section as keyof State] = frame.data;
  };
  const check = (where: string) => {
    if (!WATCHED.every((s) => s in state)) return;
    seen.states++;
    const why = mixed(state);
    if (why) failures.push(`${where}: ${why}`);
  };
  let subscribed = false;
  client.socket.on('message', () => {
    const message = client.messages.at(-1);
    if (!message) return;
    if (message.type === 'batch') {
      for (const item of message.items as Message[]) apply(item);
      seen.batches.push(String(message.change));
      check(`batch ${String(message.change)}`);
    } else if (message.type === 'snapshot') {
      apply(message);
      // The subscribe answer is one replica state: checked once it is complete.
      if (subscribed && WATCHED.every((s) => s in state) && seen.states === 0) check('subscribe answer');
    } else if (message.type === 'subscribed') subscribed = true;
  });
  return seen;
}

describe('change sets under a busy writer', () => {
  const e2e = useE2E();

  it('happy: no v2 answer and no socket state mixes two sets while the bot commits 20+ changes a second', async () => {
    const db = e2e.botDb();
    const users = [await db.addUser('ada'), await db.addUser('bo')];
    for (let i = 0; i < 10; i++) await db.openTrade(users[i % 2] as number, 'BTCUSDT', 64_000 + i);
    const env = { PRICE_SOURCE: 'simulated', TTL_LITE: '1', TTL_OPEN_POSITIONS: '1', TTL_TRADING_STATS: '2' };
    const worker = e2e.worker(env);
    const api = await e2e.api(env);
    await everySectionPublished(e2e.reader(), [worker, api]);

    const failures: string[] = [];
    const sockets = await Promise.all([0, 1, 2].map(() => e2e.ws(api.wsUrl)));
    const views = sockets.map((client) => watch(client, failures));
    for (const client of sockets) {
      client.send({ type: 'subscribe', sections: WATCHED, limit: 100, batches: true });
    }
    await waitUntil('every socket holds every section', () => views.every((v) => v.states > 0));

    let stop = false;
    let commits = 0;
    const writer = (async () => {
      const client = await db.pool.connect();
      try {
        const open: number[] = (
          await client.query<{ id: string }>(`SELECT id FROM paper_trades WHERE status = 'OPEN'`)
        ).rows.map((r) => Number(r.id));
        const state: WriterState = { n: 0, open };
        const writerStart = performance.now();
        while (!stop) {
          await commitChange(client, state, users[(state.n + 1) % 2] as number, { minOpen: 5, maxOpen: MAX_OPEN });
          commits++;
          // Paced at COMMITS_PER_S, catching up when a commit was slow.
          await sleep(Math.max(0, writerStart + (commits * 1000) / COMMITS_PER_S - performance.now()));
        }
      } finally {
        client.release();
      }
    })();

    let answers = 0;
    const poll = async () => {
      while (!stop) {
        const res = await http<Record<string, unknown>>(`${api.baseUrl}/api/public/dashboard/v2/?limit=100`);
        if (res.status !== 200) continue;
        answers++;
        const why = mixed(res.body as State);
        if (why) failures.push(`v2 answer: ${why}`);
        // Readers poll hard but leave the writer and the worker their share of two cores.
        await sleep(2);
      }
    };
    const started = performance.now();
    const pollers = [poll(), poll()];
    await sleep(RUN_MS);
    stop = true;
    await writer;
    await Promise.all(pollers);
    const seconds = (performance.now() - started) / 1000;

    // The writer's last change reaches every socket, and then every socket is consistent too.
    await sleep(1500);
    const rate = commits / seconds;
    await recordObservation('consistency', {
      commits_per_s: Math.round(rate * 10) / 10,
      v2_answers: answers,
      socket_states: views.map((v) => v.states),
      mixed: failures.length,
    });
    expect(failures.slice(0, 5)).toEqual([]);
    expect(rate).toBeGreaterThanOrEqual(20);
    // Enough observations that a mixed state would have shown.
    expect(answers).toBeGreaterThan(100);
    for (const view of views) {
      expect(view.states).toBeGreaterThan(50);
      // Sets arrive in order, each once.
      const ids = view.batches.map(Number);
      expect(ids).toEqual([...new Set(ids)].sort((a, b) => a - b));
    }
  }, 90_000);
});

import { useTestEnv } from '@snapboard/devenv/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  eventually,
  type Instance,
  Publisher,
  snapshot,
  snapshotsOf,
  startInstance,
  TestClient,
} from './ws-harness.ts';

/**
 * Slow readers over real sockets: a client pauses its socket (it stops reading), the kernel buffers
 * fill, and from then on the server must hold a bounded amount for it, skip it to the newest version,
 * and close it with 1013 if it stays behind, all without delaying anyone else.
 */

const env = useTestEnv({ database: false });
const SOFT = 64 * 1024;
const HARD = 256 * 1024;

let publisher: Publisher;
let instance: Instance | undefined;
const clients: TestClient[] = [];

beforeAll(() => {
  publisher = new Publisher(env);
});
afterAll(() => publisher.close());
afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await instance?.stop();
  instance = undefined;
  await publisher.clear();
});

async function subscribed(url: string, sections: string[]): Promise<TestClient> {
  const client = await TestClient.connect(url);
  clients.push(client);
  client.send({ type: 'subscribe', sections });
  await client.drain();
  return client;
}

/**
 * Publish pnl_history versions (about 35 KB each) until the server has skipped `skips` versions for
 * someone; the kernel's socket buffers must fill first, so how many that takes depends on the machine.
 */
async function publishUntilSkipped(from: number, skips: number): Promise<number> {
  let version = from;
  while (instance!.ws.stats().skips < skips) {
    if (version - from > 3000) throw new Error('the slow reader never fell behind');
    await publisher.publish(snapshot('pnl_history', ++version));
  }
  return version;
}

describe('slow readers', () => {
  it('happy: a reader that stops reading skips to the newest version and holds nobody back', async () => {
    instance = await startInstance(env, {
      limits: { softBufferBytes: SOFT, hardBufferBytes: HARD, hardBehindMs: 60_000 },
    });
    const fast = await subscribed(instance.url, ['pnl_history', 'lite']);
    const slow = await subscribed(instance.url, ['pnl_history', 'lite']);
    slow.ws.pause();

    const last = await publishUntilSkipped(0, 20);
    await publisher.publish(snapshot('lite', 1));
    // The fast reader got every version, in order, while the slow one was still not reading.
    const fastGot = snapshotsOf(await fast.until((m) => m.type === 'snapshot' && m.section === 'lite'));
    expect(fastGot.filter((s) => s.section === 'pnl_history').map((s) => s.version)).toEqual(
      Array.from({ length: last }, (_, i) => i + 1),
    );
    const stats = instance.ws.stats();
    expect(stats.disconnects.slow_reader).toBe(0);
    // What the server holds for the slow socket stays near the soft bound (plus at most one frame).
    expect(stats.peakBufferedBytes).toBeLessThan(SOFT + 64 * 1024);
    expect(stats.bufferedBytes).toBeLessThan(SOFT + 64 * 1024);

    slow.ws.resume();
    // lite was published last, so it is the last thing the slow reader gets once it drains.
    await slow.until((m) => m.type === 'snapshot' && m.section === 'lite', 10_000);
    const versions = snapshotsOf(slow.messages)
      .filter((s) => s.section === 'pnl_history')
      .map((s) => s.version);
    expect(versions.at(-1)).toBe(last);
    expect(versions).toEqual([...versions].sort((a, b) => a - b));
    expect(new Set(versions).size).toBe(versions.length);
    expect(versions.length).toBeLessThan(last);
    expect(slow.ws.readyState).toBe(slow.ws.OPEN);
  });

  it('happy: a reader that stays behind past the time bound is closed with 1013; the others stay', async () => {
    instance = await startInstance(env, {
      limits: { softBufferBytes: SOFT, hardBufferBytes: HARD, hardBehindMs: 200 },
    });
    const fast = await subscribed(instance.url, ['pnl_history']);
    const slow = await subscribed(instance.url, ['pnl_history']);
    slow.ws.pause();
    const last = await publishUntilSkipped(0, 1);
    await eventually(() => instance!.ws.stats().disconnects.slow_reader === 1);
    slow.ws.resume();
    expect((await slow.closed).code).toBe(1013);

    await publisher.publish(snapshot('pnl_history', last + 1));
    const got = await fast.until((m) => m.type === 'snapshot' && m.version === last + 1);
    expect(got.at(-1)).toMatchObject({ section: 'pnl_history', version: last + 1 });
    expect(instance.ws.stats()).toMatchObject({ connections: 1, subscriptions: { pnl_history: 1 } });
  });

  it('security: a client that sends but never reads (a pong flood) is closed with 1013 at the byte bound', async () => {
    instance = await startInstance(env, {
      limits: { softBufferBytes: SOFT, hardBufferBytes: HARD, hardBehindMs: 60_000 },
      // The command limits (SPEC §13, ws-limits.test.ts) stop this flood long before the kernel's
      // buffers fill; lifted here so the buffer bound behind them is still tested on its own.
      env: { WS_COMMANDS_PER_SECOND: '10000', WS_ANSWER_BYTES_PER_SECOND: '1073741824' },
    });
    const flooder = await TestClient.connect(instance.url);
    clients.push(flooder);
    flooder.ws.pause();
    const id = 'z'.repeat(32 * 1024);
    for (let i = 0; i < 3000 && instance.ws.stats().disconnects.slow_reader === 0; i++) {
      flooder.send({ type: 'ping', id });
      // Let the server read what was sent before deciding whether to send more.
      if (i % 8 === 7) await new Promise((resolve) => setImmediate(resolve));
    }
    await eventually(() => instance!.ws.stats().disconnects.slow_reader === 1);
    expect(instance.ws.stats().peakBufferedBytes).toBeLessThan(HARD + 64 * 1024);
    flooder.ws.resume();
    expect((await flooder.closed).code).toBe(1013);
  });
});

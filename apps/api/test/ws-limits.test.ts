import { useTestEnv } from '@snapboard/devenv/testing';
import { SECTION_NAMES, type ServerMessage } from '@snapboard/shared';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { eventually, type Instance, Publisher, snapshot, startInstance, TestClient } from './ws-harness.ts';

/**
 * SPEC §13 on real sockets: per-connection limits on commands and on the bytes written in answer to
 * them. Over a limit a command is dropped, `rate_limited` comes at most once per notice interval
 * (outside decision 0004's error budget), and a connection over a limit for the close period gets 1008.
 * The periods are shortened here; test/e2e/abuse.test.ts runs the real 10 s once.
 */

const env = useTestEnv({ database: false });
const BYTES_PER_SECOND = 65_536;
const BURST_BYTES = 4 * BYTES_PER_SECOND;

let publisher: Publisher;
let instance: Instance | undefined;
const clients: TestClient[] = [];

beforeAll(async () => {
  publisher = new Publisher(env);
  // Full lists, so a subscribe to everything at limit 100 answers ~90 KB.
  for (const name of SECTION_NAMES) {
    await publisher.publish(snapshot(name, 100, { size: name === 'top_performers' ? 5 : 100 }));
  }
});
afterAll(async () => {
  await publisher.clear();
  publisher.close();
});
afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await instance?.stop();
  instance = undefined;
});

async function start(limits: { rateLimitNoticeMs?: number; rateLimitCloseMs?: number } = {}): Promise<Instance> {
  instance = await startInstance(env, {
    limits,
    env: { WS_COMMANDS_PER_SECOND: '20', WS_ANSWER_BYTES_PER_SECOND: String(BYTES_PER_SECOND) },
  });
  await eventually(() => SECTION_NAMES.every((name) => instance?.replica.get(name)));
  return instance;
}

async function connect(url: string): Promise<TestClient> {
  const client = await TestClient.connect(url);
  clients.push(client);
  return client;
}

const SUBSCRIBE_ALL = JSON.stringify({ type: 'subscribe', sections: SECTION_NAMES, limit: 100 });
const isRateLimited = (m: ServerMessage) => m.type === 'error' && m.code === 'rate_limited';

/** Payload bytes of the answers a client received: everything but the welcome and rate_limited notices. */
function answeredBytes(client: TestClient): number {
  return client.messages
    .filter((m) => m.type !== 'welcome' && !isRateLimited(m))
    .reduce((sum, m) => sum + Buffer.byteLength(JSON.stringify(m)), 0);
}

async function metric(
  inst: Instance,
  name: string,
): Promise<Array<{ labels: Record<string, unknown>; value: number }>> {
  return ((await inst.registry.getSingleMetric(name)?.get())?.values ?? []) as Array<{
    labels: Record<string, unknown>;
    value: number;
  }>;
}

describe('per-connection command limits (SPEC §13)', () => {
  it('security: a socket looping subscribe-all at limit 100 gets at most burst + rate × time, then 1008', async () => {
    const inst = await start({ rateLimitCloseMs: 1500 });
    const abuser = await connect(inst.url);
    const bystander = await connect(inst.url);
    bystander.send({ type: 'subscribe', sections: ['lite'] });
    await bystander.until((m) => m.type === 'snapshot');

    let received = 0;
    abuser.ws.on('message', (data: Buffer) => {
      received += data.length;
    });
    const started = Date.now();
    let sent = 0;
    // Without the bound the server answers gigabytes: stop well past it, so that such a run fails on
    // its assertions rather than by running out of memory.
    while (abuser.ws.readyState === abuser.ws.OPEN && Date.now() - started < 10_000 && received < 8 * BURST_BYTES) {
      abuser.ws.send(SUBSCRIBE_ALL);
      sent++;
      if (sent % 4 === 0) await new Promise((resolve) => setTimeout(resolve, 2));
    }
    if (abuser.ws.readyState === abuser.ws.OPEN) abuser.ws.terminate();
    const { code } = await abuser.closed;
    const elapsedMs = Date.now() - started;
    expect(code).toBe(1008);
    expect(elapsedMs).toBeGreaterThanOrEqual(1500);
    const bytes = answeredBytes(abuser);
    expect(bytes).toBeGreaterThan(80_000);
    expect(bytes).toBeLessThanOrEqual(BURST_BYTES + (BYTES_PER_SECOND * elapsedMs) / 1000);
    // What the server counted is what the client got.
    expect(inst.ws.stats().answerBytes).toBeGreaterThanOrEqual(bytes);

    // Told, but not once per frame, and never counted as bad frames.
    const notices = abuser.messages.filter(isRateLimited).length;
    expect(notices).toBeGreaterThanOrEqual(1);
    expect(notices).toBeLessThanOrEqual(1 + Math.floor(elapsedMs / 1000));
    const stats = inst.ws.stats();
    expect(stats.disconnects).toMatchObject({ rate_limit: 1, error_flood: 0 });
    expect(stats.commandsRejected.commands + stats.commandsRejected.bytes).toBeGreaterThan(sent / 2);

    // The bystander was neither closed nor held back.
    bystander.send({ type: 'ping', id: 'still-here' });
    expect(await bystander.until((m) => m.type === 'pong')).toContainEqual({ type: 'pong', id: 'still-here' });
    expect(await metric(inst, 'snapboard_ws_disconnects_total')).toContainEqual(
      expect.objectContaining({ labels: { reason: 'rate_limit' }, value: 1 }),
    );
    const rejected = await metric(inst, 'snapboard_ws_commands_rejected_total');
    expect(rejected.reduce((sum, v) => sum + v.value, 0)).toBe(
      stats.commandsRejected.commands + stats.commandsRejected.bytes,
    );
  }, 20_000);

  it('security: a ping flood is answered up to the burst, then at the rate; a quiet second later it is served again', async () => {
    const inst = await start({ rateLimitCloseMs: 60_000 });
    const flooder = await connect(inst.url);
    await flooder.until((m) => m.type === 'welcome');
    const started = Date.now();
    for (let i = 0; i < 500; i++) flooder.send({ type: 'ping', id: i });
    await flooder.until(isRateLimited);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const elapsedMs = Date.now() - started;
    const pongs = flooder.messages.filter((m) => m.type === 'pong').length;
    expect(pongs).toBeGreaterThanOrEqual(40);
    expect(pongs).toBeLessThanOrEqual(40 + Math.ceil((20 * elapsedMs) / 1000));
    expect(flooder.messages.filter(isRateLimited)).toHaveLength(1);
    expect(flooder.ws.readyState).toBe(flooder.ws.OPEN);

    await new Promise((resolve) => setTimeout(resolve, 1100));
    flooder.send({ type: 'ping', id: 'after' });
    expect(await flooder.until((m) => m.type === 'pong' && m.id === 'after')).toBeDefined();
  });

  it('security: rate_limited notices do not count toward the bad-frame rule (decision 0004)', async () => {
    // A notice every 20 ms: far more than the 20 errors in 10 s that close a bad-frame flooder.
    const inst = await start({ rateLimitNoticeMs: 20, rateLimitCloseMs: 60_000 });
    const flooder = await connect(inst.url);
    const started = Date.now();
    while (Date.now() - started < 1000) {
      for (let i = 0; i < 20; i++) flooder.send({ type: 'ping', id: i });
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await eventually(() => flooder.messages.filter(isRateLimited).length > 25);
    expect(flooder.ws.readyState).toBe(flooder.ws.OPEN);
    expect(inst.ws.stats().disconnects.error_flood).toBe(0);
  });

  it('happy: pushed changes are not charged: a socket that spent its byte budget still gets every change', async () => {
    const inst = await start({ rateLimitCloseMs: 60_000 });
    const client = await connect(inst.url);
    // Spend the byte budget: a few subscribes to everything at limit 100.
    for (let i = 0; i < 8; i++) client.ws.send(SUBSCRIBE_ALL);
    await client.until(isRateLimited);
    const before = inst.ws.stats().answerBytes;
    for (let v = 101; v <= 103; v++) {
      await publisher.publish(snapshot('pnl_history', v));
      await client.until((m) => m.type === 'snapshot' && m.section === 'pnl_history' && m.version === v);
    }
    expect(inst.ws.stats().answerBytes).toBe(before);
    expect(client.ws.readyState).toBe(client.ws.OPEN);
  });
});

import { seed } from '@snapboard/db';
import { SECTION_NAMES } from '@snapboard/shared';
import pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
import { assertAlive, everySectionPublished, useE2E } from './support/fixture.ts';
import { http } from './support/http.ts';
import { recordObservation } from './support/report.ts';
import { sleep, waitUntil } from './support/wait.ts';
import { WsClient } from './support/ws-client.ts';

/**
 * SPEC §13 as a hostile reader tries it, against real processes: 50 clients looping on refresh=true
 * must not drive the database, and one socket looping subscribe-all must not make the server push
 * without bound. Both fail on a server without the bounds (330 tx/s against 3; 2.7 GB in 5 s).
 */

/** Transactions committed in one database, read from another connection so the reading adds none. */
async function commits(admin: pg.Client, database: string): Promise<number> {
  const { rows } = await admin.query<{ n: string }>(
    'SELECT xact_commit AS n FROM pg_stat_database WHERE datname = $1',
    [database],
  );
  return Number(rows[0]?.n ?? 0);
}

/** Commits per second over `ms`, while `during` runs (it is told when to stop). */
async function commitRate(
  admin: pg.Client,
  database: string,
  ms: number,
  during?: (stop: () => boolean) => Promise<unknown>,
) {
  const before = await commits(admin, database);
  const started = Date.now();
  const load = during?.(() => Date.now() - started >= ms);
  await sleep(ms);
  // Backends report their counters at least once a second while busy; give the last report time to land.
  await load;
  await sleep(1200);
  return ((await commits(admin, database)) - before) / ((Date.now() - started - 1200) / 1000);
}

function metricValue(text: string, name: string, labels = ''): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels ? `{${labels}}` : ''} `));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
}

describe('readers cannot drive the database or the server (SPEC §13)', () => {
  const e2e = useE2E();
  beforeAll(() => seed({ databaseUrl: e2e.env.databaseUrl, trades: 2000, seed: 11 }), 60_000);

  it('security: 50 clients looping on refresh=true for 10 s keep the database within 2× its idle rate', async () => {
    const worker = e2e.worker();
    const api = await e2e.api({ REFRESH_WAIT_MS: '3000' });
    await everySectionPublished(e2e.reader(), [worker, api]);
    await waitUntil('v2 served', async () => (await http(`${api.baseUrl}/api/public/dashboard/v2/`)).status === 200, {
      timeoutMs: 30_000,
    });
    const database = new URL(e2e.env.databaseUrl).pathname.slice(1);
    const admin = new pg.Client({ connectionString: e2e.env.databaseUrl.replace(/\/[^/]*$/, '/postgres') });
    await admin.connect();
    e2e.defer(() => admin.end());

    // Let the first round of cadences settle, then measure the cadence load alone.
    await sleep(3000);
    const idle = await commitRate(admin, database, 10_000);
    let answers = 0;
    let fresh = 0;
    const attack = await commitRate(admin, database, 10_000, (stop) =>
      Promise.all(
        Array.from({ length: 50 }, async (_, i) => {
          while (!stop()) {
            const path = i % 5 === 0 ? '/api/public/paper-trading/dashboard/' : '/api/public/dashboard/v2/';
            const answer = await http<{ cached: boolean }>(`${api.baseUrl}${path}?refresh=true`);
            expect(answer.status).toBe(200);
            answers++;
            if (answer.body.cached === false) fresh++;
          }
        }),
      ),
    );
    assertAlive(worker, api);
    await recordObservation('abuse-refresh', {
      db_tx_per_s_idle: Number(idle.toFixed(2)),
      db_tx_per_s_refresh_loop: Number(attack.toFixed(2)),
      ratio: Number((attack / idle).toFixed(2)),
      refresh_answers: answers,
      fresh_answers: fresh,
    });
    expect(answers).toBeGreaterThan(100);
    expect(attack).toBeLessThanOrEqual(2 * idle);

    // Started at most once per 5 s interval (10 s of load: the first and at most two more), the rest
    // answered without a recompute; the log names the interval once, not once per request.
    const metrics = (await http(`${api.baseUrl}/metrics`)).text;
    const started = metricValue(metrics, 'snapboard_refresh_requests_total', 'outcome="started"');
    expect(started).toBeGreaterThanOrEqual(1);
    expect(started).toBeLessThanOrEqual(3);
    expect(
      metricValue(metrics, 'snapboard_refresh_requests_total', 'outcome="joined"') +
        metricValue(metrics, 'snapboard_refresh_requests_total', 'outcome="cached"'),
    ).toBe(answers - started);
    const logged = api.logs((j) => String(j.msg).startsWith('refresh inside REFRESH_MIN_INTERVAL_MS'));
    expect(logged.length).toBeGreaterThanOrEqual(1);
    expect(logged.length).toBeLessThanOrEqual(3);
    expect(logged[0]?.json?.client).toBe('127.0.0.1');
  }, 120_000);

  it('security: one socket looping subscribe-all at limit 100 is answered within burst + rate × time, then closed 1008 after 10 s', async () => {
    const worker = e2e.worker();
    const api = await e2e.api();
    await everySectionPublished(e2e.reader(), [worker, api]);
    // No worker during the attack: nothing is pushed, so every byte the socket gets answers a command.
    await worker.stop('SIGTERM', 5000);
    await waitUntil(
      'the replica holds every section',
      async () => (await http(`${api.baseUrl}/api/public/dashboard/v2/`)).status === 200,
      { timeoutMs: 30_000 },
    );

    const bystander = await e2e.ws(api.wsUrl);
    await bystander.subscribe(['lite']);
    const abuser = await WsClient.connect(api.wsUrl);
    e2e.defer(() => abuser.close());
    await abuser.waitFor('welcome', (m) => m.type === 'welcome');
    const received: Array<{ at: number; bytes: number }> = [];
    abuser.socket.on('message', (data, isBinary) => {
      const text = isBinary ? '' : data.toString();
      if (!text.includes('"rate_limited"')) received.push({ at: Date.now(), bytes: Buffer.byteLength(text) });
    });

    const frame = JSON.stringify({ type: 'subscribe', sections: SECTION_NAMES, limit: 100 });
    const started = Date.now();
    let sent = 0;
    const bystanderMs: number[] = [];
    const receivedBytes = () => received.reduce((a, r) => a + r.bytes, 0);
    // Without the bound the server answers gigabytes: stop well past it, so that such a run fails on
    // its assertions rather than by running out of memory.
    while (abuser.isOpen && Date.now() - started < 20_000 && (sent % 1000 !== 0 || receivedBytes() < 16 * 2 ** 20)) {
      for (let i = 0; i < 20 && abuser.isOpen; i++, sent++) abuser.send(frame);
      await sleep(5);
      if (sent % 2000 === 0) {
        const t = Date.now();
        bystander.send({ type: 'ping', id: sent });
        await bystander.waitFor('bystander pong', (m) => m.type === 'pong' && m.id === sent);
        bystanderMs.push(Date.now() - t);
      }
    }
    if (abuser.isOpen) abuser.socket.terminate();
    const closed = await abuser.closed;
    const elapsedS = (closed.atMs - started) / 1000;
    const within = (s: number) => received.filter((r) => r.at - started <= s * 1000).reduce((a, r) => a + r.bytes, 0);
    const total = within(Number.POSITIVE_INFINITY);
    await recordObservation('abuse-ws', {
      ws_frames_sent: sent,
      ws_answer_bytes_first_5s: within(5),
      ws_answer_bytes_total: total,
      ws_closed_after_s: Number(elapsedS.toFixed(2)),
      bystander_pong_ms_max: Math.max(0, ...bystanderMs),
    });
    expect(closed.code).toBe(1008);
    expect(elapsedS).toBeGreaterThanOrEqual(10);
    expect(elapsedS).toBeLessThan(13);
    expect(within(5)).toBeLessThanOrEqual(2.25 * 2 ** 20);
    expect(total).toBeLessThanOrEqual(2 ** 20 + 262_144 * elapsedS);
    expect(total).toBeGreaterThan(2 ** 20 / 2);
    // Told rate_limited at most once a second.
    const notices = abuser.messages.filter((m) => m.type === 'error' && m.code === 'rate_limited');
    expect(notices.length).toBeGreaterThanOrEqual(1);
    expect(notices.length).toBeLessThanOrEqual(Math.ceil(elapsedS) + 1);

    // The bystander was served throughout; metrics and one log line per episode name what happened.
    expect(bystander.isOpen).toBe(true);
    const metrics = (await http(`${api.baseUrl}/metrics`)).text;
    expect(metricValue(metrics, 'snapboard_ws_disconnects_total', 'reason="rate_limit"')).toBe(1);
    expect(
      metricValue(metrics, 'snapboard_ws_commands_rejected_total', 'limit="commands"') +
        metricValue(metrics, 'snapboard_ws_commands_rejected_total', 'limit="bytes"'),
    ).toBeGreaterThan(sent / 2);
    const episodes = api.logs((j) => j.msg === 'ws client over its command limits: commands dropped');
    expect(episodes).toHaveLength(1);
    expect(episodes[0]?.json?.ip).toBe('127.0.0.1');
    expect(api.logs((j) => j.msg === 'ws client over its command limits for too long: closed')).toHaveLength(1);
  }, 120_000);
});

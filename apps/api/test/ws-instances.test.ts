import { useTestEnv } from '@snapboard/devenv/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Instance, Publisher, snapshot, snapshotsOf, startInstance, TestClient } from './ws-harness.ts';

/** Several API instances on one Redis: each pushes what the worker announces, through its own replica. */

const env = useTestEnv({ database: false });

let publisher: Publisher;
let a: Instance;
let b: Instance;

beforeAll(async () => {
  publisher = new Publisher(env);
  [a, b] = await Promise.all([startInstance(env), startInstance(env)]);
});
afterAll(async () => {
  await Promise.all([a.stop(), b.stop()]);
  publisher.close();
});

describe('two API instances', () => {
  it('happy: clients on either instance see the same versions in the same order', async () => {
    const clients = await Promise.all([a, a, b, b].map((instance) => TestClient.connect(instance.url)));
    for (const client of clients) {
      client.send({ type: 'subscribe', sections: ['lite', 'open_positions', 'overview'], limit: 5 });
      await client.drain();
    }
    const sections = ['lite', 'open_positions', 'overview'] as const;
    for (let v = 1; v <= 30; v++) await publisher.publish(snapshot(sections[v % 3]!, Math.ceil(v / 3), { size: 8 }));
    await publisher.publish(snapshot('overview', 11, { epoch: 'epoch-b' }));

    const seen = await Promise.all(
      clients.map(async (client) =>
        snapshotsOf(await client.until((m) => m.type === 'snapshot' && m.epoch === 'epoch-b')),
      ),
    );
    expect(seen[0]).toHaveLength(31);
    for (const other of seen.slice(1)) expect(other).toEqual(seen[0]);

    // A client that moves from one instance to the other resumes without a resend or a step back.
    const mover = clients[0]!;
    mover.close();
    const held = Object.fromEntries(
      sections.map((section) => {
        const last = seen[0]!.filter((s) => s.section === section).at(-1)!;
        return [section, { epoch: last.epoch, version: last.version }];
      }),
    );
    const moved = await TestClient.connect(b.url);
    moved.send({ type: 'subscribe', sections: [...sections], limit: 5, versions: held });
    expect(snapshotsOf(await moved.drain())).toEqual([]);
    for (const client of [...clients, moved]) client.close();
  });
});

/**
 * The floor of the change-set bench (issue 11): the least any process can do between a commit and
 * its subscribers. It LISTENs on the trigger's channel itself (no worker, no Redis, no query) and, for
 * each committed change to paper_trades, writes one prepared frame of FRAME_BYTES — the bytes
 * snapboard sends a subscriber per close — to every socket. On subscribe it answers with a tiny frame
 * per section, so the load generator knows the socket is ready. Nothing else: no state per socket,
 * no back-pressure policy, no validation.
 *
 * Env: DATABASE_URL. Argument: the frame's bytes. IPC: answers `{type:'listening', port}`.
 */
import { loadConfig } from '@snapboard/shared';
import pg from 'pg';
import { type WebSocket, WebSocketServer } from 'ws';

const frameBytes = Number(process.argv[2] ?? 1024);
const config = loadConfig(process.env);
const TEXT = { binary: false } as const;
const subscribers = new Set<WebSocket>();
let commits = 0;

/** One frame of exactly `frameBytes`, numbered: built once per commit, the same Buffer for everyone. */
function frame(version: number): Buffer {
  const head = `{"type":"snapshot","section":"floor","epoch":"floor","version":${version},"computed_at":"","data":"`;
  const pad = Math.max(0, frameBytes - head.length - 2);
  return Buffer.from(`${head}${'x'.repeat(pad)}"}`);
}

const listener = new pg.Client({
  connectionString: config.databaseUrl,
  application_name: 'snapboard-bench-floor',
});
listener.on('notification', (n) => {
  if (n.payload !== 'paper_trades') return;
  const prepared = frame(++commits);
  for (const socket of subscribers) socket.send(prepared, TEXT);
});
await listener.connect();
await listener.query('LISTEN snapboard_changes');

const server = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false, maxPayload: 64 * 1024 });
server.on('connection', (socket) => {
  socket.on('message', (data) => {
    let message: { type?: string; sections?: string[] };
    try {
      message = JSON.parse(String(data));
    } catch {
      return;
    }
    if (message.type !== 'subscribe' || !Array.isArray(message.sections)) return;
    socket.send(JSON.stringify({ type: 'subscribed', sections: message.sections }));
    for (const section of message.sections) {
      socket.send(`{"type":"snapshot","section":${JSON.stringify(section)},"epoch":"floor","version":0}`, TEXT);
    }
    subscribers.add(socket);
  });
  socket.on('close', () => subscribers.delete(socket));
});
server.on('listening', () => {
  const address = server.address();
  process.send?.({ type: 'listening', port: typeof address === 'object' && address ? address.port : 0 });
});

const stop = () => {
  for (const socket of subscribers) socket.terminate();
  void listener.end().catch(() => {});
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('disconnect', stop);
